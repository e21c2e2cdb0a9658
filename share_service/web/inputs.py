"""What a request asks about, read the same way by every blueprint (no views here).

Blueprints never import each other; what several of them read from a request lives here:
this service's public base URL, the (site, article) a request names (through the app's one
:class:`~share_service.sharing.articles.Articles` resolver), the share payload and the
server-rendered « Plus de contenu » block a page asks for (``more``).
"""

from __future__ import annotations

import json

from flask import current_app, request

from ..config import Site
from ..errors import ApiError
from ..extensions import redis_client
from ..recommend.more import more_content
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
        try:  # JSON is UTF-8 (RFC 8259): decoded here, json skips its encoding detection
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw  # UTF-16 or -32: json detects it (or refuses it)
        data = json.loads(text)
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


def more_count(site: Site) -> int:
    """How many « Plus de contenu » items the query's ``more`` asks for, like the widget's
    data-more: 0 hides the block; absent, the site's ``recommendations.more``; at most
    RECOMMEND_MAX_LIMIT (larger asks are bounded). Not a whole number: 400 invalid_more."""
    maximum = int(current_app.config["RECOMMEND_MAX_LIMIT"])
    raw = request.args.get("more")
    if raw is None or raw == "":
        return min(site.more, maximum)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        raise ApiError("invalid_more", "'more' must be a whole number of items "
                                       f"(0 hides « Plus de contenu »; at most {maximum}).")
    return min(int(raw), maximum)


def more_block(site: Site, canonical_url: str) -> list[dict] | None:
    """The server-rendered « Plus de contenu » items the request asks for (``more``): ``[]``
    when none are asked or the catalogue has none, ``None`` when they cannot be had now (the
    page is then rendered without the block). See :mod:`share_service.recommend.more`."""
    count = more_count(site)
    if not count:
        return []
    return more_content(current_app.extensions["recommender"], redis_client(), site,
                        canonical_url, count)
