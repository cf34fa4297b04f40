"""The dashboard's CSV downloads: the per-agent table and the trend, for the same period
as the page (admins and supervisors)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.agent_report import PeriodRecords, agent_figures, trend, write_agents_csv, write_trend_csv
from storage.store import Store

if TYPE_CHECKING:
    from adapters.console import Console


class ReportDownloads:
    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/console/dashboard/agents.csv", self.agents),
                web.get("/console/dashboard/trend.csv", self.trend)]

    async def _period(self, request: web.Request) -> tuple[str, datetime, datetime, ZoneInfo]:
        """The page's period (the dashboard's defaults): a file-name stamp, [start, end)."""
        await self.console._page_session(request, ("admin", "supervisor"))
        first, last, start, end, tz = self.console.report_period(request)
        return f"{first:%Y%m%d}-{last:%Y%m%d}", start, end, tz

    async def agents(self, request: web.Request) -> web.Response:
        stamp, start, end, _ = await self._period(request)

        def write(store: Store) -> str:
            out = io.StringIO()
            write_agents_csv(agent_figures(PeriodRecords.read(store, start, end)), out)
            return out.getvalue()

        return _csv(await self.console.writer.read(write), f"heard-agents-{stamp}.csv")

    async def trend(self, request: web.Request) -> web.Response:
        stamp, start, end, tz = await self._period(request)

        def write(store: Store) -> str:
            out = io.StringIO()
            write_trend_csv(trend(PeriodRecords.read(store, start, end)), out, tz.key)
            return out.getvalue()

        return _csv(await self.console.writer.read(write), f"heard-trend-{stamp}.csv")


def _csv(body: str, name: str) -> web.Response:
    return web.Response(text=body, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
