"""« Plus de contenu » for server-rendered pages: the items of the block that ``/embed`` and
``GET /api/v1/share?format=html`` render without any script. No Flask here.

:func:`more_content` asks the worker's :class:`~.engine.Recommender` (the same answer as
``GET /api/v1/recommendations``: links already tagged ``utm_source=more_content``) and shapes
each item for an HTML template: every image carries a width and a height (the record's, else
:data:`DEFAULT_IMAGE_SIZE`, as the widget does) so the lazy image reserves its box, and the
origin of the image, which the page's Content-Security-Policy must allow (``img-src``).

A page must never fail for its « Plus de contenu » block: when Redis (the catalogue) cannot
answer, or anything else goes wrong in the recommender, the answer is ``None`` and the page is
rendered without the block (the caller may cache that answer for less time). After such a
failure the recommender is left alone for :data:`PAUSE_SECONDS`: a frozen Redis would otherwise
cost every page a socket timeout (REDIS_SOCKET_TIMEOUT, 0.5 s) before it is rendered.
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from urllib.parse import urlsplit

from ..storage.client import UNAVAILABLE

log = logging.getLogger("share_service.recommend")

# width x height of an image whose record has no size (the widget uses the same).
DEFAULT_IMAGE_SIZE = (320, 180)
# Seconds during which pages leave the block out without asking, after the store failed.
PAUSE_SECONDS = 5.0
_paused: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # recommender -> until
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])$")


def image_origin(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) image URL, spelt as a CSP source; None when the
    URL is not one (the image is then left out rather than let into a header)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.scheme not in ("http", "https") or not _HOST.match(host):
        return None
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def more_content(recommender, client, site, canonical_url: str, count: int) -> list[dict] | None:
    """Up to ``count`` items to render under the share bar of ``canonical_url`` (``[]`` for
    ``count`` 0 or an empty catalogue; ``None`` when recommendations cannot be had now).

    Each item: ``url`` (tagged utm_source=more_content), ``title``, ``section``, ``image``
    (or None), ``image_origin``, ``width``, ``height``."""
    if count <= 0:
        return []
    until = _paused.get(recommender)
    if until is not None and time.monotonic() < until:
        return None
    try:
        answer = recommender.recommend(client, site, canonical_url, count)
    except UNAVAILABLE as exc:
        _paused[recommender] = time.monotonic() + PAUSE_SECONDS
        log.warning("« Plus de contenu » left out for %.0f s (store unavailable): %s: %s",
                    PAUSE_SECONDS, type(exc).__name__, exc)
        return None
    except Exception:  # noqa: BLE001 - a page never fails for its recommendations block
        _paused[recommender] = time.monotonic() + PAUSE_SECONDS
        log.exception("« Plus de contenu » left out: the recommender failed")
        return None
    items = []
    for item in answer["items"][:count]:
        image = item.get("image") or None
        origin = image_origin(image)
        items.append({
            "url": item["url"],
            "title": item.get("title") or "",
            "section": item.get("section") or "",
            "image": image if origin else None,
            "image_origin": origin,
            "width": item.get("image_width") or DEFAULT_IMAGE_SIZE[0],
            "height": item.get("image_height") or DEFAULT_IMAGE_SIZE[1],
        })
    return items
