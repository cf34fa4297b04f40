"""`heard serve`: one process, or a supervisor with an HTTP worker per spare core and a
turn worker (`--workers`, default: the number of cores; bot/workers.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings, records_fields
from storage.migrations import shown

log = logging.getLogger(__name__)


def serve(settings: Settings, *, host: str | None, port: int | None, db: str | None,
          dialog: str | None, telegram_polling: bool, workers: int | None) -> int:
    from bot import workers as roles

    overrides: dict[str, Any] = {k: v for k, v in (("host", host), ("port", port))
                                 if v is not None}
    if db:
        overrides.update(records_fields(db))
    if dialog:
        overrides["dialog_path"] = Path(dialog)
    settings = dataclasses.replace(settings, **overrides)
    if telegram_polling and not settings.telegram_enabled:
        print("error: --telegram-polling needs TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 2
    role, index, count = roles.role()
    if role == "turns":
        return _turns(settings)
    if role == "http":
        return _http(settings, index, count, telegram_polling)
    if role == "peer":
        return _one(settings, telegram_polling and index == 0, peer=(index, count))
    wanted = workers if workers is not None else (settings.workers or os.cpu_count() or 1)
    if wanted < 1:
        print("error: --workers must be 1 or more", file=sys.stderr)
        return 2
    _banner(settings, wanted)
    if wanted == 1:
        return _one(settings, telegram_polling)
    return roles.Supervisor(roles.main_argv(), settings.host, settings.port, wanted,
                            peers=bool(settings.db_url)).run()


def _event_loop(settings: Settings) -> asyncio.AbstractEventLoop:
    """A worker's event loop (HEARD_EVENT_LOOP): uvloop where it is installed (Linux and
    macOS; libuv's loop in C, measured in docs/architecture.md), asyncio's own elsewhere or
    when asked for."""
    if settings.event_loop != "asyncio":
        try:
            import uvloop
        except ImportError:      # auto, where uvloop does not run (Windows)
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _banner(settings: Settings, workers: int) -> None:
    split = ("one process" if workers == 1 else f"{workers} workers" if settings.db_url else
             f"{workers - 1} HTTP worker{'s' if workers > 2 else ''} and a turn worker")
    print(f"Heard on http://{settings.host}:{settings.port}/  (web chat; LINE "
          f"{'on' if settings.line_enabled else 'off'}, Telegram "
          f"{'on' if settings.telegram_enabled else 'off'}; records in {shown(settings.records)}; "
          f"{split})", flush=True)


def _one(settings: Settings, telegram_polling: bool,
         peer: tuple[int, int] | None = None) -> int:
    """Everything in one process; as a `peer`, one of several identical workers over
    PostgreSQL on the supervisor's socket (bot/shared.py)."""
    from aiohttp import web

    from bot.access_log import PathOnlyAccessLogger
    from bot.server import HeardServer
    from bot.understanding import model_for
    from dialogs.loader import DialogHolder

    server = HeardServer(settings, DialogHolder(settings.dialog_path, prepare=model_for),
                         telegram_polling=telegram_polling)
    if peer is None:
        web.run_app(server.app(), host=settings.host, port=settings.port, print=None,
                    shutdown_timeout=10, access_log_class=PathOnlyAccessLogger,
                    loop=_event_loop(settings))
        return 0
    server.worker = f"worker {peer[0] + 1} of {peer[1]}"
    return _on_supervisor_socket(server, settings)


def _http(settings: Settings, index: int, count: int, telegram_polling: bool) -> int:
    """An HTTP worker: the server on the supervisor's socket, turns left to the turn
    worker. Discord and Telegram polling (one connection each) run on the first only."""
    from bot.http_worker import HttpLink
    from bot.server import HeardServer
    from bot.workers import SWITCH_INTERVAL, Wake
    from dialogs.loader import DialogHolder

    sys.setswitchinterval(SWITCH_INTERVAL)

    if index > 0:
        settings = dataclasses.replace(settings, discord_token="")
    server = HeardServer(settings, DialogHolder(settings.dialog_path),
                         telegram_polling=telegram_polling and index == 0)
    server.worker = f"HTTP worker {index + 1} of {count}"
    server.link = HttpLink(server, Wake.from_env(), index, count)
    return _on_supervisor_socket(server, settings)


def _on_supervisor_socket(server: Any, settings: Settings) -> int:
    """A worker's server on the listening socket the supervisor bound and passed down."""
    from aiohttp import web

    from bot.access_log import PathOnlyAccessLogger
    from bot.workers import SOCKET_ENV

    sock = socket.socket(fileno=int(os.environ[SOCKET_ENV]))
    web.run_app(server.app(), sock=sock, print=None, shutdown_timeout=10,
                access_log_class=PathOnlyAccessLogger, loop=_event_loop(settings))
    return 0


def _turns(settings: Settings) -> int:
    from bot.turn_worker import TurnWorker
    from bot.understanding import model_for
    from bot.workers import SWITCH_INTERVAL, Wake
    from dialogs.loader import DialogHolder

    sys.setswitchinterval(SWITCH_INTERVAL)

    worker = TurnWorker(settings, DialogHolder(settings.dialog_path, prepare=model_for),
                        Wake.from_env())
    with asyncio.Runner(loop_factory=lambda: _event_loop(settings)) as runner:
        runner.run(worker.run())
    return 0
