"""The tracked redirect's plan: from ``/s/<network>?url=&title=&text=&image=`` to (site, article,
the network's share URL). Plain values in, plain values out; cached, because article URLs (and so
whole query strings) repeat far more often than visitors do.

The Location is only ever the chosen network's own share endpoint: the URL is built by the
network registry (Mastodon: always the official picker share.joinmastodon.org, never an instance
named by the request), and is checked against the registry's endpoint before it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

from ..errors import ApiError
from ..sharing import networks, payload
from ..sharing.articles import Articles

MAX_QUERY = 8192  # bytes of query string; the URL alone may take 2,048 characters
PARAMS = ("url", "title", "text", "image", "site")


@dataclass(frozen=True, slots=True)
class Plan:
    site: str
    network: str
    url: str  # canonical article URL
    aid: str
    location: str

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """The 302's headers: the Location, no caching, no Referer to the network, and an
        explicit empty body (without Content-Length, HTTP/1.1 servers fall back to chunked
        framing: more bytes and syscalls per redirect)."""
        return (("Location", self.location), ("Cache-Control", "no-store"),
                ("Referrer-Policy", "no-referrer"), ("Content-Length", "0"))


def _same_endpoint(location: str, endpoint: str) -> bool:
    a, b = urlsplit(location), urlsplit(endpoint)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)


class RedirectPlanner:
    """``plan(network, query_string)`` -> :class:`Plan`, or ApiError for bad input."""

    def __init__(self, articles: Articles, cache_size: int = 16384):
        self.articles = articles
        self.plan = lru_cache(maxsize=cache_size)(self._plan)

    def _plan(self, network: str, query_string: str) -> Plan:
        net = networks.get(networks.require(network, status=404))  # the path names it: 404
        if len(query_string) > MAX_QUERY:
            raise ApiError("query_too_long", "The query string is too long.", 414)
        params: dict[str, str] = {}
        try:
            if not query_string.isascii():  # WSGI gives raw bytes as latin-1: back to UTF-8
                query_string = query_string.encode("latin-1").decode("utf-8")
            pairs = parse_qsl(query_string, keep_blank_values=True, max_num_fields=32,
                              errors="strict")
        except (ValueError, UnicodeError) as exc:
            raise ApiError("invalid_query", "The query string cannot be parsed.") from exc
        for name, value in pairs:
            if name in PARAMS:
                params.setdefault(name, value)
        article = self.articles.resolve(params.get("url", ""), params.get("site"))
        location = payload.network_share_url(
            article.site, net, article.url,
            title=payload.clean_title(params.get("title")),
            text=payload.clean_text(params.get("text")),
            image=payload.clean_image(params.get("image"), self.articles.max_url_length),
        )
        if not _same_endpoint(location, net.endpoint) or not location.isascii() or any(
                c in location for c in "\r\n\0 "):  # defence in depth: never elsewhere
            raise ApiError("invalid_redirect", "No share link can be built for this input.")
        return Plan(article.site.id, net.id, article.canonical, article.aid, location)
