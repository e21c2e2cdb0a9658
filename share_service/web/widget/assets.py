"""The widget's two served files, built from the single sources (no Flask here).

``static/widget.js`` and ``static/widget.css`` are readable source files with one marker each:

* ``/*@CONFIG@*/null`` in widget.js is replaced by compact JSON: the networks the configured sites
  offer (name, popup size, localized names; their icon paths last), the reader message
  table (i18n.MESSAGES), each site's hosts / networks / language / UTM rules, the tracking
  parameters stripped from page URLs (urls.TRACKING_PARAMS).
* ``/*@NETWORKS@*/`` in widget.css is replaced by one rule per network holding its colours as CSS
  variables: the brand colour, the text colour readable on it (black or white, whichever
  contrasts more) and, where the brand colour falls short, icon colours adjusted to reach 3:1
  against the light and the dark theme backgrounds (WCAG 1.4.11), so brand colours never break
  contrast.

Serve-time transformations only (the files on disk stay the readable source; no build step):

* comments and whitespace go (rjsmin / rcssmin: whitespace and comments only, no renaming);
* icon paths are served simplified within 0.05 unit of the 24-unit icon, in whole numbers on a
  0.1-unit grid (:func:`compact_path`): the registry keeps the exact Simple Icons paths, the
  widget gets less than half their bytes, which Chromium draws alike (a browser test compares
  every icon, exact and compact, pixel by pixel at 48 and 40 px);
* the gzip representation is made once per process with Zopfli (gzip-compatible, ~5 % smaller
  than ``gzip -9``).

Only the networks of the configured sites are injected (the widget offers a site's networks,
or fewer). The budget, 8 KB gzipped for both files, holds for a site offering every network.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import rcssmin
import rjsmin
import zopfli.gzip

from ...sharing import i18n, networks, urls
from ...sharing.colours import readable_on, text_on

STATIC = Path(__file__).resolve().parents[2] / "static"
JS_MARKER = "/*@CONFIG@*/null"
CSS_MARKER = "/*@NETWORKS@*/"
BUDGET_GZIP_BYTES = 8 * 1024

# Theme backgrounds the widget.css themes use (keep in sync with --bg in widget.css).
LIGHT_BG = "#ffffff"
DARK_BG = "#16181d"


@dataclass(frozen=True)
class Asset:
    """One served file: its bytes, their gzip form and strong ETags for each representation."""

    body: bytes
    gzipped: bytes
    etag: str  # without quotes; the gzip representation uses etag + "-gz"
    mimetype: str


# The message keys the widget uses (the table may hold more, for server-rendered pages).
WIDGET_MESSAGES = (
    "share_bar", "share_on", "share_email", "new_window", "copy", "copied", "copy_failed",
    "link_label", "qr", "qr_title", "qr_alt", "native", "more", "close", "shares", "counts_note",
)


def widget_messages(lang: str) -> dict[str, str]:
    """The widget's messages in one language of the one table (i18n.MESSAGES)."""
    table = i18n.messages(lang)
    return {key: table.get(key) or i18n.MESSAGES["en"][key] for key in WIDGET_MESSAGES}

# --- icon paths on a 0.1 grid ---------------------------------------------------------------------
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARITY = {"m": 2, "l": 2, "h": 1, "v": 1, "c": 6, "s": 4, "q": 4, "t": 2, "a": 7, "z": 0}


