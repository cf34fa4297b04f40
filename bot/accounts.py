"""Agent accounts: passwords hashed with Argon2 (argon2-cffi), sessions as random tokens
of which only a hash is stored."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("agent", "supervisor", "admin")
_HASHER = PasswordHasher()
MIN_PASSWORD = 10
# Verifying against this when the user does not exist keeps both answers equally slow.
_DUMMY = _HASHER.hash("not-a-real-password")
# Argon2 takes ~0.1 s of CPU on purpose; checks run here, never on the event loop, and on
# their own two threads so a burst of guesses cannot take every thread the store reads use.
_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="heard-password")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"passwords need at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def check_password(stored_hash: str | None, password: str) -> bool:
    """`verify_password` off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_CHECKS, verify_password, stored_hash, password)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
