"""The internal message types every part of Heard agrees on (see docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

OutgoingKind = Literal["reply", "push", "agent", "agent_relay"]


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the customer. Adapters decide how it looks on their platform."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Profile:
    """What a platform tells us about the customer, used as hints only."""

    display_name: str | None = None
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo, video, audio clip, file or sticker the customer sent (docs/architecture.md,
    "Photos and files"). An adapter makes it `pending` with the platform's reference
    (`ref`); fetching makes it `stored` (with the file's sha256 and the type its bytes
    show) or `refused` (with a `reason`: too_big, type, expired, unavailable). A web upload
    arrives already checked. Stickers are `ignored`: acknowledged, never stored."""

    kind: str                      # image | video | audio | file | sticker
    ref: str = ""                  # LINE message id, Telegram file_id
    name: str | None = None        # the file's own name, when the platform gives one
    declared_size: int | None = None
    status: str = "pending"        # pending | stored | refused | ignored
    reason: str | None = None
    sha256: str | None = None
    mime: str | None = None
    size: int | None = None
    limit: int | None = None       # refused as too big: the largest size kept, in bytes

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attachment:
        return cls(**{k: v for k, v in data.items() if k in cls.__slots__})


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing a customer did: a message, a button press, a follow.

    `conversation_key` is channel + platform user id, e.g. ``line:U123``.
    `payload` is set when a button was pressed; `text` when the customer typed.
    """

    channel: str
    user_id: str
    event_id: str
    received_at: datetime
    text: str = ""
    payload: str | None = None
    profile: Profile = field(default_factory=Profile)
    reply_token: str | None = None
    raw: dict[str, Any] | None = None
    attachment: Attachment | None = None

    @property
    def conversation_key(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for the customer (or, with kind ``agent_relay``, for an agent)."""

    text: str
    buttons: tuple[Button, ...] = ()
    kind: OutgoingKind = "reply"


def incoming_to_dict(incoming: Incoming) -> dict[str, Any]:
    """A JSON-ready form, kept in the inbox until the event is processed."""
    return {
        "channel": incoming.channel, "user_id": incoming.user_id, "event_id": incoming.event_id,
        "received_at": incoming.received_at.isoformat(), "text": incoming.text,
        "payload": incoming.payload, "reply_token": incoming.reply_token,
        "profile": {"display_name": incoming.profile.display_name,
                    "language_code": incoming.profile.language_code},
        "raw": incoming.raw,
        "attachment": incoming.attachment.as_dict() if incoming.attachment else None,
    }


def incoming_from_dict(data: dict[str, Any]) -> Incoming:
    profile = data.get("profile") or {}
    attachment = data.get("attachment")
    return Incoming(
        channel=data["channel"], user_id=data["user_id"], event_id=data["event_id"],
        received_at=datetime.fromisoformat(data["received_at"]), text=data.get("text") or "",
        payload=data.get("payload"), reply_token=data.get("reply_token"), raw=data.get("raw"),
        profile=Profile(profile.get("display_name"), profile.get("language_code")),
        attachment=Attachment.from_dict(attachment) if attachment else None,
    )
