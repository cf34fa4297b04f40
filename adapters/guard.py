"""Who is asking, and how often: the client address behind trusted proxies, and the
sign-in limiter.

`X-Forwarded-For` is believed only when the request comes from a configured proxy
(`HEARD_TRUSTED_PROXIES`); otherwise anybody could name any address and walk around the
limit, or, behind a proxy nobody configured, every agent shares the proxy's address.

The limiter counts an attempt *before* the password is checked, so concurrent guesses
cannot all slip past a limit that is only raised after each slow check. Attempts are
limited per address and per account, and kept in the records, so every worker (on every
machine) counts the same attempts.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Callable, Iterable

from aiohttp import web

from bot.config import Network
from storage.writer import Writer

ADDRESS_LIMIT = 5        # sign-in attempts per address …
ACCOUNT_LIMIT = 10       # … and per account …
WINDOW = 600.0           # … per ten minutes


def _trusted(address: str, proxies: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(request: web.Request, proxies: tuple[Network, ...]) -> str:
    """The address of the person asking: the peer, or, when the peer is a trusted proxy,
    the right-most `X-Forwarded-For` entry that is not itself a trusted proxy."""
    peer = request.remote or "?"
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer     # a proxy we trust wrote nonsense: fall back to the proxy
    return peer


def account_key(username: str) -> str:
    """Accounts are limited by a digest of the name, so the limiter holds no typed text."""
    return "account:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()[:16]


class LoginLimiter:
    """Sign-in attempts per address and per account, counted in the records so that every
    worker shares them (storage/sign_ins.py)."""

    def __init__(self, writer: Writer, clock: Callable[[], float] = time.time) -> None:
        self.writer, self.clock = writer, clock

    async def attempt(self, address: str, username: str) -> float | None:
        """Count one sign-in attempt now. Returns its stamp, or None when the address or
        the account is over its limit (nothing is counted then)."""
        now = self.clock()
        limits = (("address:" + address, ADDRESS_LIMIT), (account_key(username), ACCOUNT_LIMIT))
        counted = await self.writer.run(lambda s: s.count_attempt(limits, now, WINDOW),
                                        urgent=True)
        return now if counted else None

    async def succeeded(self, address: str, username: str, stamp: float) -> None:
        """A right password: that attempt does not count against anyone."""
        keys = ("address:" + address, account_key(username))
        await self.writer.run(lambda s: s.forgive_attempt(keys, stamp), urgent=True)
