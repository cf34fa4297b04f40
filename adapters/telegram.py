"""Telegram: webhook updates (checked by secret token) or long polling in, `sendMessage` out.

We own the web server and read each update as the plain dict it arrives as; replies are
Bot API JSON posted on one aiohttp session, one `sendMessage` per outbox batch (the
acknowledgement and the restatement with its buttons go as one message). Measured under
load, python-telegram-bot's httpx-based `Bot` cost Heard ~13 ms CPU per customer message,
most of it in httpcore's connection pool (docs/architecture.md, "Telegram transport").
PTB's `Bot` is kept for long polling. Every callback query is answered, or the customer's
button keeps spinning.
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime
from typing import Any

import aiohttp
from telegram import Bot

from adapters.base import (
    Checkpoint,
    ContentGone,
    ContentTooBig,
    CustomerBlocked,
    DeliveryError,
    OutboxMessage,
    PermanentFailure,
    TemporaryFailure,
    cleaned,
    https_proxy,
    split_text,
)
from adapters.fields import as_object, optional_string, string
from bot.payloads import FOLLOW, MEDIA_PREFIX
from bot.types import Attachment, Incoming, Profile

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64   # bytes
JOINED_MESSAGES = 10       # outbox rows one sendMessage may carry (the text limit decides first)
JOIN = "\n\n"
CONNECTIONS = 256          # as PTB's own pool
TIMEOUT = aiohttp.ClientTimeout(total=15.0, sock_connect=5.0, sock_read=5.0)
JSON_HEADERS = {"Content-Type": "application/json"}
# message field -> the kind of file it carries (a photo comes in sizes, largest last)
MEDIA_FIELDS = {"photo": "image", "document": "file", "video": "video", "voice": "audio",
                "audio": "audio", "sticker": "sticker"}
CHUNK = 64 * 1024


class TelegramChannel:
    channel = CHANNEL
    max_batch = JOINED_MESSAGES

    def __init__(self, token: str, secret_token: str = "",
                 base_url: str = "https://api.telegram.org/bot") -> None:
        self.token = token
        self.secret_token = secret_token
        self.api = f"{base_url}{token}"
        # files are downloaded from /file/bot<token>/<file_path> beside the Bot API
        self.files = f"{base_url.removesuffix('/bot')}/file/bot{token}"
        self.proxy = https_proxy(base_url)
        self.bot = Bot(token, base_url=base_url)   # long polling (bot/server.py)
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        await self.bot.initialize()
        # the proxy is passed explicitly: trusting the environment would make aiohttp
        # look for a .netrc file in a thread on every request
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=CONNECTIONS), timeout=TIMEOUT,
            trust_env=False)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        await self.bot.shutdown()

    # ------------------------------------------------------------ receiving

    def verify(self, header: str | None) -> bool:
        if not self.secret_token:
            return True
        return header is not None and hmac.compare_digest(header, self.secret_token)

    def events(self, data: dict[str, Any], now: datetime) -> tuple[list[Incoming], list[str]]:
        """An update as `Incoming` (or none), plus callback query ids to answer. Only the
        fields Heard uses are read; ValueError when one of them is not what the Bot API
        says it is (the update is refused, not redelivered)."""
        event_id = str(data["update_id"])
        query = data.get("callback_query")
        if query is not None:
            query = as_object(query, "callback_query")
            return [cleaned(_pressed(query, event_id, now))], [string(query, "id")]
        message = data.get("message")
        text = optional_string(as_object(message, "message"), "text") if message is not None else None
        media = _media(message) if message is not None and text is None else None
        if message is not None and media is not None:
            return [cleaned(Incoming(
                channel=CHANNEL, user_id=str(_chat_id(message)), event_id=event_id,
                received_at=now, text=optional_string(message, "caption") or "",
                payload=f"{MEDIA_PREFIX}{media.kind}:{event_id}", attachment=media,
                profile=_profile(message.get("from"))))], []
        if message is None or text is None:
            log.info("telegram: update %s has no text or button, ignored", event_id)
            return [], []
        command = text.split(maxsplit=1)[0].split("@")[0] if text.startswith("/") else ""
        fields: dict[str, Any] = {"payload": FOLLOW} if command == "/start" else {"text": text}
        return [cleaned(Incoming(channel=CHANNEL, user_id=str(_chat_id(message)),
                                 event_id=event_id, received_at=now,
                                 profile=_profile(message.get("from")), **fields))], []

    async def answer_callbacks(self, ids: list[str]) -> None:
        for query_id in ids:
            try:
                await self.call("answerCallbackQuery", {"callback_query_id": query_id})
            except DeliveryError as exc:
                log.warning("telegram: answering a button press failed: %s", exc)

    # ------------------------------------------------------------ sending

    def joins(self, batch: list[OutboxMessage], message: OutboxMessage) -> bool:
        """`message` may go in the same sendMessage as `batch`: nobody in the batch has
        buttons (only a message's end can carry them) and the joined text fits in one."""
        return (not any(m.buttons for m in batch)
                and len(joined([*batch, message])) <= TEXT_LIMIT)

    async def send(self, messages: list[OutboxMessage], now: datetime,
                   checkpoint: Checkpoint) -> None:
        """The batch as one sendMessage (`joins` keeps a batch within one), with the last
        message's buttons. Only a single message over the text limit takes several."""
        await checkpoint("send")
        last = messages[-1]
        parts = split_text(joined(messages), TEXT_LIMIT)
        for i, part in enumerate(parts):
            params: dict[str, Any] = {"chat_id": int(last.user_id), "text": part}
            if i == len(parts) - 1 and last.buttons:
                params["reply_markup"] = keyboard(last)
            await self.call("sendMessage", params)

    async def content(self, attachment: Attachment, limit: int) -> bytes:
        """A file the customer sent: getFile, then the download (at most `limit` bytes
        read; a size Telegram states over it is not downloaded at all)."""
        if attachment.declared_size is not None and attachment.declared_size > limit:
            raise ContentTooBig(f"{attachment.declared_size} bytes")
        try:
            found = await self.call("getFile", {"file_id": attachment.ref})
        except PermanentFailure as exc:       # 400: too big for bots, or no such file
            if "too big" in str(exc).lower():
                raise ContentTooBig(str(exc)) from exc
            raise ContentGone(str(exc)) from exc
        path = found.get("file_path") if isinstance(found, dict) else None
        if not isinstance(path, str) or not path or ".." in path:
            raise ContentGone("Telegram gave no file path")
        return await self._download(f"{self.files}/{path}", limit)

    async def _download(self, url: str, limit: int) -> bytes:
        if self._http is None:
            raise TemporaryFailure("Telegram client not started")
        try:
            async with self._http.get(url, proxy=self.proxy) as response:
                if response.status in (400, 404):
                    raise ContentGone(f"Telegram answered {response.status}")
                if response.status != 200:
                    raise TemporaryFailure(f"Telegram file download: HTTP {response.status}")
                data = bytearray()
                async for chunk in response.content.iter_chunked(CHUNK):
                    data += chunk
                    if len(data) > limit:
                        raise ContentTooBig(f"more than {limit} bytes")
                return bytes(data)
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc).replace(self.token, "<token>") if self.token else str(exc)
            raise TemporaryFailure(f"Telegram file download: {type(exc).__name__}: {reason}") from exc

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """One Bot API method; its `result`. Failures are told apart as PTB tells them:
        a 429's retry_after → TemporaryFailure with that wait, 403 → CustomerBlocked,
        400 → PermanentFailure, timeouts, 5xx and the rest → TemporaryFailure."""
        if self._http is None:
            raise TemporaryFailure("Telegram client not started")
        body = json.dumps(params, ensure_ascii=False).encode()
        try:
            async with self._http.post(f"{self.api}/{method}", data=body, headers=JSON_HEADERS,
                                       proxy=self.proxy) as response:
                status, payload = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc).replace(self.token, "<token>") if self.token else str(exc)
            raise TemporaryFailure(f"Telegram: {type(exc).__name__}: {reason}") from exc
        return _outcome(status, payload)


