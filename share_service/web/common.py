"""Request helpers shared by several blueprints (no views here).

Blueprints never import each other; what two of them read from a request the same way lives here.
"""

from __future__ import annotations

from flask import current_app, request

from .. import sharing


def base_url() -> str:
    """This service's public base URL: PUBLIC_URL, else the request's host URL."""
    return (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")


def share_payload_from_request() -> dict:
    """The share payload (see :func:`share_service.sharing.share_payload`) for the query's
    url / title / text / image / networks / lang / site parameters."""
    args = request.args
    config = current_app.config
    site = sharing.site_for_url(config, args.get("site"), args.get("url"))
    return sharing.share_payload(
        site,
        args.get("url"),
        base_url=base_url(),
        title=args.get("title"),
        text=args.get("text"),
        image=args.get("image"),
        networks_param=args.get("networks"),
        lang=args.get("lang"),
        max_url_length=config["MAX_URL_LENGTH"],
    )
