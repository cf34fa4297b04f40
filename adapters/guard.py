"""Who is asking, and how often: the client address behind trusted proxies, and the
sign-in limiter.

`X-Forwarded-For` is believed only when the request comes from a configured proxy
(`HEARD_TRUSTED_PROXIES`); otherwise anybody could name any address and walk around the
limit, or, behind a proxy nobody configured, every agent shares the proxy's address.

The limiter counts an attempt *before* the password is checked, in the event loop, so
concurrent guesses cannot all slip past a limit that is only raised after each slow
check. Attempts are limited per address and per account.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections import deque
from collections.abc import Callable, Iterable

from aiohttp import web

from bot.config import Network

ADDRESS_LIMIT = 5        # sign-in attempts per address …
ACCOUNT_LIMIT = 10       # … and per account …
WINDOW = 600.0           # … per ten minutes
MAX_KEYS = 10_000        # forget expired keys once this many are tracked


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
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.attempts: dict[str, deque[float]] = {}

    def _window(self, key: str, now: float) -> deque[float]:
        window = self.attempts.setdefault(key, deque())
        while window and now - window[0] > WINDOW:
            window.popleft()
        return window

    def attempt(self, address: str, username: str) -> float | None:
        """Count one sign-in attempt now. Returns its stamp, or None when the address or
        the account is over its limit (nothing is counted then)."""
        now = self.clock()
        keys = (("address:" + address, ADDRESS_LIMIT), (account_key(username), ACCOUNT_LIMIT))
        windows = [(self._window(key, now), limit) for key, limit in keys]
        if any(len(window) >= limit for window, limit in windows):
            return None
        for window, _ in windows:
            window.append(now)
        self._prune(now)
        return now

    def succeeded(self, address: str, username: str, stamp: float) -> None:
        """A right password: that attempt does not count against anyone."""
        for key in ("address:" + address, account_key(username)):
            window = self.attempts.get(key)
            if window is not None and stamp in window:
                window.remove(stamp)

    def _prune(self, now: float) -> None:
        if len(self.attempts) <= MAX_KEYS:
            return
        for key in [k for k, w in self.attempts.items() if not w or now - w[-1] > WINDOW]:
            del self.attempts[key]
