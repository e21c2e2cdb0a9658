"""The widget's two served files, built from the single sources (no Flask here).

``static/widget.js`` and ``static/widget.css`` are readable source files with one marker each:

* ``/*@CONFIG@*/null`` in widget.js is replaced by compact JSON: the networks the configured sites
  offer (name, localized labels, popup size, icon path from the registry), the reader message
  table (i18n.MESSAGES), each site's hosts / networks / language / UTM rules, the tracking
  parameters stripped from page URLs (urls.TRACKING_PARAMS) and the Mastodon instance rule.
* ``/*@NETWORKS@*/`` in widget.css is replaced by one rule per network holding its colours as CSS
  variables: the brand colour, the text colour readable on it (black or white, whichever
  contrasts more) and icon colours adjusted to reach 3:1 against the light and the dark theme
  backgrounds (WCAG 1.4.11), so brand colours never break contrast.

Comments and indentation are stripped when serving (:func:`strip_comments`); the files on disk
stay the readable source. Nothing else is rewritten: no renaming, no minifier, no build step.

Only the networks of the configured sites are injected (the widget offers a site's networks,
or fewer): the icons are the bulk of the bytes and the budget is 8 KB gzipped for both files.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import i18n, networks, urls

STATIC = Path(__file__).parent / "static"
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


def _luminance(hex_colour: str) -> float:
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:  # #fff
        digits = "".join(c * 2 for c in digits)
    rgb = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _mix(colour: str, towards: str, amount: float) -> str:
    a = [int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)]
    b = [int(towards.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)]
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in zip(a, b, strict=True))


def readable_on(colour: str, background: str, ratio: float = 3.0) -> str:
    """``colour``, darkened or lightened just enough to reach ``ratio`` against ``background``."""
    colour = colour.lower()
    towards = "#000000" if _luminance(background) > 0.5 else "#ffffff"
    step = 0.0
    candidate = colour
    while contrast(candidate, background) < ratio and step < 1:
        step = round(step + 0.05, 2)
        candidate = _mix(colour, towards, step)
    return candidate


def text_on(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (always at least 4.5:1)."""
    return "#000000" if contrast("#000000", colour) >= contrast("#ffffff", colour) else "#ffffff"


# The message keys the widget uses (the table may hold more, for server-rendered pages).
WIDGET_MESSAGES = (
    "share_bar", "share_on", "share_email", "new_window", "copy", "copied", "copy_failed",
    "link_label", "qr", "qr_title", "qr_alt", "native", "more", "close", "shares", "counts_note",
)


def widget_messages(lang: str) -> dict[str, str]:
    """The widget's messages in one language of the one table (i18n.MESSAGES)."""
    table = i18n.messages(lang)
    return {key: table.get(key) or i18n.MESSAGES["en"][key] for key in WIDGET_MESSAGES}

_BLOCK_COMMENT = re.compile(r"/\*(?!@).*?\*/", re.S)  # /* ... */ but not the /*@MARKER@*/s
_TRAILING_COMMENT = re.compile(r"\s//\s.*$")  # " // note" after code (never inside a URL)


def strip_comments(source: str) -> str:
    """Drop block comments, whole-line and trailing ``//`` comments, indentation and blank lines.

    Safe for widget.js / widget.css as written (a test runs the served script in Chromium);
    not a general minifier: a string holding " // " or "/*" would be cut.
    """
    lines = []
    for line in _BLOCK_COMMENT.sub("", source).splitlines():
        line = _TRAILING_COMMENT.sub("", line.strip())
        if line and not line.startswith("//"):
            lines.append(line)
    return "\n".join(lines) + "\n"


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
    aliases = {}
    for net in offered_networks(settings):
        entry = {"name": net.name, "w": net.popup[0], "h": net.popup[1], "icon": net.icon}
        if net.labels:
            entry["labels"] = net.labels
        nets[net.id] = entry
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
                "id": s.id,
                "hosts": list(s.allowed_hosts),
                "nets": list(s.networks),
                "lang": s.lang,
                "utm": (
                    {"source": s.utm.source, "medium": s.utm.medium, "campaign": s.utm.campaign}
                    if s.utm.enabled
                    else None
                ),
            }
            for s in sites
        ],
        "tracking": sorted(urls.TRACKING_PARAMS),
    }


def network_css(settings: dict) -> str:
    """One rule per offered network with its colour variables (see the module docstring)."""
    rules = []
    for net in offered_networks(settings):
        colour = net.color.lower()
        rules.append(
            f".n-{net.id}{{--b:{colour};--bt:{text_on(colour)};"
            f"--il:{readable_on(colour, LIGHT_BG)};--id:{readable_on(colour, DARK_BG)}}}"
        )
    return "\n".join(rules)


def _asset(text: str, mimetype: str) -> Asset:
    body = text.encode("utf-8")
    # mtime=0: the same bytes give the same gzip stream (stable ETag across workers and restarts).
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return Asset(body, gzipped, hashlib.sha256(body).hexdigest()[:24], mimetype)


def build_js(settings: dict) -> Asset:
    source = (STATIC / "widget.js").read_text(encoding="utf-8")
    if JS_MARKER not in source:
        raise RuntimeError("widget.js lost its /*@CONFIG@*/null marker")
    config = json.dumps(widget_config(settings), ensure_ascii=False, separators=(",", ":"))
    # Keep the JSON inert inside a script: no "</script" or HTML comment openers can appear.
    config = config.replace("<", "\\u003c")
    source = strip_comments(source)
    return _asset(source.replace(JS_MARKER, config, 1), "text/javascript; charset=utf-8")


def build_css(settings: dict) -> Asset:
    source = (STATIC / "widget.css").read_text(encoding="utf-8")
    if CSS_MARKER not in source:
        raise RuntimeError("widget.css lost its /*@NETWORKS@*/ marker")
    source = strip_comments(source)
    return _asset(source.replace(CSS_MARKER, network_css(settings), 1), "text/css; charset=utf-8")


def gzipped_size(settings: dict) -> int:
    """Bytes of widget.js + widget.css as served gzipped: the figure held to the 8 KB budget."""
    return len(build_js(settings).gzipped) + len(build_css(settings).gzipped)
