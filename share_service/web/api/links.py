"""Blueprint: links — ``GET /api/v1/share`` (JSON, or the server-rendered bar with format=html).

Thin view: parse the query -> :func:`share_service.sharing.share_payload` -> JSON or the
``templates/share/_bar.html`` partial. Nothing is read from or written to Redis, so the links
answer while Redis is down. Public and cacheable for a short while; never a cookie.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request

from ...errors import ApiError
from ...sharing import i18n
from ..inputs import share_payload_from_request

bp = Blueprint("links", __name__)

SHARE_CACHE = "public, max-age=300"


@bp.get("/api/v1/share")
def share():
    args = request.args
    fmt = args.get("format", "json")
    if fmt not in ("json", "html"):
        raise ApiError("invalid_format", "The 'format' parameter must be json or html.")
    payload = share_payload_from_request()
    if fmt == "html":
        html = render_template(
            "share/_bar.html", share=payload, messages=i18n.messages(payload["lang"])
        )
        response = current_app.response_class(html, mimetype="text/html")
    else:
        response = jsonify(payload)
    response.headers["Cache-Control"] = SHARE_CACHE
    response.headers["Content-Language"] = payload["lang"]
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
