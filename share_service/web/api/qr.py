"""Blueprint: qr — ``GET /qr``: the QR code of an article URL tagged ``utm_source=qr``.

Thin view: validate the parameters (share_service.qr) and the article URL (its host must belong
to the site), then answer the cached image with a strong ETag and a long public cache; a
matching If-None-Match gets 304. Nothing is counted here (the widget sends a ``qr`` event).
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from ...sharing import qr, urls
from ..inputs import article

bp = Blueprint("qr", __name__)


@bp.get("/qr")
def qr_code():
    settings = current_app.config
    args = request.args
    params = qr.parse_params(
        args,
        default_size=settings["QR_DEFAULT_SIZE"],
        min_size=settings["QR_MIN_SIZE"],
        max_size=settings["QR_MAX_SIZE"],
        max_border=settings["QR_MAX_BORDER"],
    )
    shared = article()
    text = urls.tag(shared.url, shared.site, "qr")
    tag = qr.etag(text, params)
    headers = {
        "ETag": tag,
        "Cache-Control": f"public, max-age={int(settings['QR_CACHE_SECONDS'])}",
        "X-Content-Type-Options": "nosniff",
    }
    if request.if_none_match.contains_weak(tag.strip('"')):
        return current_app.response_class(status=304, headers=headers)
    body = qr.render(text, params)
    if params.fmt == "svg":
        # an SVG opened on its own must not run anything
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return current_app.response_class(body, mimetype=qr.FORMATS[params.fmt], headers=headers)
