"""What a request asks about, read the same way by every blueprint (no views here).

Blueprints never import each other; what several of them read from a request lives here:
this service's public base URL, the (site, article) a request names (through the app's one
:class:`~share_service.sharing.articles.Articles` resolver) and the share payload.
"""

from __future__ import annotations

import json

from flask import current_app, request

from ..config import Site
from ..errors import ApiError
from ..sharing import payload
from ..sharing.articles import Article, Articles


def base_url() -> str:
    """This service's public base URL: PUBLIC_URL, else the request's host URL."""
    return (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")


def articles() -> Articles:
    """The app's article resolver (one bounded cache per app)."""
    return current_app.extensions["articles"]


def article(site: Site | None = None) -> Article:
    """The article of the query's ``url`` (and ``site``); of ``site`` when the caller already
    chose (and authorized) it. ApiError for bad input."""
    args = request.args
    if site is not None:
        return articles().of_site(args.get("url", ""), site)
    return articles().resolve(args.get("url", ""), args.get("site") or None)


def parse_json(raw: bytes):
    """A request body parsed as JSON (UTF-8, -16 or -32). ApiError ``invalid_json`` (400) when it
    is not JSON, not text, nested deeper than the parser's recursion limit (a 64 KiB body of
    ``[[[[...`` is enough to reach it), or when a string holds a lone surrogate (``"\\ud800"``:
    valid JSON, but no text: it could be neither stored nor encoded). Only an escape can make
    one, so bodies without a backslash (nearly all) skip that check."""
    try:
        data = json.loads(raw)
        if b"\\" in raw:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
        raise ApiError("invalid_json", "The body is not valid JSON text.") from exc
    return data


def share_payload_from_request() -> dict:
    """The share payload (see :func:`share_service.sharing.payload.share_payload`) for the
    query's url / title / text / image / networks / lang / site parameters."""
    args = request.args
    return payload.share_payload(
        article(),
        base_url=base_url(),
        title=args.get("title"),
        text=args.get("text"),
        image=args.get("image"),
        networks_param=args.get("networks"),
        lang=args.get("lang"),
        max_url_length=current_app.config["MAX_URL_LENGTH"],
    )