def _outcome(status: int, payload: bytes) -> Any:
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise TemporaryFailure(f"Telegram: unreadable answer (HTTP {status})")
    if 200 <= status <= 299:
        if "result" not in answer:
            raise TemporaryFailure(f"Telegram: an answer without a result (HTTP {status})")
        return answer["result"]
    description = str(answer.get("description") or f"HTTP {status}")[:300]
    parameters = answer.get("parameters")
    wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(wait, int | float) and not isinstance(wait, bool) and wait > 0:
        raise TemporaryFailure("Telegram flood limit", float(wait))
    if status == 403:
        raise CustomerBlocked(f"Telegram: {description}")
    if status == 400:
        raise PermanentFailure(f"Telegram: {description}")
    raise TemporaryFailure(f"Telegram: {description} (HTTP {status})")


def joined(messages: list[OutboxMessage]) -> str:
    """What the customer reads when these rows go as one message."""
    return JOIN.join(m.text for m in messages if m.text) or " "


def keyboard(message: OutboxMessage) -> dict[str, Any]:
    """An InlineKeyboardMarkup, one button a row (a payload over Telegram's 64 bytes of
    callback data is left out rather than refused)."""
    return {"inline_keyboard": [[{"text": b.label, "callback_data": b.payload}]
                                for b in message.buttons
                                if len(b.payload.encode()) <= CALLBACK_DATA_LIMIT]}


# ---------------------------------------------------------------- reading an update


def _pressed(query: dict[str, Any], event_id: str, now: datetime) -> Incoming:
    sender = as_object(query.get("from"), "callback_query.from")
    message = query.get("message")
    chat = _chat_id(as_object(message, "callback_query.message")) if message else _id(sender)
    return Incoming(channel=CHANNEL, user_id=str(chat), event_id=event_id, received_at=now,
                    payload=optional_string(query, "data") or "", profile=_profile(sender))


def _media(message: dict[str, Any]) -> Attachment | None:
    """The file a message carries (the largest size of a photo), or None."""
    for name, kind in MEDIA_FIELDS.items():
        found = message.get(name)
        if found is None:
            continue
        if name == "photo":
            if not isinstance(found, list) or not found:
                raise ValueError("photo is not a list of sizes")
            found = found[-1]
        found = as_object(found, name)
        if kind == "sticker":
            return Attachment(kind="sticker", ref=string(found, "file_id"), status="ignored")
        size = found.get("file_size")
        return Attachment(kind=kind, ref=string(found, "file_id"),
                          name=optional_string(found, "file_name"),
                          declared_size=size if isinstance(size, int) and size >= 0 else None)
    return None


def _id(holder: dict[str, Any]) -> int:
    value = holder.get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("an id that is not an integer")
    return value


def _chat_id(message: dict[str, Any]) -> int:
    return _id(as_object(message.get("chat"), "message.chat"))


def _profile(user: Any) -> Profile:
    if user is None:
        return Profile()
    user = as_object(user, "from")
    name = " ".join(x for x in (optional_string(user, "first_name"), optional_string(user, "last_name"))
                    if x) or None
    return Profile(display_name=name, language_code=optional_string(user, "language_code"))
