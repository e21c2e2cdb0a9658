"""Which site and which article a request is about: the one place that resolves them.

A request names an article by its URL (``url``) and, optionally, its site (``site``). The site
is the one named, else the one owning the URL's host, else the default site (whose allowed
hosts then decide). The URL must be an http(s) URL of an allowed host of that site; it gives

* the *clean* URL, what is shared (tracking parameters removed, the publisher's form kept),
* the *canonical* URL, one article = one counter (``urls.canonical``),
* the article id, ``keyspace.article_id(canonical)``.

:class:`Articles` (one per app: ``app.extensions["articles"]``) answers from one bounded LRU
cache, since article URLs repeat far more often than visitors do. Plain values in, plain
values out, :class:`~share_service.errors.ApiError` for bad input; no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from ..config import Site
from ..errors import ApiError
from ..storage import keyspace
from . import urls

CACHE_SIZE = 16384


@dataclass(frozen=True, slots=True)
class Article:
    site: Site
    url: str        # clean: what is shared
    canonical: str  # what is counted
    aid: str        # keyspace.article_id(canonical)


def site_by_id(settings: dict, site_id) -> Site:
    """The configured site ``site_id``; ApiError 404 ``unknown_site`` when there is none."""
    site = settings["SITES"].get(site_id) if isinstance(site_id, str) else None
    if site is None:
        shown = f" {site_id!r}" if isinstance(site_id, str) and len(site_id) <= 64 else ""
        raise ApiError("unknown_site", f"No site is configured with id{shown}.", 404)
    return site


def site_for(settings: dict, site_id: str | None = None, host: str | None = None) -> Site:
    """The site named ``site_id``, else the one owning ``host``, else the default site."""
    if site_id:
        return site_by_id(settings, site_id)
    sites: dict[str, Site] = settings["SITES"]
    if host and len(sites) > 1:
        host = host.lower().rstrip(".")
        for site in sites.values():
            if site.allows_host(host):
                return site
    return sites[settings["DEFAULT_SITE"]]


def host_of(raw_url) -> str | None:
    if not isinstance(raw_url, str) or not raw_url:
        return None
    try:
        return urlsplit(raw_url.strip()).hostname
    except ValueError:
        return None


def site_for_url(settings: dict, site_id: str | None, raw_url: str | None) -> Site:
    """The site a request is about: ``site`` if given, else the one owning the URL's host."""
    return site_for(settings, site_id or None, host_of(raw_url))


def article_of(site: Site, raw_url, max_url_length: int) -> Article:
    """``raw_url`` as an article of ``site`` (validated: http(s), an allowed host)."""
    if not isinstance(raw_url, str):
        raise ApiError("missing_url", "The 'url' parameter must be a string.")
    clean, canonical = urls.article_from_request(raw_url, site, max_url_length)
    return Article(site, clean, canonical, keyspace.article_id(canonical))


class Articles:
    """``resolve(url, site_id)`` -> :class:`Article`, cached (bounded LRU)."""

    def __init__(self, settings: dict, cache_size: int = CACHE_SIZE):
        self.settings = settings
        self.max_url_length = int(settings["MAX_URL_LENGTH"])
        self._resolve = lru_cache(maxsize=cache_size)(self._uncached)

    def _uncached(self, raw_url: str, site_id: str | None) -> Article:
        site = site_for_url(self.settings, site_id, raw_url)
        return article_of(site, raw_url, self.max_url_length)

    def resolve(self, raw_url, site_id=None) -> Article:
        """The article ``raw_url`` names (of site ``site_id``, else of the site owning its
        host). ApiError for a missing or bad URL, an unknown site or a host the site refuses."""
        if not isinstance(raw_url, str):
            raise ApiError("missing_url", "The 'url' parameter is required (a string).")
        if site_id is not None and not isinstance(site_id, str):
            raise ApiError("unknown_site", "The 'site' parameter must be a string.")
        return self._resolve(raw_url, site_id or None)

    def of_site(self, raw_url, site: Site) -> Article:
        """``raw_url`` as an article of a site already chosen (and authorized) by the caller."""
        return self.resolve(raw_url, site.id)
