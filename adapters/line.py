"""LINE: signed webhooks in, replies and pushes out (Messaging API JSON on one aiohttp
session, `adapters/line_api.py`; content downloads on line-bot-sdk v3's async blob client).

Replies use the event's reply token while it is fresh, counted from when the webhook
arrived; later messages (follow-ups, agent replies, retries after the token's minute) are
pushed with an `X-Line-Retry-Key` that stays the same across retries, so a retry of a push
LINE already accepted (409) is not sent twice. A reply token works once, so trying it
again can never say anything twice; a push after a reply that may have landed could, so a
token in doubt is never replaced by a push (see `send`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from linebot.v3.messaging import ApiException, AsyncApiClient, AsyncMessagingApiBlob, Configuration

from adapters.base import (
    Checkpoint,
    ContentGone,
    ContentTooBig,
    OutboxMessage,
    TemporaryFailure,
    Unconfirmed,
    cleaned,
    https_proxy,
    split_text,
)
from adapters.fields import as_object, optional_string, string
from adapters.line_api import PUSH, REPLY, MessagingApi, failure, refused_token
from bot.payloads import FOLLOW, MEDIA_PREFIX, UNFOLLOW
from bot.types import Attachment, Incoming

log = logging.getLogger(__name__)

CHANNEL = "line"
TEXT_LIMIT = 5000          # UTF-16 units per text message
MESSAGES_PER_CALL = 5
QUICK_REPLY_ITEMS = 13
LABEL_LIMIT = 20
DATA_LIMIT = 300
REPLY_TOKEN_FRESH = 50.0   # seconds after the webhook arrived; LINE keeps them about a minute
REQUEST_TIMEOUT = 10.0
MODES = frozenset({"active", "standby"})
FILE_KINDS = frozenset({"image", "video", "audio", "file"})   # LINE keeps their bytes for us
CONTENT_TIMEOUT = 60.0     # seconds for one download from LINE's data host


class LineChannel:
    channel = CHANNEL
    max_batch = MESSAGES_PER_CALL

    def __init__(self, secret: str, access_token: str, host: str = "https://api.line.me",
                 timeout: float = REQUEST_TIMEOUT,
                 token_fresh: float = REPLY_TOKEN_FRESH,
                 data_host: str = "https://api-data.line.me") -> None:
        self.secret = secret
        self.access_token = access_token
        self.host = host
        self.data_host = data_host
        self._blob_client: AsyncApiClient | None = None
        self._blob: AsyncMessagingApiBlob | None = None
        self.token_fresh = token_fresh
        self._api = MessagingApi(host, access_token, timeout)

    @property
    def timeout(self) -> float:
        """Seconds a reply or push may take before it counts as a temporary failure."""
        return self._api.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._api.timeout = seconds

    async def start(self) -> None:
        """Open the sessions inside the running loop (aiohttp and the SDK want one)."""
        await self._api.start()
        # message content lives on LINE's data host: the blob client has its own host
        proxy = https_proxy(self.data_host)
        data_config = Configuration(access_token=self.access_token, host=self.data_host)
        if proxy:
            data_config.proxy = proxy
        self._blob_client = AsyncApiClient(data_config)
        # The SDK's session trusts the environment, which makes aiohttp look for a .netrc
        # file in a thread on every download; the proxy is passed explicitly above instead.
        session = getattr(getattr(self._blob_client, "rest_client", None), "pool_manager", None)
        if session is not None and hasattr(session, "_trust_env"):
            session._trust_env = False
        self._blob = AsyncMessagingApiBlob(self._blob_client)

    async def close(self) -> None:
        await self._api.close()
        if self._blob_client is not None:
            await self._blob_client.close()
            self._blob_client = self._blob = None

    async def content(self, attachment: Attachment, limit: int) -> bytes:
        """The bytes of an image, video, audio or file message (the blob API). A file
        message says its size: one over `limit` is not downloaded at all. LINE keeps
        content for a limited time: 404/410 is `ContentGone`; 5xx, 429 and timeouts are
        `TemporaryFailure`."""
        if attachment.declared_size is not None and attachment.declared_size > limit:
            raise ContentTooBig(f"{attachment.declared_size} bytes")
        if self._blob is None:
            raise TemporaryFailure("LINE client not started")
        try:
            data = await self._blob.get_message_content(attachment.ref,
                                                        _request_timeout=CONTENT_TIMEOUT)
        except ApiException as exc:
            if exc.status in (404, 410):
                raise ContentGone(f"LINE answered {exc.status}") from exc
            raise failure(exc.status or 0, exc.body, exc.headers) from exc
        except Exception as exc:   # timeouts and connection errors
            raise TemporaryFailure(f"LINE content: {type(exc).__name__}: {exc}") from exc
        if len(data) > limit:
            raise ContentTooBig(f"{len(data)} bytes")
        return bytes(data)

    # ------------------------------------------------------------ receiving

    def verify(self, body: bytes, signature: str | None) -> bool:
        """X-Line-Signature: base64 HMAC-SHA256 of the raw body with the channel secret."""
        if not signature:
            return False
        digest = hmac.new(self.secret.encode(), body, hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), signature)

    def events(self, body: bytes, now: datetime) -> tuple[list[Incoming], list[str]]:
        """Read a verified body event by event: one broken event (a field Heard uses
        missing or of the wrong type) is refused on its own and never sinks the good ones
        beside it. Returns the events as `Incoming` and the reasons for those refused.
        Raises ValueError when the body is not a LINE webhook at all. Events a support bot
        has no use for are dropped. The event dicts are read as they are, field by field
        (the SDK's pydantic models cost more than the rest of reading a webhook); fields
        Heard does not use are not checked."""
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            raise ValueError("no events list")
        out: list[Incoming] = []
        refused: list[str] = []
        for raw in data["events"]:
            kind = raw.get("type") if isinstance(raw, dict) else None
            if not isinstance(kind, str):
                refused.append("not an event")
                continue
            if kind not in READERS:
                log.info("line: %s event ignored", kind[:40])
                continue
            try:
                incoming = _incoming(raw, kind, now)
            except ValueError as exc:
                log.warning("line: a %s event was refused (%s): %s", kind, type(exc).__name__,
                            str(exc)[:300])
                refused.append(f"invalid {kind}")
                continue
            if incoming is not None:
                out.append(cleaned(incoming))
        return out, refused

    # ------------------------------------------------------------ sending

    async def send(self, messages: list[OutboxMessage], now: datetime,
                   checkpoint: Checkpoint) -> None:
        """Reply while the token is fresh, else push. `checkpoint` records each call before
        it is made. What LINE answers decides the next step:

        - a token in doubt (an earlier reply's fate unknown) is tried again, however old:
          accepted means the earlier reply never landed; refused (400) cannot tell "used"
          from "expired", so it is not pushed (that could say it twice): `Unconfirmed`;
        - a fresh token nobody used that LINE refuses is pushed at once;
        - 5xx, 429 and timeouts are temporary: the token counts as unused and is tried
          again while fresh (LINE acting on a request it never answered is the one case
          where a later push could repeat a reply)."""
        if not self._api.started:
            raise TemporaryFailure("LINE client not started")
        payload = render_json(messages)
        first = messages[0]
        token = first.reply_token
        if token and first.token_in_doubt:
            await checkpoint("reply")
            if await self._reply(token, payload):
                return
            raise Unconfirmed("LINE refused the reply token and an earlier reply with it may "
                              "have reached the customer (Heard stopped mid-send): not pushed, "
                              "so it is not said twice")
        if token and first.reply_state is None and self.fresh(first, now):
            await checkpoint("reply")
            if await self._reply(token, payload):
                return
            log.info("line: reply token refused (expired or never valid): pushing instead")
        await checkpoint("push")
        answer = await self._api.post(PUSH, {"to": first.user_id, "messages": payload,
                                             "notificationDisabled": False},
                                      "push", retry_key=first.retry_key)
        if not answer.ok and answer.status != 409:   # 409: a retry LINE already accepted
            raise failure(answer.status, answer.body, answer.headers)

    def fresh(self, message: OutboxMessage, now: datetime) -> bool:
        """The token is young enough to use: its age counts from the webhook's arrival."""
        arrived = message.token_ts if message.token_ts is not None else message.created_ts
        return now.timestamp() - arrived < self.token_fresh

    async def _reply(self, token: str, payload: list[dict[str, Any]]) -> bool:
        """True: LINE took the reply. False: LINE refused the token (used or expired)."""
        answer = await self._api.post(REPLY, {"replyToken": token, "messages": payload,
                                              "notificationDisabled": False}, "reply")
        if answer.ok:
            return True
        if refused_token(answer):
            return False
        raise failure(answer.status, answer.body, answer.headers)


# ---------------------------------------------------------------- reading an event


def _incoming(raw: dict[str, Any], kind: str, now: datetime) -> Incoming | None:
    """One event as `Incoming`, or None when it is not for us to answer. Every field used
    is checked first (ValueError), so a broken event is refused whatever else it says."""
    mode = raw.get("mode")
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError("mode is not active or standby")
    source = raw.get("source")
    user = optional_string(as_object(source, "source"), "userId") if source is not None else None
    event_id = string(raw, "webhookEventId")
    token = optional_string(raw, "replyToken") if kind != "unfollow" else None
    fields = READERS[kind](raw)
    if mode == "standby":
        log.info("line: %s event in standby mode: another channel owns this chat, "
                 "not answering", kind)
        return None
    if not user or not event_id:
        log.info("line: %s event without a user or event id, ignored", kind)
        return None
    return Incoming(channel=CHANNEL, user_id=user, event_id=event_id, received_at=now,
                    reply_token=token, **fields)


def _message(raw: dict[str, Any]) -> dict[str, Any]:
    """A text, or a media message as its payload and the file it brings."""
    message = as_object(raw.get("message"), "message")
    kind = string(message, "type")
    ref = string(message, "id")
    if kind == "text":
        return {"text": string(message, "text")}
    return {"payload": f"{MEDIA_PREFIX}{kind[:40]}:{ref}",
            "attachment": _attachment(message, kind, ref)}


def _postback(raw: dict[str, Any]) -> dict[str, Any]:
    return {"payload": string(as_object(raw.get("postback"), "postback"), "data")[:DATA_LIMIT]}


# event type -> what it says, as `Incoming` fields; other event types are dropped
READERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "message": _message,
    "postback": _postback,
    "follow": lambda raw: {"payload": FOLLOW},
    "unfollow": lambda raw: {"payload": UNFOLLOW},
}


def _attachment(message: dict[str, Any], kind: str, ref: str) -> Attachment | None:
    """What a media message brings: a file LINE holds for us (fetched before the turn), a
    sticker (acknowledged, never stored), or nothing we keep (a location)."""
    if kind == "sticker":
        return Attachment(kind="sticker", ref=string(message, "stickerId"), status="ignored")
    if kind not in FILE_KINDS:
        return None
    provider = message.get("contentProvider")
    origin = (optional_string(as_object(provider, "message.contentProvider"), "type")
              if provider is not None else "line")
    size = message.get("fileSize") if kind == "file" else None   # only files state theirs
    if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
        raise ValueError("message.fileSize is not an integer")
    name = optional_string(message, "fileName") if kind == "file" else None
    if origin not in (None, "line"):
        # an external URL the sending app chose: never fetched by us
        return Attachment(kind=kind, ref=ref, status="refused", reason="unavailable")
    return Attachment(kind=kind, ref=ref, name=name, declared_size=size)


# ---------------------------------------------------------------- sending


def render_json(messages: list[OutboxMessage]) -> list[dict[str, Any]]:
    """Outbox rows as the JSON the Messaging API takes: text messages (split at LINE's limit),
    buttons as quick replies on the last part. The SDK's model serialisation costs more than
    the rest of a turn, so requests are sent with this JSON; a test keeps it identical to
    what the SDK's models produce."""
    out: list[dict[str, Any]] = []
    for message in messages:
        parts = split_text(message.text or " ", TEXT_LIMIT, utf16=True)
        for i, part in enumerate(parts):
            item: dict[str, Any] = {"type": "text", "text": part}
            if i == len(parts) - 1 and message.buttons:
                item["quickReply"] = {"items": [
                    {"type": "action", "action": {
                        "type": "postback", "label": b.label[:LABEL_LIMIT],
                        "data": b.payload[:DATA_LIMIT], "displayText": b.label[:LABEL_LIMIT]}}
                    for b in message.buttons[:QUICK_REPLY_ITEMS]]}
            out.append(item)
    return out[:MESSAGES_PER_CALL]
