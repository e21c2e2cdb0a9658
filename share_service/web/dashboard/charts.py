"""Server-side SVG charts for the dashboard (no JavaScript, nothing from a CDN).

Plain functions returning SVG markup (every text escaped). Colours come from CSS classes
(``series-0`` ... ``series-7``, ``axis``, ``grid``) defined in the dashboard stylesheet for light
and dark mode, so a chart stays readable in both. Each chart has a ``<title>`` and ``<desc>`` and
is ``role="img"``; the dashboard puts a data table next to each one as the text alternative.
"""

from __future__ import annotations

import math
from html import escape

PALETTE = 8


def nice_max(value: float) -> float:
    """A round upper bound for the y axis (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _fmt(v: float) -> str:
    return f"{int(v):,}".replace(",", "\u202f") if float(v).is_integer() else f"{v:.1f}"


def line_chart(labels: list[str], series: list[tuple[str, list[float]]], title: str,
               desc: str = "", width: int = 760, height: int = 260, chart_id: str = "chart") -> str:
    """A line chart of one or more series sharing the x labels. ``series``: [(name, values)]."""
    left, right, top, bottom = 48, 12, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((max(vals) for _, vals in series if vals), default=0)
    ymax = nice_max(peak)
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / ymax

    out = [
        f'<svg class="chart line-chart" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>',
    ]
    for k in range(5):  # horizontal grid and y ticks
        v = ymax * k / 4
        yy = y(v)
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}"/>')
        out.append(f'<text class="axis" x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
    step = max(1, math.ceil(n / 8))
    for i in range(0, n, step):  # sparse x labels
        out.append(f'<text class="axis" x="{x(i):.1f}" y="{height - bottom + 18}" '
                   f'text-anchor="middle">{escape(labels[i])}</text>')
    out.append(f'<line class="axis-line" x1="{left}" x2="{width - right}" '
               f'y1="{top + plot_h}" y2="{top + plot_h}"/>')
    for idx, (name, vals) in enumerate(series):
        if not vals:
            continue
        cls = f"series-{idx % PALETTE}"
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vals))
        out.append(f'<g class="{cls}" data-series="{escape(name)}">')
        out.append(f'<polyline fill="none" stroke-width="{2.5 if idx == 0 else 1.5}" points="{points}"/>')
        if len(vals) <= 62:
            for i, v in enumerate(vals):
                out.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5">'
                           f'<title>{escape(labels[i])} · {escape(name)}: {_fmt(v)}</title></circle>')
        out.append("</g>")
    # legend
    lx = left
    for idx, (name, _vals) in enumerate(series):
        cls = f"series-{idx % PALETTE}"
        out.append(f'<g class="{cls} legend"><rect x="{lx}" y="{height - 14}" width="10" height="10"/>'
                   f'<text class="axis" x="{lx + 14}" y="{height - 5}">{escape(name)}</text></g>')
        lx += 22 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)


def bar_chart(items: list[tuple[str, float]], title: str, desc: str = "", width: int = 420,
              chart_id: str = "bars", offset: int = 0) -> str:
    """Horizontal bars, one per (label, value), largest first as given. ``offset`` shifts the
    colours (1: the networks keep the colours they have in the line chart after "total")."""
    row, left, right = 26, 110, 60
    height = max(row * len(items) + 10, 40)
    peak = max((v for _, v in items), default=0) or 1
    out = [
        f'<svg class="chart bar-chart" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>',
    ]
    for i, (label, v) in enumerate(items):
        yy = 5 + i * row
        w = (width - left - right) * v / peak
        out.append(f'<g class="series-{(i + offset) % PALETTE}" data-label="{escape(label)}">'
                   f'<text class="axis" x="{left - 8}" y="{yy + 15}" text-anchor="end">{escape(label)}</text>'
                   f'<rect x="{left}" y="{yy + 3}" width="{max(w, 1):.1f}" height="{row - 8}" rx="2"/>'
                   f'<text class="axis" x="{left + w + 6:.1f}" y="{yy + 15}">{_fmt(v)}</text></g>')
    if not items:
        out.append(f'<text class="axis" x="{width / 2}" y="25" text-anchor="middle">—</text>')
    out.append("</svg>")
    return "".join(out)
