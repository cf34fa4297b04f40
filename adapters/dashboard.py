"""The admins' dashboard: the report's figures as cards and SVG charts (escaped HTML)."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from bot.agent_report import AgentFigures, Bucket, PeriodRecords, agent_figures, trend, trend_step
from bot.charts import bars, columns
from bot.reports import Report, build_report
from dialogs.console_words import console_names
from dialogs.model import Dialog
from storage.store import Store

Names = dict[str, dict[str, str]]     # part ("categories", "labels", …) -> key -> name


def _card(label: str, value: Any, percent: bool = False) -> str:
    if value is None:
        shown = "-"
    elif percent:
        shown = f"{value:.0%}"
    else:
        shown = str(value)
    return (f'<div class="card"><span>{html.escape(label)}</span>'
            f'<strong>{html.escape(shown)}</strong></div>')


def dashboard_html(report: Report, figures: list[AgentFigures] | None = None,
                   buckets: list[Bucket] | None = None, step: str = "day",
                   query: str = "", names: Names | None = None) -> str:
    """The figures and charts; categories, severities, channels, labels and signals by
    their names in the console's language where `names` has them (keys otherwise)."""
    def named(part: str, pairs: Any) -> list[tuple[str, Any]]:
        found = (names or {}).get(part, {})
        return [(found.get(key) or key, n) for key, n in pairs]

    cards = "".join([
        _card("案件 Cases", report.cases),
        _card("轉專人 Escalation rate", report.escalation_rate, True),
        _card("解決率 Resolution rate", report.resolution_rate, True),
        _card("二次客訴 Secondary complaints", report.secondary_rate, True),
        _card("承諾達成 Commitments kept", report.fulfilment_rate, True),
        _card("CSAT 平均 average", report.csat_average),
        _card("回訪回覆率 Follow-up answers", report.followup_answer_rate, True),
        _card("首次回覆中位數 First response median (min)", report.first_response_median_min),
        _card("首次回覆 p90 (min)", report.first_response_p90_min),
        _card("時限內回覆 Within target", report.first_response_within_target, True),
    ])
    rates = [(label, value) for label, value in (
        ("resolution", report.resolution_rate), ("escalation", report.escalation_rate),
        ("secondary", report.secondary_rate), ("commitments kept", report.fulfilment_rate),
        ("follow-up answered", report.followup_answer_rate),
        ("first response in target", report.first_response_within_target))
        if value is not None]
    charts = "".join([
        bars("依分類 By category", named("categories", report.by_category.items())),
        bars("依嚴重度 By severity", named("severities", report.by_severity.items())),
        bars("依管道 By channel", named("channels", report.by_channel.items())),
        bars("依標籤 By label", named("labels", list(report.by_label.items())[:12])),
        bars("轉專人的主要訊號 Top escalation signals", named("signals", report.top_signals)),
        bars("滿意度分布 CSAT", [(f"{n} ★", report.csat.get(n, 0)) for n in range(1, 6)]),
        bars("比率 Rates", rates, percent=True),
    ])
    return (f'<section class="cards">{cards}</section><section class="charts">{charts}</section>'
            + agents_html(figures or [], query) + trend_html(buckets or [], step, query))


def _cell(value: Any) -> str:
    if value is None:
        shown = "-"
    elif isinstance(value, float):
        shown = f"{value:g}"
    else:
        shown = str(value)
    return f"<td>{html.escape(shown)}</td>"


def dashboard_content(store: Store, start: datetime, end: datetime, query: str,
                      dialog: Dialog | None = None) -> str:
    """Everything the dashboard shows for [start, end), read in one go."""
    records = PeriodRecords.read(store, start, end)
    return dashboard_html(build_report(store, start, end), agent_figures(records),
                          trend(records), trend_step(start, end), query,
                          dashboard_names(dialog) if dialog else None)


def dashboard_names(dialog: Dialog) -> Names:
    found = console_names(dialog)
    locale = found["locale"]
    return {**{part: found[part] for part in ("categories", "severities", "signals")},
            "labels": {lid: label.name.get(locale) for lid, label in dialog.labels.items()}}


def agents_html(figures: list[AgentFigures], query: str) -> str:
    """The per-agent table (and a chart of cases handled), with its CSV download."""
    head = "".join(f"<th>{html.escape(t)}</th>" for t in (
        "客服 Agent", "處理案件 Cases handled", "首次回覆中位數 First reply median (min)",
        "解決 Resolved", "解決時間中位數 Resolution median (min)", "CSAT 平均 average",
        "評分數 Ratings"))
    rows = "".join(
        "<tr>" + "".join(_cell(v) for v in (f.agent, f.cases, f.first_response_median_min,
                                           f.resolved, f.resolution_median_min,
                                           f.csat_average, f.csat_count)) + "</tr>"
        for f in figures) or '<tr><td colspan="7">這段期間沒有人處理案件 · Nobody handled a case</td></tr>'
    chart = bars("每位客服處理的案件 Cases per agent", [(f.agent, f.cases) for f in figures])
    return (f'<section class="report" id="per-agent"><h2>每位客服 Per agent</h2>'
            f'<a href="/console/dashboard/agents.csv?{html.escape(query)}" download>'
            f'下載 CSV Download</a><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>'
            f'</table><div class="charts">{chart}</div></section>')


def trend_html(buckets: list[Bucket], step: str, query: str) -> str:
    """Cases, first-reply median and CSAT per day (or week) as column charts."""
    word = "每日 per day" if step == "day" else "每週 per week"
    charts = "".join([
        columns(f"案件 Cases ({word})", [(b.label, b.cases) for b in buckets]),
        columns(f"首次回覆中位數 First reply median ({word})",
                [(b.label, b.first_response_median_min) for b in buckets], unit=" min"),
        columns(f"CSAT 平均 average ({word})", [(b.label, b.csat_average) for b in buckets]),
    ])
    return (f'<section class="report" id="trend"><h2>趨勢 Trend</h2>'
            f'<a href="/console/dashboard/trend.csv?{html.escape(query)}" download>'
            f'下載 CSV Download</a><div class="charts">{charts}</div></section>')