def _absolute_segments(d: str) -> list[tuple[str, list[float]]]:
    """SVG path data as absolute segments ``(command, numbers)``: H/V become L, implicit
    repeats are split, relative coordinates resolved; Z is ``("Z", [])``."""
    out: list[tuple[str, list[float]]] = []
    nums: list[float] = []
    cmd = ""
    i = 0
    x = y = start_x = start_y = 0.0
    while i < len(d):
        ch = d[i]
        if ch in " ,\t\r\n":
            i += 1
            continue
        if ch.isalpha():
            if nums or ch.lower() not in _ARITY:
                raise ValueError(f"path data: unexpected {ch!r} at {i}")
            cmd, i = ch, i + 1
            if cmd in "zZ":
                out.append(("Z", []))
                x, y = start_x, start_y
            continue
        if not cmd or cmd in "zZ":
            raise ValueError(f"path data: number without a command at {i}")
        if cmd in "aA" and len(nums) in (3, 4):  # an arc's two flags: one character each
            nums.append(float(ch))
            i += 1
        else:
            match = _NUMBER.match(d, i)
            if not match:
                raise ValueError(f"path data: unexpected {ch!r} at {i}")
            nums.append(float(match.group()))
            i = match.end()
        if len(nums) < _ARITY[cmd.lower()]:
            continue
        up, dx, dy = cmd.upper(), (x if cmd.islower() else 0.0), (y if cmd.islower() else 0.0)
        if up == "H":
            up, pts = "L", [nums[0] + dx, y]
        elif up == "V":
            up, pts = "L", [x, nums[0] + dy]
        elif up == "A":  # radii, rotation and flags are not coordinates
            pts = nums[:5] + [nums[5] + dx, nums[6] + dy]
        else:
            pts = [v + (dx if k % 2 == 0 else dy) for k, v in enumerate(nums)]
        out.append((up, pts))
        x, y = pts[-2], pts[-1]
        if up == "M":
            start_x, start_y = x, y
            cmd = "l" if cmd == "m" else "L"  # pairs after a moveto are linetos
        nums = []
    if nums:
        raise ValueError(f"path data: incomplete {cmd!r} segment")
    return out


# Network icons are served on a grid of 1/ICON_SCALE unit, as whole numbers in a viewBox of
# 0 0 ICON_BOX ICON_BOX (no decimal points to send); widget.js reads ICON_BOX from its config.
ICON_SCALE = 10
ICON_BOX = 24 * ICON_SCALE


def _grid(value: float) -> int:
    return math.floor(value * ICON_SCALE + 0.5)


# How far a simplified curve may stray from the exact one, in icon units: half a grid step, as
# much as the rounding itself moves a point. A cubic becomes a quadratic (4 numbers instead of
# 6), a curve or a small arc becomes a line, when they stay this close.
QUADRATIC_TOLERANCE = 0.05


def _flat(x: float, y: float, pts: list[float]) -> bool:
    """Whether a curve from (x, y) through control points ``pts[:-2]`` to ``pts[-2:]`` stays
    within QUADRATIC_TOLERANCE of its chord: it lies inside the hull of its points, so it does
    when every control point does (measured to the chord's segment)."""
    ex, ey = pts[-2], pts[-1]
    length = (ex - x) ** 2 + (ey - y) ** 2
    for cx, cy in zip(pts[:-2:2], pts[1:-2:2], strict=True):
        t = max(0.0, min(1.0, ((cx - x) * (ex - x) + (cy - y) * (ey - y)) / length)) if length else 0.0
        if math.hypot(cx - x - t * (ex - x), cy - y - t * (ey - y)) > QUADRATIC_TOLERANCE:
            return False
    return True


