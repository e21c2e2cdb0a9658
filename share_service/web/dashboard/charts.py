"""Server-side SVG charts for the dashboard (no JavaScript, nothing from a CDN).

Plain functions returning SVG markup (every text escaped). Colours come from CSS classes, so a
chart stays readable in light and dark mode: a network is drawn in its brand colour from the
registry (``net-<id>``, rules made by :func:`network_css`, each colour adjusted until it reaches
3:1 against the card it is drawn on, WCAG 1.4.11); totals, clickbacks and channels use the
palette classes ``series-0`` ... ``series-7`` of the dashboard stylesheet. Counts get whole-number
ticks. Each chart has a ``<title>`` and ``<desc>`` and is ``role="img"``; the dashboard puts a
data table next to each one as the text alternative.
"""

from __future__ import annotations

import math
from functools import cache
from html import escape

from ...sharing import colours, networks

PALETTE = 8
# The dashboard cards charts are drawn on (dashboard.css: --card, light and dark).
LIGHT_CARD = "#ffffff"
DARK_CARD = "#1b2027"


def net_class(net_id: str) -> str | None:
    """The CSS class drawing a network in its brand colour (None: not a network)."""
    return f"net-{net_id}" if networks.get(net_id) is not None else None


@cache
def network_css() -> str:
    """One rule per registry network: its brand colour, made readable on the light and the dark
    card (3:1 at least)."""
    light, dark = [], []
    for net in networks.all_networks():
        for rules, card in ((light, LIGHT_CARD), (dark, DARK_CARD)):
            colour = colours.readable_on(net.color, card, 3.0)
            rules.append(f".net-{net.id}{{stroke:{colour};fill:{colour}}}")
    return ("\n".join(light) + "\n@media (prefers-color-scheme: dark){\n"
            + "\n".join(dark) + "\n}\n")


def ticks(peak: float, most: int = 5) -> list[int]:
    """Whole-number ticks from 0 covering ``peak``: at most ``most`` of them, steps of 1, 2 or 5
    times a power of ten (a count is never 2.5)."""
    peak = max(math.ceil(peak), 1)
    step = 1
    while math.ceil(peak / step) > most - 1:
        exp = 10 ** math.floor(math.log10(step))
        step = {1: 2, 2: 5, 5: 10}[step // exp] * exp
    return list(range(0, step * math.ceil(peak / step) + 1, step))


def _fmt(v: float) -> str:
    return f"{int(v):,}".replace(",", "\u202f") if float(v).is_integer() else f"{v:.1f}"


def _css(index: int, css: str | None) -> str:
    return css or f"series-{index % PALETTE}"


def line_chart(labels: list[str], series: list[tuple], title: str,
               desc: str = "", width: int = 760, height: int = 260, chart_id: str = "chart") -> str:
    """A line chart of one or more series of counts sharing the x labels. ``series``:
    [(name, values)] or [(name, values, css class)] (:func:`net_class` for a network)."""
    left, right, top, bottom = 48, 12, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    series = [(s[0], s[1], s[2] if len(s) > 2 else None) for s in series]
    peak = max((max(vals) for _, vals, _css_ in series if vals), default=0)
    y_ticks = ticks(peak)
    ymax = y_ticks[-1]
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
    for v in y_ticks:  # horizontal grid and whole-number y ticks
        yy = y(v)
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}"/>')
        out.append(f'<text class="axis" x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
    step = max(1, math.ceil(n / 8))
    for i in range(0, n, step):  # sparse x labels
        out.append(f'<text class="axis" x="{x(i):.1f}" y="{height - bottom + 18}" '
                   f'text-anchor="middle">{escape(labels[i])}</text>')
    out.append(f'<line class="axis-line" x1="{left}" x2="{width - right}" '
               f'y1="{top + plot_h}" y2="{top + plot_h}"/>')
    for idx, (name, vals, css) in enumerate(series):
        if not vals:
            continue
        cls = _css(idx, css)
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
    for idx, (name, _vals, css) in enumerate(series):
        cls = _css(idx, css)
        out.append(f'<g class="{cls} legend"><rect x="{lx}" y="{height - 14}" width="10" height="10"/>'
                   f'<text class="axis" x="{lx + 14}" y="{height - 5}">{escape(name)}</text></g>')
        lx += 22 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)


def bar_chart(items: list[tuple], title: str, desc: str = "", width: int = 420,
              chart_id: str = "bars") -> str:
    """Horizontal bars, one per (label, value) or (label, value, css class), largest first as
    given."""
    row, left, right = 26, 110, 60
    height = max(row * len(items) + 10, 40)
    peak = max((item[1] for item in items), default=0) or 1
    out = [
        f'<svg class="chart bar-chart" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>',
    ]
    for i, item in enumerate(items):
        label, v = item[0], item[1]
        yy = 5 + i * row
        w = (width - left - right) * v / peak
        out.append(f'<g class="{_css(i, item[2] if len(item) > 2 else None)}" '
                   f'data-label="{escape(label)}">'
                   f'<text class="axis" x="{left - 8}" y="{yy + 15}" text-anchor="end">{escape(label)}</text>'
                   f'<rect x="{left}" y="{yy + 3}" width="{max(w, 1):.1f}" height="{row - 8}" rx="2"/>'
                   f'<text class="axis" x="{left + w + 6:.1f}" y="{yy + 15}">{_fmt(v)}</text></g>')
    if not items:
        out.append(f'<text class="axis" x="{width / 2}" y="25" text-anchor="middle">—</text>')
    out.append("</svg>")
    return "".join(out)
