"""Readers of the counters (plain functions taking a Redis client; key names from keyspace.py)."""

from __future__ import annotations

from ..sharing import networks
from ..storage import keyspace


def parse_counters(fields: dict) -> dict[str, int]:
    return {name: int(value) for name, value in fields.items()}


def shape_counts(canonical_url: str, counters: dict[str, int]) -> dict:
    """The /api/v1/counts body from an article's counter hash (contracts.md).

    ``total`` is the number of shares through network buttons (the sum of ``networks``, the
    same figure the daily top sets rank by); copy, QR and native shares are given beside it."""
    nets = {}
    for name, value in counters.items():
        if name.startswith("share:") and value:
            net = name[6:]
            if networks.get(net) is not None:
                nets[net] = value
    return {
        "url": canonical_url,
        "total": sum(nets.values()),
        "networks": nets,
        "copy": counters.get("copy", 0),
        "qr": counters.get("qr", 0),
        "native": counters.get("native", 0),
    }


def article_counts(r, site: str, canonical_url: str) -> dict:
    """All-time counts of one article, shaped for GET /api/v1/counts."""
    aid = keyspace.article_id(canonical_url)
    return shape_counts(canonical_url, parse_counters(r.hgetall(keyspace.article_totals(site, aid))))


def article_day_counts(r, site: str, aid: str, day: str) -> dict[str, int]:
    return parse_counters(r.hgetall(keyspace.article_day(site, aid, day)))


def site_day_counts(r, site: str, day: str) -> dict[str, int]:
    return parse_counters(r.hgetall(keyspace.site_day(site, day)))


def site_hour_counts(r, site: str, hour: str) -> dict[str, int]:
    return parse_counters(r.hgetall(keyspace.site_hour(site, hour)))


def site_total_counts(r, site: str) -> dict[str, int]:
    return parse_counters(r.hgetall(keyspace.site_totals(site)))


def top_articles(r, site: str, day: str, network: str = "", limit: int = 10) -> list[dict]:
    """The day's most shared articles: [{"aid", "url", "shares"}], best first."""
    ranked = r.zrevrange(keyspace.top_day(site, day, network), 0, limit - 1, withscores=True)
    if not ranked:
        return []
    urls = r.hmget(keyspace.article_urls(site), [aid for aid, _ in ranked])
    return [{"aid": aid, "url": url, "shares": int(score)}
            for (aid, score), url in zip(ranked, urls, strict=True)]


def unique_sharers(r, site: str, day: str, aid: str | None = None) -> int:
    """Approximate number of distinct visitors who shared (anything / one article) that day."""
    key = keyspace.uniques_article_day(site, aid, day) if aid else keyspace.uniques_day(site, day)
    return int(r.pfcount(key))