def _quadratic_where_close(segments: list[tuple[str, list[float]]]) -> list[tuple[str, list[float]]]:
    """S becomes C (its mirrored control point made explicit), T becomes Q, then every cubic
    that a quadratic follows within QUADRATIC_TOLERANCE becomes that quadratic: control point
    (3 (P1 + P2) - P0 - P3) / 4, off by at most sqrt(3)/36 |P3 - 3 P2 + 3 P1 - P0| (the bound
    fontTools' cu2qu uses); a small arc that strays no further from its chord becomes a line
    (and one that ends where it starts, which draws nothing, a zero-length line, dropped)."""
    out: list[tuple[str, list[float]]] = []
    x = y = sx = sy = 0.0
    mirror = None  # (kind, control point) an S or T would reflect
    for up, pts in segments:
        if up == "Z":
            out.append((up, pts))
            x, y, mirror = sx, sy, None
            continue
        if up == "S":
            c1 = (2 * x - mirror[1][0], 2 * y - mirror[1][1]) if mirror and mirror[0] == "C" else (x, y)
            up, pts = "C", [*c1, *pts]
        elif up == "T":
            c = (2 * x - mirror[1][0], 2 * y - mirror[1][1]) if mirror and mirror[0] == "Q" else (x, y)
            up, pts = "Q", [*c, *pts]
        if up == "A":  # an arc that bulges less than the tolerance from its chord is that chord
            chord = math.hypot(pts[5] - x, pts[6] - y)
            radius = max(pts[0], pts[1], chord / 2)
            bulge = radius - math.sqrt(max(0.0, radius * radius - chord * chord / 4))
            if not pts[3] and bulge <= QUADRATIC_TOLERANCE:
                up, pts = "L", pts[5:]
        mirror = ("C", tuple(pts[2:4])) if up == "C" else ("Q", tuple(pts[:2])) if up == "Q" else None
        if up in "CQ" and _flat(x, y, pts):  # a curve that hardly bends: its chord
            up, pts = "L", pts[-2:]
        if up == "C":
            (x1, y1, x2, y2, x3, y3) = pts
            far = math.hypot(x3 - 3 * x2 + 3 * x1 - x, y3 - 3 * y2 + 3 * y1 - y) * math.sqrt(3) / 36
            if far <= QUADRATIC_TOLERANCE:
                pts = [(3 * (x1 + x2) - x - x3) / 4, (3 * (y1 + y2) - y - y3) / 4, x3, y3]
                up = "Q"
                # the next S still mirrors the cubic's own second control point: make it a C
                mirror = ("C", (x2, y2))
        out.append((up, pts))
        x, y = (pts[5], pts[6]) if up == "A" else (pts[-2], pts[-1])
        if up == "M":
            sx, sy = x, y
    return out


