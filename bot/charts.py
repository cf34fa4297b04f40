"""Small SVG charts drawn by Heard (no chart library, no CDN). Every label is escaped."""

from __future__ import annotations

from html import escape

BAR = 22
GAP = 8
LABEL_WIDTH = 180
COLOURS = ("#1f883d", "#0969da", "#9a6700", "#a40e26", "#8250df", "#57606a", "#bf3989")


def bars(title: str, items: list[tuple[str, float]], *, width: int = 520,
         percent: bool = False) -> str:
    """A horizontal bar chart: one bar per (label, value)."""
    if not items:
        return (f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
                '<p class="muted">-</p></figure>')
    top = max((v for _, v in items), default=0) or 1
    if percent:
        top = 1.0
    plot = width - LABEL_WIDTH - 70
    height = len(items) * (BAR + GAP) + GAP
    parts = [f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value) in enumerate(items):
        y = GAP + i * (BAR + GAP)
        length = max(1.0, plot * (value / top)) if value else 0
        shown = f"{value:.0%}" if percent else (f"{value:g}")
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR * 0.7:.1f}" text-anchor="end" '
            f'font-size="13">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR}" rx="3" '
            f'fill="{COLOURS[i % len(COLOURS)]}"><title>{escape(label)}: {escape(shown)}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + BAR * 0.7:.1f}" font-size="13">'
            f'{escape(shown)}</text>')
    parts.append("</svg>")
    return (f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
            f'{"".join(parts)}</figure>')


def columns(title: str, items: list[tuple[str, float | None]], *, width: int = 640,
            height: int = 180, unit: str = "") -> str:
    """A column chart over time: one column per (label, value); None is a gap, not a zero.
    With many columns only some labels are written (every column keeps its tooltip)."""
    shown = [v for _, v in items if v is not None]
    if not shown:
        return (f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
                '<p class="muted">-</p></figure>')
    top = max(shown) or 1
    plot_h, base = height - 40, height - 22
    step = (width - 20) / len(items)
    every = max(1, round(len(items) / 10))
    parts = [f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg">',
             f'<line x1="10" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#8c959f"/>']
    for i, (label, value) in enumerate(items):
        x = 10 + i * step
        tip = f"{label}: {'-' if value is None else f'{value:g}{unit}'}"
        if value is not None:
            h = max(1.0, plot_h * value / top) if value else 0
            parts.append(f'<rect x="{x + step * 0.15:.1f}" y="{base - h:.1f}" '
                         f'width="{step * 0.7:.1f}" height="{h:.1f}" fill="{COLOURS[1]}">'
                         f'<title>{escape(tip)}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - 6}" font-size="11" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append(f'<text x="12" y="12" font-size="11">{escape(f"{top:g}{unit}")}</text></svg>')
    return (f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
            f'{"".join(parts)}</figure>')
