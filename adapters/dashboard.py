"""The admins' dashboard: the report's figures as cards and SVG charts (escaped HTML)."""

from __future__ import annotations

import html
from typing import Any

from bot.charts import bars
from bot.reports import Report


def _card(label: str, value: Any, percent: bool = False) -> str:
    if value is None:
        shown = "-"
    elif percent:
        shown = f"{value:.0%}"
    else:
        shown = str(value)
    return (f'<div class="card"><span>{html.escape(label)}</span>'
            f'<strong>{html.escape(shown)}</strong></div>')


def dashboard_html(report: Report) -> str:
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
        bars("依分類 By category", list(report.by_category.items())),
        bars("依嚴重度 By severity", list(report.by_severity.items())),
        bars("依管道 By channel", list(report.by_channel.items())),
        bars("依標籤 By label", [(k, n) for k, n in list(report.by_label.items())[:12]]),
        bars("轉專人的主要訊號 Top escalation signals", list(report.top_signals)),
        bars("滿意度分布 CSAT", [(f"{n} ★", report.csat.get(n, 0)) for n in range(1, 6)]),
        bars("比率 Rates", rates, percent=True),
    ])
    return f'<section class="cards">{cards}</section><section class="charts">{charts}</section>'