@lru_cache(maxsize=64)
def compact_path(d: str) -> str:
    """``d`` (24-unit icon) redrawn in whole numbers on a 0 0 ICON_BOX ICON_BOX viewBox: every
    point on a 0.1-unit grid (0.4 % of the icon), written short.

    First the curves that allow it are simplified within QUADRATIC_TOLERANCE
    (:func:`_quadratic_where_close`). Then each point is rounded in *absolute* coordinates and
    relative values are written as the difference of two rounded points, so rounding never
    accumulates along a path (at most 0.05 units off anywhere). Each segment is written relative
    or absolute, whichever is shorter; a repeated command letter is left out; a curve whose
    first control point is the mirror of the previous one becomes S / T; lines going on in the
    same direction become one; a line that rounds to nothing is dropped (the icons are filled,
    never stroked). Arc radii keep at least one step so that an arc stays one; arc rotations are
    angles, rounded to whole degrees.
    """
    out: list[str] = []
    last_cmd = last_num = ""
    cx = cy = sx = sy = 0  # current point and subpath start, on the grid (already rounded)
    mirror = None  # (kind, control point) the next S or T would reflect
    run = None  # the line just written: its start, direction and the writing state before it

    def spell(letter: str, values: list) -> tuple[str, str, str]:
        implicit = letter == last_cmd or (letter, last_cmd) in (("L", "M"), ("l", "m"))
        text, prev = ("", last_num) if implicit else (letter, "")
        for k, value in enumerate(values):
            word = str(value)
            # a separator unless a minus sign follows; the arc's sweep flag follows its large-arc
            # flag directly (one character each)
            if prev and word[0] != "-" and not (letter in "Aa" and k == 4):
                text += " "
            text += word
            prev = word
        return text, letter, prev

    segments = _quadratic_where_close(_absolute_segments(d))
    for n, (up, pts) in enumerate(segments):
        if up == "Z":
            out.append("z")
            last_cmd, last_num, mirror, run = "z", "", None, None
            cx, cy = sx, sy
            continue
        if up != "L":
            run = None
        following = segments[n + 1][0] if n + 1 < len(segments) else ""
        if up == "A":
            rx, ry, rotation, large, sweep, x, y = pts
            head = [max(1, _grid(rx)) if rx else 0, max(1, _grid(ry)) if ry else 0,
                    round(rotation), int(large), int(sweep)]
            gx, gy = _grid(x), _grid(y)
            forms = [("a", [*head, gx - cx, gy - cy]), ("A", [*head, gx, gy])]
            control = None
        else:
            grid = [_grid(v) for v in pts]
            gx, gy = grid[-2], grid[-1]
            # the control point an S / T after this segment mirrors (absolute, on the grid)
            control = (up in "CS" and ("C", tuple(grid[-4:-2]))) or (up == "Q" and ("Q", tuple(grid[:2])))
            if up == "T":
                implied = (2 * cx - mirror[1][0], 2 * cy - mirror[1][1]) if mirror and mirror[0] == "Q" else (cx, cy)
                control = ("Q", implied)
            if up in "CQ" and mirror and mirror[0] == up and \
                    tuple(grid[:2]) == (2 * cx - mirror[1][0], 2 * cy - mirror[1][1]):
                up, grid = ("S", grid[2:]) if up == "C" else ("T", grid[2:])
            if up == "L" and (gx, gy) == (cx, cy) and following not in ("S", "T"):
                continue  # (kept before S / T, whose implied control point depends on it)
            if up == "L" and run and (gx - cx) * run[3] == (gy - cy) * run[2] and (
                    (gx - cx) * run[2] + (gy - cy) * run[3] > 0):
                # the same straight line as the previous segment, going on: one segment
                out.pop()
                cx, cy, last_cmd, last_num = run[0], run[1], run[4], run[5]
            if up == "L":
                run = (cx, cy, gx - cx, gy - cy, last_cmd, last_num)
            if up == "L" and gx == cx:
                forms = [("v", [gy - cy]), ("V", [gy])]
            elif up == "L" and gy == cy:
                forms = [("h", [gx - cx]), ("H", [gx])]
            else:
                rel = [v - (cx if k % 2 == 0 else cy) for k, v in enumerate(grid)]
                forms = [(up.lower(), rel), (up, grid)]
        text, last_cmd, last_num = min((spell(*form) for form in forms), key=lambda f: len(f[0]))
        out.append(text)
        mirror = control or None
        cx, cy = gx, gy
        if up == "M":
            sx, sy = gx, gy
    return "".join(out)


def offered_networks(settings: dict) -> list[networks.Network]:
    """The registry networks offered by at least one configured site, in registry order."""
    wanted = {n for site in settings["SITES"].values() for n in site.networks}
    return [n for n in networks.all_networks() if n.id in wanted]


