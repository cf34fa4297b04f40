"""The two Messaging API calls Heard makes (reply and push), posted as JSON on one aiohttp
session, and what LINE's answers mean for delivery.

Measured in-process (`benchmarks/line_calls.py`), line-bot-sdk's async client spent about
100 µs of CPU per send beyond a plain aiohttp post (its request building, its
`ClientSession.request` path, pydantic deserialising LINE's answer), ~12% of the HTTP
worker under LINE load; our requests are `render_json`'s output, which a test keeps equal
to the SDK models' serialisation, so nothing is lost by posting them ourselves. Content
downloads stay on the SDK's blob client (`adapters/line.py`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from adapters.base import (
    CustomerBlocked,
    DeliveryError,
    PermanentFailure,
    TemporaryFailure,
    https_proxy,
)

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"
CONNECTIONS = 256    # as many as delivery sends at once per channel (bot/delivery.py)


@dataclass(frozen=True, slots=True)
class Answer:
    """What LINE answered a call: its status, body and headers (read, never parsed)."""

    status: int
    body: bytes
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status <= 299


class MessagingApi:
    """Posts Messaging API JSON to `host` with the channel access token. The proxy comes
    from HTTPS_PROXY for an https host and is passed explicitly: a session trusting the
    environment makes aiohttp look for a .netrc file in a thread on every request."""

    def __init__(self, host: str, access_token: str, timeout: float) -> None:
        self.host = host.rstrip("/")
        self.timeout = timeout
        self.proxy = https_proxy(host)
        self._headers = {"Authorization": f"Bearer {access_token}",
                         "Content-Type": "application/json"}
        self._http: aiohttp.ClientSession | None = None

    @property
    def timeout(self) -> float:
        """Seconds one call may take, connecting included (may change while running)."""
        return self._timeout.total or 0.0

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=seconds)

    @property
    def started(self) -> bool:
        return self._http is not None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS),
                                           trust_env=False)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def post(self, path: str, body: dict[str, Any], what: str,
                   retry_key: str | None = None) -> Answer:
        """POST `body` to `path`; LINE's answer whatever its status. A timeout or a
        connection that fails is `TemporaryFailure` ("LINE <what>: <error>")."""
        if self._http is None:
            raise TemporaryFailure("LINE client not started")
        headers = self._headers if retry_key is None else {
            **self._headers, "X-Line-Retry-Key": retry_key}
        try:
            async with self._http.post(f"{self.host}{path}", data=json.dumps(body).encode(),
                                       headers=headers, proxy=self.proxy,
                                       timeout=self._timeout) as response:
                return Answer(response.status, await response.read(), response.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TemporaryFailure(f"LINE {what}: {type(exc).__name__}: {exc}") from exc


def refused_token(answer: Answer) -> bool:
    """LINE refused the reply token (used or expired: it cannot tell which)."""
    return answer.status == 400 and b"reply token" in answer.body.lower()


def failure(status: int, body: bytes | str | None,
            headers: Mapping[str, str] | None) -> DeliveryError:
    """A failed call as delivery reads it: 429 and 5xx are temporary (429 slows the whole
    channel), 403 means the customer blocked the bot, any other 4xx is refused for good."""
    if status == 429 or status >= 500:
        return TemporaryFailure(f"LINE answered {status}", retry_after(headers),
                                whole_channel=status == 429)
    if status == 403:
        return CustomerBlocked(f"LINE answered {status}")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return PermanentFailure(f"LINE answered {status}: {text[:200]}")


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Retry-After in seconds, when LINE sent one we can read."""
    value = headers.get("Retry-After") if headers else None
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
