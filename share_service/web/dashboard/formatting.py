"""What the dashboard and admin blueprints share: the page language, security headers and
template helpers (numbers, ratios, dates, URLs).

Not a blueprint: both blueprints call :func:`install` on themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import current_app, g, render_template, request

from ...errors import ApiError, StorageUnavailable
from .i18n import page_language, translator


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


def set_language() -> None:
    """g.lang / g.t for this page: ?lang=, else Accept-Language, else the default site's."""
    config = current_app.config
    g.lang = page_language(request.args.get("lang"), request.accept_languages,
                       config["SITES"][config["DEFAULT_SITE"]].lang)
    g.t = translator(g.lang)


def security_headers(response):
    """Dashboard pages load nothing but their own files: no inline script, no framing."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.endpoint and request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "private, no-store")
    return response


def error_page(exc: ApiError):
    """The dashboard's page for a client error or an unavailable store (errors.py dispatches
    both here for this blueprint's requests): the same status and headers as the JSON answer."""
    if not hasattr(g, "t"):
        set_language()
    if isinstance(exc, StorageUnavailable):
        exc = StorageUnavailable(g.t("store_down"))
    context = {"t": g.t, "lang": g.lang, "principal": getattr(g, "principal", None),
               "other_lang": "en" if g.lang == "fr" else "fr", "error": exc,
               "site": getattr(g, "site", None)}
    return render_template("dashboard/error.html", **context), exc.status, exc.headers


def install(bp) -> None:
    """What the dashboard and admin blueprints share: language, headers, filters, error page."""
    bp.before_request(set_language)
    bp.after_request(security_headers)
    bp.register_error_handler(ApiError, error_page)
    for f in (num, ratio, pct, signedpct, when):
        bp.add_app_template_filter(f, f.__name__)
    bp.add_app_template_global(url_with, "url_with")
