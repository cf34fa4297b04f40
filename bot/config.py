"""Settings: one frozen object built from the environment (and `.env`), passed in.

Every setting here appears in `.env.example`; a test checks it.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from dialogs.loader import default_dialog_path
from storage.migrations import is_postgres, sqlite_path

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# name -> (default, help). `.env.example` lists exactly these.
SETTINGS: dict[str, tuple[str, str]] = {
    "HEARD_DB": ("data/heard.db", "where the complaint records are: a SQLite file (or "
                                  "`sqlite:///path`), or `postgresql://user:password@host/db` "
                                  "for several workers on one PostgreSQL"),
    "HEARD_DIALOG": ("", "dialog file to use (empty: the shipped dialogs/default.yml)"),
    "HEARD_MODEL_DIR": ("data/models", "folder keeping the text model trained from the dialog"),
    "HEARD_LOG_LEVEL": ("INFO", "DEBUG, INFO, WARNING or ERROR"),
    "HEARD_HOST": ("127.0.0.1", "address `heard serve` listens on (0.0.0.0 for all)"),
    "HEARD_PORT": ("8080", "port `heard serve` listens on"),
    "HEARD_TIMERS_EVERY": ("30", "seconds between looks at the timers (follow-ups, SLA "
                                 "breaches, overdue commitments)"),
    "HEARD_WORKERS": ("", "processes for `heard serve` (empty: one per core; 1: everything "
                          "in one process)"),
    "HEARD_EVENT_LOOP": ("auto", "event loop of `heard serve`: auto (uvloop where installed, "
                                 "else asyncio's), uvloop or asyncio"),
    "HEARD_MAX_BODY": ("1000000", "largest webhook or web chat request accepted, in bytes"),
    "HEARD_FILES": ("", "folder keeping the photos and files customers send (empty: `files` "
                        "beside the HEARD_DB file)"),
    "HEARD_IMAGE_MAX_MB": ("10", "largest photo kept, in MB; a bigger one is refused with an "
                                 "answer saying so"),
    "HEARD_FILE_MAX_MB": ("20", "largest video or PDF kept, in MB (Telegram lets bots fetch "
                                "up to 20)"),
    "HEARD_DELIVERY_MAX_AGE": ("6", "hours a reply keeps being retried while its platform "
                                    "fails; then it is marked failed and the team is alerted"),
    "LINE_CHANNEL_SECRET": ("", "LINE channel secret (Messaging API); empty: LINE is off"),
    "LINE_CHANNEL_ACCESS_TOKEN": ("", "LINE channel access token (long-lived)"),
    "LINE_API_HOST": ("https://api.line.me", "LINE Messaging API address (tests use a stub)"),
    "LINE_DATA_HOST": ("https://api-data.line.me", "LINE address serving the content of "
                                                   "photos and files (tests use a stub)"),
    "LINE_REPLY_TOKEN_SECONDS": ("50", "seconds after a LINE webhook arrives that its reply "
                                       "token is used (LINE keeps them about a minute); later "
                                       "replies are pushed"),
    "TELEGRAM_BOT_TOKEN": ("", "Telegram bot token from @BotFather; empty: Telegram is off"),
    "TELEGRAM_SECRET_TOKEN": ("", "secret Telegram sends with every webhook (A-Z a-z 0-9 _ -)"),
    "TELEGRAM_API_URL": ("https://api.telegram.org/bot", "Telegram Bot API address (tests use a stub)"),
    "DISCORD_BOT_TOKEN": ("", "Discord bot token for the agent desk; empty: the Discord desk is off"),
    "DISCORD_CHANNEL_ID": ("", "Discord text channel where each handed-off case gets a thread"),
    "HEARD_PUBLIC_URL": ("", "Heard's public address, for links to the console (e.g. https://support.example.com)"),
    "HEARD_TRUSTED_PROXIES": ("", "proxies whose X-Forwarded-For is believed, comma-separated "
                                  "addresses or networks (e.g. 127.0.0.1, 10.0.0.0/8); empty: none"),
    "HEARD_ADMIN_TOKEN": ("", "token `heard reload` sends to /admin/reload (without it only a "
                              "signed-in admin can reload); at least 16 characters"),
}


@dataclass(frozen=True, slots=True)
class Settings:
    db_path: Path
    dialog_path: Path
    log_level: str
    model_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    max_body: int = 1_000_000
    workers: int = 0                        # 0: one per core
    event_loop: str = "auto"                # auto | uvloop | asyncio
    timers_every: float = 30.0              # seconds
    delivery_max_age: float = 6 * 3600.0    # seconds
    files_dir: Path | None = None           # None: `files` beside the database
    image_max_mb: float = 10.0
    file_max_mb: float = 20.0
    line_secret: str = ""
    line_token: str = ""
    line_api_host: str = "https://api.line.me"
    line_data_host: str = "https://api-data.line.me"
    line_token_seconds: float = 50.0
    telegram_token: str = ""
    telegram_secret: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"
    discord_token: str = ""
    discord_channel: int = 0
    public_url: str = ""
    trusted_proxies: tuple[Network, ...] = ()
    admin_token: str = ""
    db_url: str = ""                        # a postgresql:// URL (then db_path is unused)

    @property
    def records(self) -> str | Path:
        """Where the records are: the PostgreSQL URL, or the SQLite file."""
        return self.db_url or self.db_path

    @property
    def files_path(self) -> Path:
        if self.files_dir is not None:
            return self.files_dir
        return Path("data/files") if self.db_url else self.db_path.parent / "files"

    @property
    def line_enabled(self) -> bool:
        return bool(self.line_secret and self.line_token)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def discord_enabled(self) -> bool:
        return bool(self.discord_token and self.discord_channel)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, env_file: str | Path = ".env") -> Settings:
        """Environment wins over `.env`, which wins over defaults."""
        values = {name: default for name, (default, _) in SETTINGS.items()}
        if env is None:
            file_values = dotenv_values(env_file) if Path(env_file).is_file() else {}
            values.update({k: v for k, v in file_values.items() if k in SETTINGS and v is not None})
            env = os.environ
        values.update({k: v for k, v in env.items() if k in SETTINGS})
        return cls(
            **records_fields(values["HEARD_DB"]),
            dialog_path=Path(values["HEARD_DIALOG"]) if values["HEARD_DIALOG"] else default_dialog_path(),
            log_level=values["HEARD_LOG_LEVEL"].upper(),
            model_dir=Path(values["HEARD_MODEL_DIR"]) if values["HEARD_MODEL_DIR"] else None,
            host=values["HEARD_HOST"],
            port=_int(values["HEARD_PORT"], "HEARD_PORT"),
            max_body=_int(values["HEARD_MAX_BODY"], "HEARD_MAX_BODY"),
            workers=_workers(values["HEARD_WORKERS"]),
            event_loop=_event_loop(values["HEARD_EVENT_LOOP"]),
            timers_every=_positive(values["HEARD_TIMERS_EVERY"], "HEARD_TIMERS_EVERY"),
            delivery_max_age=_positive(values["HEARD_DELIVERY_MAX_AGE"],
                                       "HEARD_DELIVERY_MAX_AGE") * 3600,
            line_secret=values["LINE_CHANNEL_SECRET"],
            line_token=values["LINE_CHANNEL_ACCESS_TOKEN"],
            line_api_host=values["LINE_API_HOST"].rstrip("/"),
            line_data_host=values["LINE_DATA_HOST"].rstrip("/"),
            files_dir=Path(values["HEARD_FILES"]) if values["HEARD_FILES"] else None,
            image_max_mb=_positive(values["HEARD_IMAGE_MAX_MB"], "HEARD_IMAGE_MAX_MB"),
            file_max_mb=_positive(values["HEARD_FILE_MAX_MB"], "HEARD_FILE_MAX_MB"),
            line_token_seconds=_positive(values["LINE_REPLY_TOKEN_SECONDS"],
                                         "LINE_REPLY_TOKEN_SECONDS"),
            telegram_token=values["TELEGRAM_BOT_TOKEN"],
            telegram_secret=values["TELEGRAM_SECRET_TOKEN"],
            telegram_api_url=values["TELEGRAM_API_URL"],
            discord_token=values["DISCORD_BOT_TOKEN"],
            discord_channel=_int(values["DISCORD_CHANNEL_ID"] or "0", "DISCORD_CHANNEL_ID"),
            public_url=values["HEARD_PUBLIC_URL"].rstrip("/"),
            trusted_proxies=_networks(values["HEARD_TRUSTED_PROXIES"]),
            admin_token=_admin_token(values["HEARD_ADMIN_TOKEN"]),
        )

    def secrets(self) -> list[str]:
        password = urlsplit(self.db_url).password if self.db_url else None
        return [s for s in (self.line_secret, self.line_token, self.telegram_token,
                            self.telegram_secret, self.discord_token, self.admin_token,
                            password) if s]


def records_fields(value: str) -> dict[str, Any]:
    """The settings a HEARD_DB (or `--db`) value names: a PostgreSQL URL (`db_url`), or a
    SQLite file (`db_path`, also for `sqlite:///path`)."""
    return {"db_url": value if is_postgres(value) else "", "db_path": Path(sqlite_path(value))}


class SettingsError(ValueError):
    pass


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, not {value!r}") from exc


def _workers(value: str) -> int:
    count = _int(value or "0", "HEARD_WORKERS")
    if count < 0:
        raise SettingsError("HEARD_WORKERS must be 1 or more (or empty: one per core)")
    return count


def _event_loop(value: str) -> str:
    loop = (value or "auto").strip().lower()
    if loop not in ("auto", "uvloop", "asyncio"):
        raise SettingsError(f"HEARD_EVENT_LOOP must be auto, uvloop or asyncio, not {value!r}")
    if loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        raise SettingsError("HEARD_EVENT_LOOP=uvloop, but uvloop is not installed "
                            "(pip install uvloop; it runs on Linux and macOS)")
    return loop


def _networks(value: str) -> tuple[Network, ...]:
    try:
        return parse_networks(value)
    except ValueError as exc:
        raise SettingsError(f"HEARD_TRUSTED_PROXIES: {exc}") from exc


def _admin_token(value: str) -> str:
    if value and len(value) < 16:
        raise SettingsError("HEARD_ADMIN_TOKEN must be at least 16 characters (or empty)")
    return value


def parse_networks(value: str) -> tuple[Network, ...]:
    """`10.0.0.1, 192.168.0.0/16, ::1` -> networks; raises ValueError naming a bad entry."""
    found = []
    for item in (part.strip() for part in value.split(",")):
        if item:
            try:
                found.append(ipaddress.ip_network(item, strict=False))
            except ValueError as exc:
                raise ValueError(f"not an address or network: {item!r}") from exc
    return tuple(found)


def _positive(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise SettingsError(f"{name} must be a number above 0, not {value!r}")
    return number
