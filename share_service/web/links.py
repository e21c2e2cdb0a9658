"""Blueprint: links — ``GET /api/v1/share`` (JSON, or the server-rendered bar with format=html).

Thin view: parse the query -> :func:`share_service.sharing.share_payload` -> JSON or the
``templates/share/_bar.html`` partial. Nothing is read from or written to Redis, so the links
answer while Redis is down. Public and cacheable for a short while; never a cookie.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request

from .. import i18n, sharing
from ..errors import ApiError

bp = Blueprint("links", __name__)

SHARE_CACHE = "public, max-age=300"


def base_url() -> str:
    """This service's public base URL: PUBLIC_URL, else the request's host URL."""
    return (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")


@bp.get("/api/v1/share")
def share():
    args = request.args
    fmt = args.get("format", "json")
    if fmt not in ("json", "html"):
        raise ApiError("invalid_format", "The 'format' parameter must be json or html.")
    site = sharing.site_for_url(current_app.config, args.get("site"), args.get("url"))
    payload = sharing.share_payload(
        site,
        args.get("url"),
        base_url=base_url(),
        title=args.get("title"),
        text=args.get("text"),
        image=args.get("image"),
        networks_param=args.get("networks"),
        lang=args.get("lang"),
        max_url_length=current_app.config["MAX_URL_LENGTH"],
    )
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
