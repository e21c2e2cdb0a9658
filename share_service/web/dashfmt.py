"""Template helpers shared by the dashboard and admin blueprints (numbers, ratios, dates, URLs).

Not a blueprint: both blueprints call :func:`install` on themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import g, request


def num(v) -> str:
    if v is None:
        return "—"
    sep = "\u202f" if getattr(g, "lang", "fr") == "fr" else ","
    return f"{int(v):,}".replace(",", sep)


def ratio(v) -> str:
    if v is None:
        return "—"
    text = f"{v:.2f}"
    return text.replace(".", ",") if getattr(g, "lang", "fr") == "fr" else text


def pct(v) -> str:
    if v is None:
        return "—"
    text = f"{v * 100:.1f}"
    if getattr(g, "lang", "fr") == "fr":
        return text.replace(".", ",") + "\u202f%"
    return text + "%"


def signedpct(v) -> str:
    if v is None:
        return "—"
    sign = "+" if v > 0 else ("−" if v < 0 else "±")
    return sign + pct(abs(v))


def when(ts) -> str:
    if not ts:
        return "—"
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M UTC")


def url_with(**changes) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    args = dict(request.args.items())
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return request.path + ("?" + urlencode(args) if args else "")


def install(bp) -> None:
    for f in (num, ratio, pct, signedpct, when):
        bp.add_app_template_filter(f, f.__name__)
    bp.add_app_template_global(url_with, "url_with")
