"""Ingestion: fetch a feed, a sitemap (index, Google News, gzip) or an article page and store
its articles. No Flask here; the CLI and the tests call these functions.

One source document is handled as a unit: it is fetched (safely, conditionally), parsed, every
item validated, and only then written (``store.save_articles``: atomic batches, unchanged items
skipped). A bad document — unreachable, refused by the fetcher, malformed or hostile XML,
too large — is *rejected* with a logged reason and writes nothing; a bad item inside a good
document is skipped and counted. Nothing here raises for bad input: the result is a
:class:`Report`.

Every URL given to :func:`ingest_url` is remembered in ``keyspace.feeds(site)`` with its ETag and
Last-Modified, so :func:`refresh` re-reads all of them with conditional GETs: a 304 costs one
request and re-indexes nothing; a changed document re-writes only the items whose content changed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

from ..errors import ApiError
from ..storage import keyspace
from . import parsers, store
from .fetcher import Fetcher, FetchError, gunzip_bounded
from .records import normalize

log = logging.getLogger("share_service.catalogue")


@dataclass
class Report:
    url: str
    status: str = "ok"            # ok | not_modified | rejected
    kind: str = ""                # feed | sitemap | sitemapindex | page
    reason: str = ""              # why rejected
    found: int = 0                # items in the document
    valid: int = 0                # items that passed validation
    changed: int = 0              # items written (new or changed)
    skipped: int = 0              # items refused (no URL/title, foreign host, ...)
    pages: int = 0                # article pages fetched for sitemap entries
    children: list[Report] = field(default_factory=list)

    def totals(self) -> dict:
        """Sums over this report and its children (sitemap indexes)."""
        out = {"found": self.found, "valid": self.valid, "changed": self.changed,
               "skipped": self.skipped, "pages": self.pages, "rejected": int(self.status ==
                                                                             "rejected")}
        for child in self.children:
            for name, value in child.totals().items():
                out[name] += value
        return out

    def to_dict(self) -> dict:
        return asdict(self)


class _Run:
    """Limits shared by one ingestion run (a sitemap index and all its children)."""

    def __init__(self, settings):
        self.pages_left = int(settings.get("CATALOGUE_INGEST_MAX_PAGES", 200))
        self.sitemaps_left = int(settings.get("CATALOGUE_INGEST_MAX_SITEMAPS", 50))
        self.max_items = int(settings.get("CATALOGUE_INGEST_MAX_ITEMS", 20000))


def _reject(report: Report, reason: str, message: str) -> Report:
    report.status = "rejected"
    report.reason = reason
    log.warning("ingest %s rejected: %s (%s)", report.url, reason, message)
    return report


def ingest_url(client, settings, site, url: str, *, fetcher: Fetcher | None = None,
               register: bool = True, fetch_pages: bool = True, _run: _Run | None = None,
               _parent: str = "") -> Report:
    """Ingest one source URL for ``site`` (see the module docstring). Never raises for bad input."""
    own = fetcher is None
    fetcher = fetcher or Fetcher(site, settings)
    run = _run or _Run(settings)
    report = Report(url)
    try:
        return _ingest(client, settings, site, url, fetcher, register, fetch_pages, run,
                       _parent, report)
    finally:
        if own:
            fetcher.close()


def _ingest(client, settings, site, url, fetcher, register, fetch_pages, run, parent, report):
    try:
        state = store.get_source(client, site.id, url) if register or parent else {}
    except Exception as exc:  # noqa: BLE001 - Redis failing: nothing can be stored anyway
        return _reject(report, "store_unavailable", f"{type(exc).__name__}: {exc}")
    try:
        result = fetcher.get(url, state.get("etag", ""), state.get("last_modified", ""))
    except FetchError as exc:
        _reject(report, exc.reason, exc.message)
        _remember(client, site, url, state, report, parent, register)
        return report
    if result.not_modified:
        report.status = "not_modified"
        report.kind = state.get("kind", "")
        _remember(client, site, url, state, report, parent, register)
        return report

    body = result.body
    try:
        fmt = parsers.sniff(body, result.content_type)
        if fmt == "gzip":
            body = gunzip_bounded(body, fetcher.max_bytes)
            fmt = parsers.sniff(body, "application/xml")
            if fmt != "xml":
                raise parsers.ParseFailure("unknown_format", "gzip file is not XML")
        if fmt == "xml":
            root = parsers.safe_xml_root(body)
            report.kind = parsers.xml_kind(root)
            if report.kind == "feed":
                raw_items = parsers.parse_feed(body, root)
            elif report.kind == "sitemap":
                raw_items = _sitemap_items(client, settings, site, parsers.parse_sitemap(root),
                                           fetcher, fetch_pages, run, report)
            else:
                children = parsers.parse_sitemap_index(root)
                del root, body
                return _index(client, settings, site, url, children, fetcher, fetch_pages, run,
                              report, result, state, register, parent)
        else:
            report.kind = "page"
            raw_items = [parsers.parse_page(body, result.url)]
    except parsers.ParseFailure as exc:
        _reject(report, exc.reason, exc.message)
        _remember(client, site, url, state, report, parent, register)
        return report
    except FetchError as exc:  # gzip bomb or invalid gzip
        _reject(report, exc.reason, exc.message)
        _remember(client, site, url, state, report, parent, register)
        return report
    except Exception as exc:  # noqa: BLE001 - a parser bug must not stop a refresh run
        log.exception("ingest %s: unexpected parser failure", url)
        _reject(report, "unreadable", f"{type(exc).__name__}: {exc}")
        _remember(client, site, url, state, report, parent, register)
        return report

    report.found = report.found or len(raw_items)  # (a sitemap counted its entries)
    if len(raw_items) > run.max_items:
        log.warning("ingest %s: %d items, only the first %d are read", url, len(raw_items),
                    run.max_items)
        raw_items = raw_items[:run.max_items]
    records = _validate(raw_items, site, settings, report)
    # plain-sitemap pages read (and valid): remembered once their records are stored
    seen = {raw["_loc"][0]: raw["_loc"][1] for raw in raw_items
            if "_loc" in raw and raw.get("_valid")}
    if report.kind == "page" and not records:
        _reject(report, "not_an_article", "the page has no usable URL and title")
        _remember(client, site, url, state, report, parent, register)
        return report
    try:
        changed = store.save_articles(client, site.id, records)
        if seen:
            client.hset(keyspace.sitemap_pages(site.id), mapping=seen)
    except Exception as exc:  # noqa: BLE001 - Redis failing: report, don't crash the run
        _reject(report, "store_unavailable", f"{type(exc).__name__}: {exc}")
        _remember(client, site, url, {}, report, parent, register=False)
        return report
    report.valid = len(records)
    report.changed = len(changed)
    state = {"etag": result.etag, "last_modified": result.last_modified}
    _remember(client, site, url, state, report, parent, register)
    log.info("ingest %s: %s, %d items, %d valid, %d changed, %d skipped", url, report.kind,
             report.found, report.valid, report.changed, report.skipped)
    return report


def _validate(raw_items, site, settings, report) -> list[dict]:
    records = []
    max_len = int(settings.get("MAX_URL_LENGTH", 2048))
    for raw in raw_items:
        try:
            records.append(normalize(raw, site, raw.get("source", "feed"),
                                           strict=False, max_url_length=max_len))
            raw["_valid"] = True
        except ApiError as exc:
            report.skipped += 1
            log.info("ingest %s: item %r skipped: %s", report.url,
                     str(raw.get("url", ""))[:200], exc.message)
    return records


def _sitemap_items(client, settings, site, entries, fetcher, fetch_pages, run, report):
    """News-sitemap entries carry a title and are used as they are; plain entries need their
    page: fetched (up to CATALOGUE_INGEST_MAX_PAGES per run) unless it was read before and the entry's
    <lastmod> did not move since (``keyspace.sitemap_pages``; a page item carries "_loc" so that
    the caller records it there once the item is stored)."""
    report.found = len(entries)
    items, need_page = [], []
    for entry in entries:
        if entry.get("title"):
            if entry.get("lastmod") and not entry.get("modified"):
                entry["modified"] = entry["lastmod"]
            items.append(entry)
        else:
            need_page.append(entry)
    if not need_page or not fetch_pages:
        report.skipped += len(need_page)
        return items
    locs = [entry["url"][:2048] for entry in need_page]
    seen = {}
    for start in range(0, len(locs), 1000):
        chunk = locs[start:start + 1000]
        seen.update(zip(chunk, client.hmget(keyspace.sitemap_pages(site.id), chunk), strict=True))
    for entry, loc in zip(need_page, locs, strict=True):
        previous = seen.get(loc)
        lastmod = entry.get("lastmod")
        if previous is not None and (lastmod is None or lastmod <= int(previous)):
            continue  # read before, not changed since
        if run.pages_left <= 0:
            report.skipped += 1
            continue
        run.pages_left -= 1
        report.pages += 1
        try:
            page = fetcher.get(entry["url"])
            page_item = parsers.parse_page(page.body, page.url)
        except Exception as exc:  # noqa: BLE001 - one bad page never stops its sitemap
            report.skipped += 1
            log.info("ingest %s: page %s skipped: %s", report.url, entry["url"][:200], exc)
            continue
        if not page_item.get("modified") and lastmod:
            page_item["modified"] = lastmod
        if not page_item.get("image") and entry.get("image"):
            page_item["image"] = entry["image"]
        page_item["_loc"] = (loc, str(lastmod or 0))
        items.append(page_item)
    return items


def _index(client, settings, site, url, children, fetcher, fetch_pages, run, report, result,
           state, register, parent) -> Report:
    report.found = len(children)
    if parent:  # an index inside an index: not followed further
        report.skipped = len(children)
        return _reject(report, "nested_index", "sitemap index inside a sitemap index")
    for child in children:
        if run.sitemaps_left <= 0:
            report.skipped += 1
            continue
        run.sitemaps_left -= 1
        report.children.append(ingest_url(client, settings, site, child, fetcher=fetcher,
                                          register=register, fetch_pages=fetch_pages, _run=run,
                                          _parent=url))
    state = {"etag": result.etag, "last_modified": result.last_modified}
    _remember(client, site, url, state, report, parent, register)
    return report


def _remember(client, site, url, state, report, parent, register) -> None:
    """Keep the source's validators and last outcome (only for registered sources)."""
    if not register or (report.status == "rejected" and not state and not parent):
        return  # a source that never worked is not kept for refreshes
    record = {
        "kind": report.kind or state.get("kind", ""),
        "etag": state.get("etag", ""),
        "last_modified": state.get("last_modified", ""),
        "last_fetch": int(time.time()),
        "last_status": report.status if report.status != "rejected" else
        f"rejected:{report.reason}",
        "items": report.found if report.status == "ok" else state.get("items", 0),
    }
    if parent:
        record["parent"] = parent
    try:
        store.set_source(client, site.id, url, record)
    except Exception as exc:  # noqa: BLE001 - Redis failing: the report says enough
        log.warning("ingest %s: cannot record source state: %s", url, exc)


def refresh(client, settings, site, fetch_pages: bool = True) -> list[Report]:
    """Re-ingest every source registered for ``site`` (conditional GETs). Child sitemaps are
    reached through their index."""
    reports = []
    with Fetcher(site, settings) as fetcher:
        for url, state in store.list_sources(client, site.id).items():
            if state.get("parent"):
                continue
            reports.append(ingest_url(client, settings, site, url, fetcher=fetcher,
                                      fetch_pages=fetch_pages))
    return reports