def widget_config(settings: dict) -> dict:
    """The data injected into widget.js: everything it needs, from the single sources."""
    sites = list(settings["SITES"].values())
    default = settings["DEFAULT_SITE"]
    sites.sort(key=lambda s: s.id != default)  # the default site first
    nets = {}
    icons = {}  # apart from the rest: similar paths side by side compress better
    aliases = {}
    for net in offered_networks(settings):
        # [name, popup width, popup height(, the localized names that differ from the name)]
        entry = [net.name, *net.popup]
        labels = {lang: label for lang, label in net.labels.items() if label != net.name}
        if labels:
            entry.append(labels)
        nets[net.id] = entry
        icons[net.id] = compact_path(net.icon)
        for alias in net.aliases:
            aliases[alias] = net.id
    return {
        "nets": nets,
        "alias": aliases,
        # Every network id and channel: a clickback's utm_source may name any of them.
        "sources": [n.id for n in networks.all_networks()] + list(networks.CHANNELS),
        # Every language the table has; the messages of the sites' own languages ride inline,
        # any other is fetched once by the widget from /widget/messages.json?lang=xx.
        "langs": list(i18n.LANGUAGES),
        "msg": {lang: widget_messages(lang) for lang in dict.fromkeys(s.lang for s in sites)},
        "sites": [
            {
                "hosts": list(s.allowed_hosts),
                "nets": list(s.networks),
                "lang": s.lang,
                # « Plus de contenu » items when the page does not say
                "more": min(s.more, int(settings["RECOMMEND_MAX_LIMIT"])),
                "utm": (
                    {"source": s.utm.source, "medium": s.utm.medium, "campaign": s.utm.campaign}
                    if s.utm.enabled
                    else None
                ),
            }
            for s in sites
        ],
        "tracking": sorted(urls.TRACKING_PARAMS),
        "moreMax": int(settings["RECOMMEND_MAX_LIMIT"]),  # the recommendations API's limit
        "iconBox": ICON_BOX,  # the icons' viewBox is 0 0 iconBox iconBox (see compact_path)
        "icons": icons,  # last: after the code and the words, the paths compress better
    }


def network_css(settings: dict) -> str:
    """One rule per offered network with its colour variables (see the module docstring)."""
    rules = []
    for net in offered_networks(settings):
        colour = net.color.lower()
        # the label colour only where it is black, the icon colours only where they differ from
        # the brand colour: widget.css falls back to white and to --b
        rule = f".n-{net.id}{{--b:{colour}" + (";--bt:#000" if text_on(colour) == "#000000" else "")
        for var, background in (("--il", LIGHT_BG), ("--id", DARK_BG)):
            if (adjusted := readable_on(colour, background)) != colour:
                rule += f";{var}:{adjusted}"
        rules.append(rule + "}")
    return "\n".join(rules)


def _asset(text: str, mimetype: str) -> Asset:
    body = text.encode("utf-8")
    # Zopfli: a gzip stream any client inflates, ~5 % smaller than gzip -9, made once per
    # process (~0.2 s). No timestamp: the same bytes give the same stream (stable ETags).
    gzipped = zopfli.gzip.compress(body)
    return Asset(body, gzipped, hashlib.sha256(body).hexdigest()[:24], mimetype)


_JS_SLOT = "__SSW_CONFIG__"  # stands for the marker while the source is minified


def build_js(settings: dict) -> Asset:
    source = (STATIC / "widget.js").read_text(encoding="utf-8")
    if JS_MARKER not in source:
        raise RuntimeError("widget.js lost its /*@CONFIG@*/null marker")
    config = json.dumps(widget_config(settings), ensure_ascii=False, separators=(",", ":"))
    # Keep the JSON inert inside a script: no "</script" or HTML comment openers can appear.
    config = config.replace("<", "\\u003c")
    # rjsmin drops comments and whitespace only (strings, regular expressions and the newlines
    # automatic semicolon insertion needs are kept); names are never changed.
    script = rjsmin.jsmin(source.replace(JS_MARKER, _JS_SLOT, 1))
    return _asset(script.replace(_JS_SLOT, config, 1) + "\n", "text/javascript; charset=utf-8")


def build_css(settings: dict) -> Asset:
    source = (STATIC / "widget.css").read_text(encoding="utf-8")
    if CSS_MARKER not in source:
        raise RuntimeError("widget.css lost its /*@NETWORKS@*/ marker")
    source = source.replace(CSS_MARKER, network_css(settings), 1)
    return _asset(rcssmin.cssmin(source) + "\n", "text/css; charset=utf-8")


def gzipped_size(settings: dict) -> int:
    """Bytes of widget.js + widget.css as served gzipped: the figure held to the 8 KB budget."""
    return len(build_js(settings).gzipped) + len(build_css(settings).gzipped)
