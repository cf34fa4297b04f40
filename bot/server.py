"""`heard serve`: one aiohttp server for every customer channel.

Webhooks are verified first (401 without storing anything), kept in the inbox, answered
200 at once, and processed from the inbox; replies go out through the outbox and the
delivery worker. LINE and Telegram are on when their settings are present; the web chat
is always on.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from adapters import web as webchat
from adapters import web_upload
from adapters.base import Sender
from adapters.console import Console, ConsoleHub
from bot.config import Settings
from bot.delivery import Delivery
from bot.desk import DeskService
from bot.dispatch import Dispatcher
from bot.fetch import fetcher, limits
from bot.files import FileStore
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from bot.types import Incoming
from bot.understanding import ready
from dialogs.loader import DialogHolder
from storage.writer import open_writer

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
POLL_TIMEOUT = 25


def utc_now() -> datetime:
    return datetime.now(UTC)


class HeardServer:
    def __init__(self, settings: Settings, dialogs: DialogHolder, *,
                 telegram_polling: bool = False, clock: Clock = utc_now,
                 scheduler_every: float | None = None, delivery_idle: float = 1.0,
                 background: bool = True) -> None:
        self.settings = settings
        self.dialogs = dialogs
        self.clock = clock
        self.telegram_polling = telegram_polling
        self.metrics = Metrics()
        self.writer = open_writer(settings.records)
        self.senders: dict[str, Sender] = {"web": webchat.WebChannel()}
        self.line: Any = None
        self.telegram: Any = None
        if settings.line_enabled:
            from adapters.line import LineChannel

            self.line = LineChannel(settings.line_secret, settings.line_token,
                                    settings.line_api_host,
                                    token_fresh=settings.line_token_seconds,
                                    data_host=settings.line_data_host)
            self.senders["line"] = self.line
        if settings.telegram_enabled:
            from adapters.telegram import TelegramChannel

            self.telegram = TelegramChannel(settings.telegram_token, settings.telegram_secret,
                                            settings.telegram_api_url)
            self.senders["telegram"] = self.telegram
        self.delivery = Delivery(self.writer, self.senders, self.metrics, clock=clock,
                                 idle_wait=delivery_idle, max_age=settings.delivery_max_age)
        self.desk = DeskService(self.writer, lambda: self.dialogs.dialog, clock,
                                self.delivery.poke)
        self.delivery.on_problem = self.desk.delivery_failed
        self.hub = ConsoleHub()
        self.desk.desks.append(self.hub)
        self.console = Console(self.writer, self.desk, self.hub, self.dialogs, clock,
                               trusted_proxies=settings.trusted_proxies,
                               files=FileStore(settings.files_path))
        self.discord: Any = None
        self.discord_desk: Any = None
        if settings.discord_enabled:
            from adapters.discord_desk import DiscordDesk, DiscordGateway

            self.discord = DiscordGateway(settings.discord_token, settings.discord_channel)
            self.discord_desk = DiscordDesk(self.discord, self.desk, self.writer,
                                            settings.public_url,
                                            files=FileStore(settings.files_path))
            self.discord.desk = self.discord_desk
            self.desk.desks.append(self.discord_desk)
        turns = Dispatcher
        if settings.db_url:       # other workers share the records (bot/shared.py)
            from bot.shared_turns import SharedDispatcher

            turns = SharedDispatcher
        self.dispatcher = turns(self.writer, lambda: self.dialogs.dialog, self.metrics,
                                     on_outbox=self._deliver, clock=clock,
                                     on_turn=self._after_turn,
                                     fetch=fetcher(settings, {"line": self.line,
                                                              "telegram": self.telegram}))
        self.scheduler = Scheduler(self.writer, lambda: self.dialogs.dialog, clock,
                                   self.delivery.poke,
                                   every=scheduler_every or settings.timers_every,
                                   on_due=self.desk.after_timers)
        self.stopping = False
        self.background = background   # False: tests drive delivery and timers themselves
        self._background: set[asyncio.Task[Any]] = set()
        self._polling: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._reloading = asyncio.Lock()
        self._outbox_counts: dict[str, int] = {}   # read at each /metrics scrape
        self.worker = "one process"
        self.link: Any = None      # an HTTP worker's link to the turn worker (bot/http_worker.py)
        self._oldest_pending: float | None = None
        self.shared: Any = None
        if settings.db_url:
            from bot.shared import Shared

            self.shared = Shared(self, settings.db_url)

    # ------------------------------------------------------------ the app

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.max_body)
        app.add_routes([
            web.post("/webhooks/line", self.line_webhook),
            web.post("/webhooks/telegram", self.telegram_webhook),
            web.get("/healthz", self.healthz),
            web.get("/metrics", self.metrics_page),
            web.post("/admin/reload", self.reload),
            *webchat.routes(self.writer, self.dispatcher.accept, self.dispatcher.settled,
                            self.clock),
            *web_upload.routes(self.writer, self.dispatcher.accept, self.dispatcher.settled,
                               self.clock, FileStore(self.settings.files_path),
                               limits(self.settings)),
            *self.console.routes(),
        ])
        self.metrics.gauges["heard_outbox_messages"] = self._outbox_gauge
        self.metrics.gauges["heard_outbox_oldest_pending_seconds"] = self._oldest_gauge
        app.on_startup.append(self._startup)
        app.on_shutdown.append(self._shutdown)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _startup(self, app: web.Application) -> None:
        if self.link is None:   # the turn worker reads and understands, not HTTP workers
            # the text model and its dictionaries are loaded before the first customer waits
            await asyncio.to_thread(ready, self.dialogs.dialog)
        await self.writer.start()
        for channel in (self.line, self.telegram):
            if channel is not None:
                await channel.start()
        if self.discord is not None and self.shared is None:
            self.discord_desk.start()
            self.discord.start()
        if self.shared is not None and self.background:
            await self.shared.start()
        if self.link is None:
            await self.dispatcher.recover()
        else:
            self.link.start()
        if self.background:
            self.delivery.start()
            if self.link is None:
                self.scheduler.start()
        if self.background:
            self._watcher = asyncio.get_running_loop().create_task(
                self.dialogs.watch(self.reload_dialog))
        if self.telegram is not None and self.telegram_polling:
            self._polling = asyncio.get_running_loop().create_task(self._poll_telegram())
        log.info("heard serve: web chat on, LINE %s, Telegram %s", self._state("line"),
                 self._state("telegram"))

    async def _shutdown(self, app: web.Application) -> None:
        """Stop taking webhooks; in-flight requests finish; live console streams end."""
        self.stopping = True
        self.hub.close()
        if self.link is not None:
            self.link.stop()
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        if self._polling is not None:
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)

    async def _cleanup(self, app: web.Application) -> None:
        """Finish accepted turns, flush what can be sent, close everything."""
        await self.dispatcher.drain()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.scheduler.stop()
        await self.delivery.stop()
        if self.shared is not None and self.background:
            await self.shared.stop()
        if self.discord is not None and (self.shared is None or self.shared.discord_here):
            await self.discord_desk.stop()
            await self.discord.stop()
        for channel in (self.line, self.telegram):
            if channel is not None:
                await channel.close()
        await self.writer.stop()

    async def _after_turn(self, case: Any, text: str, escalated: bool, inbox_id: int) -> None:
        await self.desk.after_turn(case, text, escalated)

    def _deliver(self, conversation_key: str) -> None:
        """A turn committed: its replies go out now (tests without background work drive
        delivery themselves)."""
        if self.background:
            self.delivery.deliver(conversation_key)

    def _track(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _state(self, channel: str) -> str:
        if channel == "line":
            return "on" if self.line is not None else "off"
        if self.telegram is None:
            return "off"
        return "polling" if self.telegram_polling else "on"

    # ------------------------------------------------------------ webhooks

    async def _body(self, request: web.Request, channel: str) -> bytes:
        if self.stopping:
            raise web.HTTPServiceUnavailable(text="shutting down")
        limit = self.settings.max_body
        if request.content_length is not None and request.content_length > limit:
            self._reject(channel, "too_large")
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
        body = await request.content.read(limit + 1)
        if len(body) > limit:
            self._reject(channel, "too_large")
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(body))
        return body

    def _reject(self, channel: str, reason: str) -> None:
        self.metrics.inc("heard_webhooks_rejected_total", channel=channel, reason=reason)

    async def line_webhook(self, request: web.Request) -> web.Response:
        if self.line is None:
            raise web.HTTPNotFound(text="LINE is off: set LINE_CHANNEL_SECRET and "
                                        "LINE_CHANNEL_ACCESS_TOKEN")
        body = await self._body(request, "line")
        if not self.line.verify(body, request.headers.get("X-Line-Signature")):
            self._reject("line", "signature")
            log.warning("line: webhook with a bad signature refused (%d bytes)", len(body))
            raise web.HTTPUnauthorized(text="bad signature")
        try:
            incomings, refused = self.line.events(body, self.clock())
        except ValueError as exc:     # not JSON, or no events list
            self._reject("line", "malformed")
            raise web.HTTPBadRequest(text="the body is not a LINE webhook") from exc
        self._refused("line", refused)
        await self._accept_each("line", incomings)
        return web.Response(text="OK")

    def _refused(self, channel: str, reasons: list[str]) -> None:
        """Events we could not read are recorded (log and /metrics), never silently lost."""
        for reason in reasons:
            self.metrics.inc("heard_events_refused_total", channel=channel, reason=reason)
        if reasons:
            log.warning("%s: %d event(s) refused: %s", channel, len(reasons), ", ".join(reasons))

    async def _accept_each(self, channel: str, incomings: list[Incoming]) -> None:
        """Keep every event on its own (the writer still commits them together): one that
        cannot be stored does not take the others with it. If any could not be stored the
        platform is answered 500 and redelivers; the ones kept are recognised then."""
        results = await asyncio.gather(*(self.dispatcher.accept([i]) for i in incomings),
                                       return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            self.metrics.inc("heard_events_refused_total", len(failed), channel=channel,
                             reason="store")
            log.error("%s: %d of %d events could not be stored: %r", channel, len(failed),
                      len(incomings), failed[0])
            raise web.HTTPInternalServerError(text="could not store every event; send again")

    async def telegram_webhook(self, request: web.Request) -> web.Response:
        if self.telegram is None:
            raise web.HTTPNotFound(text="Telegram is off: set TELEGRAM_BOT_TOKEN")
        if self.telegram_polling:
            raise web.HTTPConflict(text="Telegram runs by polling on this server")
        if not self.telegram.verify(request.headers.get("X-Telegram-Bot-Api-Secret-Token")):
            self._reject("telegram", "secret_token")
            log.warning("telegram: webhook with a wrong secret token refused")
            raise web.HTTPUnauthorized(text="bad secret token")
        body = await self._body(request, "telegram")
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("no update_id")
        except ValueError as exc:
            self._reject("telegram", "malformed")
            raise web.HTTPBadRequest(text="the body is not a Telegram update") from exc
        try:
            incomings, callbacks = self.telegram.events(data, self.clock())
        except Exception as exc:   # an update we cannot read: recorded, and not redelivered
            log.warning("telegram: update %s refused (%s): %s", data["update_id"],
                        type(exc).__name__, str(exc)[:300])
            self._refused("telegram", ["invalid update"])
            return web.Response(text="OK")
        await self._accept_each("telegram", incomings)
        if callbacks:
            self._track(self.telegram.answer_callbacks(callbacks))
        return web.Response(text="OK")

    async def _poll_telegram(self) -> None:
        """Development without a public URL: long polling instead of the webhook."""
        bot = self.telegram.bot
        await bot.delete_webhook()
        offset = 0
        while not self.stopping:
            try:
                updates = await bot.get_updates(offset=offset, timeout=POLL_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("telegram polling: %s; retrying in 5 s", exc)
                await asyncio.sleep(5)
                continue
            for update in updates:
                offset = max(offset, update.update_id + 1)
                try:
                    incomings, callbacks = self.telegram.events(update.to_dict(), self.clock())
                except Exception as exc:   # one unreadable update never stops polling
                    log.warning("telegram: update %s refused (%s)", update.update_id,
                                type(exc).__name__)
                    self._refused("telegram", ["invalid update"])
                    continue
                await self.dispatcher.accept(incomings)
                if callbacks:
                    self._track(self.telegram.answer_callbacks(callbacks))

    # ------------------------------------------------------------ the dialog file

    async def reload_dialog(self) -> dict[str, Any]:
        """Load the dialog file again in a worker thread (reading YAML and checking it takes
        a while; the event loop keeps answering); a broken file leaves the last good one
        live, and whatever went wrong is reported, never swallowed."""
        async with self._reloading:
            changed = await asyncio.to_thread(self.dialogs.reload)
        error = self.dialogs.last_error
        if error is not None:
            log.warning("dialog edit rejected, the last good version stays live:\n%s", error)
        elif changed:
            log.info("dialog reloaded: %s", self.dialogs.dialog.digest[:12])
            if self.link is not None:
                self.link.reloaded()    # the turn worker loads it too
        return {"ok": error is None, "changed": changed,
                "version": self.dialogs.dialog.digest[:12],
                "errors": [str(p) for p in error.problems] if error else []}

    async def reload(self, request: web.Request) -> web.Response:
        """`heard reload` (with `HEARD_ADMIN_TOKEN`) or an admin signed in to the console.
        Where a request comes from proves nothing: a same-host proxy makes every request
        come from 127.0.0.1."""
        if not (self._admin_token_ok(request) or await self.console.is_admin(request)):
            log.warning("/admin/reload refused: no admin token or admin session")
            raise web.HTTPForbidden(text="send the admin token (HEARD_ADMIN_TOKEN) or sign in "
                                         "to the console as an admin")
        result = await self.reload_dialog()
        return web.json_response(result, status=200 if result["ok"] else 422)

    def _admin_token_ok(self, request: web.Request) -> bool:
        expected = self.settings.admin_token
        sent = request.headers.get("Authorization", "")
        return bool(expected) and hmac.compare_digest(sent.encode(), f"Bearer {expected}".encode())

    # ------------------------------------------------------------ health and metrics

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            counts = await self.writer.read(lambda s: s.outbox_counts())
            store = "ok"
        except Exception as exc:
            counts, store = {}, f"error: {exc}"
        dialog = self.dialogs.dialog
        body = {
            "status": "ok" if store == "ok" and not self.stopping else "unavailable",
            "store": store,
            "dialog": {"name": dialog.name, "path": dialog.path, "version": dialog.digest[:12],
                       "last_error": str(self.dialogs.last_error) if self.dialogs.last_error
                       else None},
            "channels": {"web": "on", "line": self._state("line"),
                         "telegram": self._state("telegram")},
            "desk": {"console": "on",
                     "discord": self.discord.state if self.discord is not None else "off"},
            "inbox_backlog": self.dispatcher.backlog,
            "worker": self.worker,
            "event_loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
            **({"turn_worker": self.link.turns} if self.link is not None else {}),
            "outbox": counts,
        }
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        self._outbox_counts, self._oldest_pending = await self.writer.read(
            lambda s: (s.outbox_counts(), s.oldest_pending_ts()))
        return web.Response(text=self.metrics.render(), content_type="text/plain",
                            charset="utf-8", headers={"X-Content-Type-Options": "nosniff"})

    def _outbox_gauge(self) -> dict[str, float]:
        counts = self._outbox_counts
        return {status: float(counts.get(status, 0))
                for status in ("pending", "sent", "failed", "unconfirmed")}

    def _oldest_gauge(self) -> dict[str, float]:
        """How long the oldest message still waiting to go out has waited (0: none)."""
        oldest = self._oldest_pending
        return {"": max(0.0, self.clock().timestamp() - oldest) if oldest is not None else 0.0}
