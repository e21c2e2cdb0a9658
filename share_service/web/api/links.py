"""Blueprint: links — ``GET /api/v1/share`` (JSON, or the server-rendered bar with format=html).

Thin view: parse the query -> :func:`share_service.sharing.share_payload` -> JSON or the
``templates/share/_bar.html`` partial. The HTML also holds « Plus de contenu » (``more``, like
the widget's data-more; default the site's ``recommendations.more``), read from the catalogue;
the links themselves need nothing from Redis, so when it is down the bar still answers, without
the block (and cached for less time). Public and cacheable for a short while; never a cookie.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request

from ...errors import ApiError
from ...sharing import i18n
from ..inputs import more_block, share_payload_from_request

bp = Blueprint("links", __name__)

SHARE_CACHE = "public, max-age=300"
# An HTML answer whose « Plus de contenu » could not be read: shared caches retry soon.
DEGRADED_CACHE = "public, max-age=30"


@bp.get("/api/v1/share")
def share():
    args = request.args
    fmt = args.get("format", "json")
    if fmt not in ("json", "html"):
        raise ApiError("invalid_format", "The 'format' parameter must be json or html.")
    payload = share_payload_from_request()
    cache = SHARE_CACHE
    if fmt == "html":
        site = current_app.config["SITES"][payload["site"]]
        more = more_block(site, payload["canonical_url"])
        if more is None:
            cache = DEGRADED_CACHE
        html = render_template(
            "share/_bar.html", share=payload, messages=i18n.messages(payload["lang"]),
            more=more or [],
        )
        response = current_app.response_class(html, mimetype="text/html")
    else:
        response = jsonify(payload)
    response.headers["Cache-Control"] = cache
    response.headers["Content-Language"] = payload["lang"]
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
