"""Readers of the counters (plain functions taking a Redis client; key names from keyspace.py).

One article's counters live in its shard: one key, one call. The site's counters are the sum
of its shards' parts (keyspace.SHARDS), read in one ``fanout.run`` (one round trip on one Redis,
the masters in parallel on a cluster); its unique sharers are the union of the shards'
HyperLogLogs.
"""

from __future__ import annotations

from ..sharing import networks
from ..storage import fanout, keyspace


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


def _summed(r, keys: list[str]) -> dict[str, int]:
    total: dict[str, int] = {}
    for fields in fanout.run(r, [fanout.command("HGETALL", k) for k in keys]):
        for name, value in fields.items():
            total[name] = total.get(name, 0) + int(value)
    return total


def site_day_counts(r, site: str, day: str) -> dict[str, int]:
    """The site's counters of one local day (the sum of its shards')."""
    return _summed(r, [keyspace.site_day(site, s, day) for s in range(keyspace.SHARDS)])


def site_hour_counts(r, site: str, hour: str) -> dict[str, int]:
    return _summed(r, [keyspace.site_hour(site, s, hour) for s in range(keyspace.SHARDS)])


def site_total_counts(r, site: str) -> dict[str, int]:
    return _summed(r, [keyspace.site_totals(site, s) for s in range(keyspace.SHARDS)])


def top_articles(r, site: str, day: str, network: str = "", limit: int = 10) -> list[dict]:
    """The day's most shared articles: [{"aid", "url", "shares"}], best first (ties: the
    greater id first). Exact: an article's day score lives in its shard alone, so the top
    ``limit`` of the site is among the shards' top ``limit``."""
    flat = fanout.run(r, [
        fanout.command("ZREVRANGE", keyspace.top_day(site, s, day, network), 0, limit - 1,
                       "WITHSCORES") for s in range(keyspace.SHARDS)])
    ranked = sorted(((aid, int(float(score))) for rows in flat for aid, score in _pairs(rows)),
                    key=lambda kv: (kv[1], kv[0]), reverse=True)[:limit]
    urls = fanout.run(r, [fanout.command("HGET", keyspace.article_urls(site, keyspace.shard_of(aid)),
                                         aid) for aid, _ in ranked])
    return [{"aid": aid, "url": url, "shares": shares}
            for (aid, shares), url in zip(ranked, urls, strict=True)]


def _pairs(rows: list) -> list:
    """(member, score) pairs of a WITHSCORES reply, flat or already paired (redis-py's reply
    parsing differs between versions)."""
    if rows and not isinstance(rows[0], list | tuple):
        return list(zip(rows[::2], rows[1::2], strict=True))
    return rows


def unique_sharers(r, site: str, day: str, aid: str | None = None) -> int:
    """Approximate number of distinct visitors who shared (anything / one article) that day:
    PFCOUNT of the article's set, or of the union of the site's shards' sets."""
    if aid:
        return int(r.pfcount(keyspace.uniques_article_day(site, aid, day)))
    keys = [keyspace.uniques_day(site, s, day) for s in range(keyspace.SHARDS)]
    return union_count(r, site, keys)


def union_count(r, site: str, hll_keys: list[str]) -> int:
    """PFCOUNT of the union of HyperLogLogs of a site that may live in several cluster slots:
    one PFCOUNT on one Redis; on a cluster, their values are read (in parallel per master)
    and merged in one slot (fanout.hll_union_counts)."""
    if not fanout.is_cluster(r):
        return int(r.pfcount(*hll_keys))
    blobs = [b for b in fanout.run(r, [fanout.command("GET", k, raw=True) for k in hll_keys])
             if b is not None]
    return fanout.hll_union_counts(r, site, [(None, None, blobs)])[0]
