"""Statistics queries for the stats API, the dashboard and the benchmark (no Flask).

Everything is read from the counters the counting engine writes (key names: storage/keyspace.py):

- ``keyspace.site_day`` / ``keyspace.site_hour``  HASH counter field -> count (one shard of the
  site, local day / hour)
- ``keyspace.article_day``                    HASH counter field -> count (article, local day)
- ``keyspace.top_day`` (+ network)            ZSET article id -> shares that day (one shard)
- ``keyspace.uniques_day`` / ``uniques_article_day``  HyperLogLogs of sharers
- ``keyspace.article_urls`` / ``keyspace.article``  canonical URL / catalogue record (title)

A site's counters are split over ``keyspace.SHARDS`` shards (by article). A site-wide query
folds them in groups (``fanout.shard_groups``): all shards in one script call on one Redis, one
call per shard on a Redis Cluster, the calls sent together (masters in parallel) and merged
here: counters and top scores add up (an article counts in one shard only); unique sharers are
the union of the shards' HyperLogLogs (``fanout.hll_union_counts``), never a sum.

Counter fields: ``share:<network>``, ``copy``, ``qr``, ``native``, ``visit:<source>``,
``rec_impression``, ``rec_click`` (and ``rec_impression:<method>``, ``rec_click:<method>`` for
events that said how their recommendations were chosen, counting.events.REC_METHODS),
``utm:<source>|<medium>|<campaign>``.

Ranges (``params.Range``) are inclusive local dates in the site's time zone; the previous period
is the same number of days just before ``from``.

Reads are folded inside Redis by three scripts (``lua/sum.lua``, ``series.lua``, ``top.lua``,
each documenting its KEYS and ARGV), so each query is one
round trip (two for top: titles; two for a summary on a cluster: the unique sharers' union)
whose answer is a few dozen values per group, not thousands of hash fields. Days that are over ("closed") never change: their folded result is cached for an hour
(``keyspace.stats_sum_cache`` / ``stats_hll_cache`` / ``stats_series_cache`` / ``stats_top_cache``)
and the open days (today) are always read live and merged in exactly. For top articles the
top ``limit`` of (closed + today) is among the top ``limit`` of the cached closed union plus
every article shared today, so only those are scored.

Definitions:
- ``total``: shares through networks (``share:*``); ``copy``, ``qr``, ``native`` are separate.
- ``clickbacks``: visits that arrived through one of our tagged links (``visit:*``).
- ``amplification``: clickbacks per share action — overall ``clickbacks / (total + copy + qr +
  native)``; per network ``visit:<n> / share:<n>``; per channel ``visit:copy / copy`` etc.
- ``rec_impression`` / ``rec_click``: every « Plus de contenu » impression / click, whatever its
  method (``rec_impression`` + ``rec_impression:*``); ``rec_ctr``: ``rec_click / rec_impression``.
- ``rec_by_method``: ``{method: {rec_impression, rec_click, rec_ctr}}`` for each of
  REC_METHODS, from the events that named their method (older clients did not: their events
  count in the overall figures only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..counting.events import REC_METHODS
from ..errors import ApiError
from ..sharing import urls
from ..storage import fanout, keyspace, scripts
from .params import Range, day_id

HOURLY_MAX_DAYS = 7
CACHE_SECONDS = 3600
CLOSE_DELAY_SECONDS = 300
# Share channels that are not networks: their clickbacks are compared with their own counts.
SHARE_CHANNELS = ("copy", "qr", "native")

SUM = scripts.load(__file__, "sum")        # lua/sum.lua
SERIES = scripts.load(__file__, "series")  # lua/series.lua
TOP = scripts.load(__file__, "top")        # lua/top.lua


# --- folding counter hashes ------------------------------------------------------------------
REC_FIELDS = ("rec_impression", "rec_click")


def empty_figures() -> dict:
    return {"total": 0, "networks": {}, "copy": 0, "qr": 0, "native": 0, "clickbacks": 0,
            "clickbacks_by_source": {}, "rec_impression": 0, "rec_click": 0,
            "rec_by_method": {m: {"rec_impression": 0, "rec_click": 0} for m in REC_METHODS}}


def fold(into: dict, counters: dict, network: str | None = None) -> dict:
    """Add one counter HASH (field -> count as strings) into ``into``. ``network`` narrows
    shares and clickbacks to one network."""
    for field, raw in counters.items():
        n = int(raw)
        if field.startswith("share:"):
            net = field[6:]
            if network and net != network:
                continue
            into["total"] += n
            into["networks"][net] = into["networks"].get(net, 0) + n
        elif field.startswith("visit:"):
            src = field[6:]
            if network and src != network:
                continue
            into["clickbacks"] += n
            into["clickbacks_by_source"][src] = into["clickbacks_by_source"].get(src, 0) + n
        elif field in ("copy", "qr", "native", "rec_impression", "rec_click"):
            into[field] += n
        elif field.startswith("rec_"):  # rec_impression:<method>, rec_click:<method>
            kind, _, method = field.partition(":")
            if kind in REC_FIELDS:
                into[kind] += n
                if method in into["rec_by_method"]:
                    into["rec_by_method"][method][kind] += n
    return into


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def finish(fig: dict) -> dict:
    """Add the derived figures: amplification (overall and per source) and recommendation CTR."""
    actions = fig["total"] + fig["copy"] + fig["qr"] + fig["native"]
    fig["amplification"] = _ratio(fig["clickbacks"], actions)
    per = {}
    for src, visits in fig["clickbacks_by_source"].items():
        base = fig["networks"].get(src, fig.get(src, 0) if src in SHARE_CHANNELS else 0)
        per[src] = _ratio(visits, base)
    for net, shares in fig["networks"].items():
        per.setdefault(net, _ratio(0, shares))
    fig["amplification_by_source"] = dict(sorted(per.items()))
    fig["rec_ctr"] = _ratio(fig["rec_click"], fig["rec_impression"])
    for by in fig["rec_by_method"].values():
        by["rec_ctr"] = _ratio(by["rec_click"], by["rec_impression"])
    fig["networks"] = dict(sorted(fig["networks"].items(), key=lambda kv: (-kv[1], kv[0])))
    fig["clickbacks_by_source"] = dict(
        sorted(fig["clickbacks_by_source"].items(), key=lambda kv: (-kv[1], kv[0])))
    return fig


def _change(cur, prev):
    if cur is None or prev is None or prev == 0:
        return None
    return round((cur - prev) / prev, 4)


SCALARS = ("total", "copy", "qr", "native", "uniques", "clickbacks", "amplification",
           "rec_impression", "rec_click", "rec_ctr")


# --- server-side folding and closed-day caches ---------------------------------------------------
# Reading 90 daily hashes of ~20 fields each costs more in client-side reply parsing than in
# Redis, and a PFCOUNT over 90 dense HyperLogLogs ~10 ms: these scripts fold inside Redis and
# answer a few dozen values. Days that are over ("closed": before the local day of now minus
# CLOSE_DELAY_SECONDS, so write-behind stragglers after midnight still land) never change, so
# their folded result is cached for CACHE_SECONDS; the open days (today) are always read live.






def open_from(site, now: datetime | None = None) -> date:
    """The first local day still open (counts may still change): today, or yesterday during
    the first CLOSE_DELAY_SECONDS after midnight."""
    now = now or datetime.now(site.tz)
    return (now.astimezone(site.tz) - timedelta(seconds=CLOSE_DELAY_SECONDS)).date()


def _span(days: list[date]) -> str:
    return f"{day_id(days[0])}-{day_id(days[-1])}"


@dataclass
class SumGroup:
    """Counter hashes and HLLs to fold, split into closed (cacheable) and open parts. With a
    cache, the closed keys may be left out (``need``: how many there are): the script asks for
    them (answers -1) only when the cache must be built."""

    closed_hashes: list[str]
    closed_hlls: list[str]
    open_hashes: list[str]
    open_hlls: list[str]
    cache: tuple[str, str] | None = None  # (sum cache key, HLL cache key)
    need: int = 0


def _sum_call(groups: list[SumGroup], mode: str = "count") -> fanout.Call:
    """The SUM script call over ``groups`` (all in one slot). ``mode`` (lua/sum.lua): "count"
    answers each group's unique sharers (PFCOUNT: one Redis); "values" the values of its open
    days' HyperLogLogs instead, to be counted with the other shards' (a cluster);
    "values+closed" also its closed days' union."""
    key_list: list[str] = []
    argv: list = [len(groups), CACHE_SECONDS, mode]
    for grp in groups:
        use_cache = grp.cache is not None and grp.need > 0
        if use_cache:
            key_list += list(grp.cache)
        key_list += grp.closed_hashes + grp.closed_hlls + grp.open_hashes + grp.open_hlls
        argv += [1 if use_cache else 0, len(grp.closed_hashes), len(grp.closed_hlls),
                 len(grp.open_hashes), len(grp.open_hlls), grp.need]
    return SUM.call(key_list, argv, raw=mode != "count")


def _cached_run(r, build) -> list:
    """Run the calls ``build(with_closed)`` makes, first without the closed days' keys (their
    folded result is cached: the usual case, a small request); the calls answered -1 (a cache
    to build) are sent again with them."""
    replies = fanout.run(r, build(False))
    again = [i for i, reply in enumerate(replies) if reply == -1]
    if again:
        full = build(True)
        for i, reply in zip(again, fanout.run(r, [full[i] for i in again]), strict=True):
            replies[i] = reply
    return replies


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _sum_result(raw) -> list[tuple]:
    """[(field -> sum as text, PFCOUNT)] per group of a SUM reply ("count"), or
    [(field -> sum as text, [open HyperLogLog values], closed value or b"")] ("values")."""
    out = []
    for flat, *rest in raw:
        out.append(({_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)}, *rest))
    return out


def _add_sums(into: dict[str, int], sums: dict) -> dict[str, int]:
    for name, value in sums.items():
        into[name] = into.get(name, 0) + int(value)
    return into


SERIES_COLUMNS = ("total", "copy", "qr", "native", "clickbacks", "rec_impression", "rec_click")


def _series_call(closed: list[str], open_: list[str], network: str | None, per_point: int,
                 cache: str | None = None, need: int | None = None) -> fanout.Call:
    """The SERIES script call; with a cache, ``closed`` may be left out (``need``: how many
    closed hashes the cache stands for)."""
    need = len(closed) if need is None else need
    use_cache = cache is not None and need > 0
    key_list = ([cache] if use_cache else []) + closed + open_
    args = [network or "", "1" if use_cache else "0", len(closed), CACHE_SECONDS, per_point, need]
    return SERIES.call(key_list, args)


def _series_result(texts: list[str], count: int) -> list[dict]:
    """The points of SERIES replies (one per group of shards, the same points each): their
    columns and networks added up."""
    columns = [[0] * len(SERIES_COLUMNS) for _ in range(count)]
    nets: list[dict[str, int]] = [{} for _ in range(count)]
    for text in texts:
        lines = text.split("\n") if count else []
        if len(lines) != count:
            raise RuntimeError(f"series script answered {len(lines)} lines for {count} points")
        for total, point_nets, line in zip(columns, nets, lines, strict=True):
            parts = line.split(" ")
            for c in range(len(SERIES_COLUMNS)):
                total[c] += int(parts[c])
            if parts[7]:
                for pair in parts[7].split(","):
                    net, n = pair.split("=")
                    point_nets[net] = point_nets.get(net, 0) + int(n)
    return [{**dict(zip(SERIES_COLUMNS, total, strict=True)), "networks": point_nets}
            for total, point_nets in zip(columns, nets, strict=True)]


def _period_group(site, closed: list[str], open_: list[str], group: tuple[int, ...],
                  with_closed: bool) -> SumGroup:
    """The SUM group of a period's days (``closed`` and ``open_`` day ids) of some shards."""
    part = fanout.group_shard(group)
    given = closed if with_closed else []
    return SumGroup(
        [keyspace.site_day(site.id, s, d) for d in given for s in group],
        [keyspace.uniques_day(site.id, s, d) for d in given for s in group],
        [keyspace.site_day(site.id, s, d) for d in open_ for s in group],
        [keyspace.uniques_day(site.id, s, d) for d in open_ for s in group],
        (keyspace.stats_sum_cache(site.id, part, f"{closed[0]}-{closed[-1]}"),
         keyspace.stats_hll_cache(site.id, part, f"{closed[0]}-{closed[-1]}")) if closed else None,
        len(closed) * len(group),
    )


def _periods(r, site, periods: list[Range], boundary: date) -> list[tuple[dict, int]]:
    """(field -> sum, unique sharers) of each period of the site: one SUM call per group of
    shards (fanout: one round trip, masters in parallel); on a cluster the shards' unique
    sharers are then merged as HyperLogLogs (one more call)."""
    groups = fanout.shard_groups(r)
    days = [([day_id(d) for d in p.dates() if d < boundary],
             [day_id(d) for d in p.dates() if d >= boundary]) for p in periods]

    def calls(mode: str):
        def build(with_closed: bool) -> list[fanout.Call]:
            return [_sum_call([_period_group(site, closed, open_, g, with_closed)
                               for closed, open_ in days], mode) for g in groups]
        return build

    sums: list[dict[str, int]] = [{} for _ in periods]
    if len(groups) == 1:  # one Redis: one call folds every shard, PFCOUNT included
        (reply,) = _cached_run(r, calls("count"))
        counts = []
        for i, (flat, pf) in enumerate(_sum_result(reply)):
            _add_sums(sums[i], flat)
            counts.append(int(pf))
        return list(zip(sums, counts, strict=True))
    # a cluster: one call per shard; the unique sharers of the open days (today) are counted
    # with a union of the closed days over every shard, cached in the site's slot. A shard
    # whose caches must be built (the first query of the hour) also answers its closed days'
    # union, which then builds the site's.
    replies = fanout.run(r, calls("values")(False))
    cold = [i for i, reply in enumerate(replies) if reply == -1]
    if cold:
        full = calls("values+closed")(True)
        for i, reply in zip(cold, fanout.run(r, [full[i] for i in cold]), strict=True):
            replies[i] = reply
    opened: list[list] = [[] for _ in periods]
    closed_values: list[list] = [[] for _ in periods]
    for reply in replies:
        for i, (flat, values, closed) in enumerate(_sum_result(reply)):
            _add_sums(sums[i], flat)
            opened[i] += values
            if closed:
                closed_values[i].append(closed)
    caches = [keyspace.stats_hll_union_cache(site.id, f"{closed[0]}-{closed[-1]}")
              if closed else None for closed, _ in days]
    if len(cold) == len(groups):  # every shard was cold: build the site's union now
        return list(zip(sums, fanout.hll_union_counts(r, site.id, [
            (c, b, v) for c, b, v in zip(caches, closed_values, opened, strict=True)]),
            strict=True))
    counts = fanout.hll_union_counts(r, site.id, [(c, None, v) for c, v in zip(caches, opened,
                                                                              strict=True)])
    if counts is None:  # the site's union expired before the shards' caches: build it
        closed_values = [[] for _ in periods]
        for reply in _cached_run(r, calls("values+closed")):
            for i, (_flat, _values, closed) in enumerate(_sum_result(reply)):
                if closed:
                    closed_values[i].append(closed)
        counts = fanout.hll_union_counts(r, site.id, [
            (c, b, v) for c, b, v in zip(caches, closed_values, opened, strict=True)])
    return list(zip(sums, counts, strict=True))


# --- summary ---------------------------------------------------------------------------------
def summary(r, site, rng: Range, network: str | None = None,
            now: datetime | None = None) -> dict:
    """Headline figures of ``rng`` and of the previous period of the same length, with the
    relative change of each (null when the previous value is 0). One round trip (SUM script
    per group of shards), two on a cluster (the unique sharers' union), one more when the
    closed days' caches are built."""
    prev = rng.previous()
    boundary = open_from(site, now)
    (cur_h, cur_u), (old_h, old_u) = _periods(r, site, [rng, prev], boundary)
    cur, old = fold(empty_figures(), cur_h, network), fold(empty_figures(), old_h, network)
    cur["uniques"], old["uniques"] = cur_u, old_u
    finish(cur)
    finish(old)
    change = {name: _change(cur[name], old[name]) for name in SCALARS}
    change["networks"] = {n: _change(v, old["networks"].get(n, 0)) for n, v in cur["networks"].items()}
    change["clickbacks_by_source"] = {
        s: _change(v, old["clickbacks_by_source"].get(s, 0))
        for s, v in cur["clickbacks_by_source"].items()}
    change["rec_by_method"] = {
        m: {k: _change(v, old["rec_by_method"][m][k]) for k, v in by.items()}
        for m, by in cur["rec_by_method"].items()}
    return {
        "site": site.id,
        **rng.as_dict(),
        "network": network,
        "timezone": site.timezone,
        "current": cur,
        "previous": {**prev.as_dict(), **old},
        "change": change,
    }


# --- time series -----------------------------------------------------------------------------
def timeseries(r, site, rng: Range, network: str | None = None,
               granularity: str | None = None, now: datetime | None = None) -> dict:
    """Figures per local day, or per local hour for ranges up to 7 days. One round trip
    (SERIES script per group of shards)."""
    if granularity not in (None, "day", "hour"):
        raise ApiError("bad_granularity", "'granularity' must be day or hour.")
    if granularity == "hour" and rng.days > HOURLY_MAX_DAYS:
        raise ApiError("bad_granularity", f"Hourly series cover at most {HOURLY_MAX_DAYS} days.")
    hourly = granularity == "hour" or (granularity is None and rng.days <= HOURLY_MAX_DAYS)
    boundary = open_from(site, now)
    labels: list[str] = []
    points_of: list[tuple[bool, str]] = []  # (closed, hour or day id)
    for d in rng.dates():
        for h in range(24) if hourly else (None,):
            if h is None:
                labels.append(d.isoformat())
                points_of.append((d < boundary, day_id(d)))
            else:
                labels.append(f"{d.isoformat()}T{h:02d}:00")
                points_of.append((d < boundary, f"{day_id(d)}{h:02d}"))
    key = keyspace.site_hour if hourly else keyspace.site_day
    closed_days = [d for d in rng.dates() if d < boundary]
    n_closed = sum(1 for is_closed, _ in points_of if is_closed)
    groups = fanout.shard_groups(r)

    def build(with_closed: bool) -> list[fanout.Call]:
        calls = []
        for group in groups:
            closed = ([key(site.id, s, p) for is_closed, p in points_of if is_closed
                       for s in group] if with_closed or not closed_days else [])
            open_ = [key(site.id, s, p) for is_closed, p in points_of if not is_closed
                     for s in group]
            cache = (keyspace.stats_series_cache(site.id, fanout.group_shard(group),
                                                 _span(closed_days), "hour" if hourly else "day",
                                                 network or "") if closed_days else None)
            calls.append(_series_call(closed, open_, network, len(group), cache,
                                      n_closed * len(group)))
        return calls

    points = _series_result(_cached_run(r, build), len(labels))
    out = []
    for label, p in zip(labels, points, strict=True):
        out.append({"t": label, "total": p["total"], "networks": dict(sorted(p["networks"].items())),
                    "copy": p["copy"], "qr": p["qr"], "native": p["native"],
                    "clickbacks": p["clickbacks"], "rec_impression": p["rec_impression"],
                    "rec_click": p["rec_click"]})
    return {"site": site.id, **rng.as_dict(), "network": network, "timezone": site.timezone,
            "granularity": "hour" if hourly else "day", "points": out}


# --- top articles ----------------------------------------------------------------------------


def top_scores(r, site, rng: Range, network: str | None = None, limit: int = 10,
               now: datetime | None = None) -> list[tuple[str, int]]:
    """[(article id, shares over the range)] best first (ties: higher id first), at most
    ``limit``. Exact: the closed days come from the cached union, the open days (today, and
    any later day of the range) are merged in live; an article's scores live in its shard
    only, so the top ``limit`` of the site is among the top ``limit`` of each group of shards
    (one TOP call per group, merged here)."""
    boundary = open_from(site, now)
    closed = [d for d in rng.dates() if d < boundary]
    open_days = [d for d in rng.dates() if d >= boundary]
    net = network or ""
    groups = fanout.shard_groups(r)

    def build(with_closed: bool) -> list[fanout.Call]:
        calls = []
        for group in groups:
            part = fanout.group_shard(group)
            cache = keyspace.stats_top_cache(site.id, part, _span(closed) if closed else "none", net)
            open_keys = [keyspace.top_day(site.id, s, day_id(d), net) for d in open_days
                         for s in group]
            closed_keys = [keyspace.top_day(site.id, s, day_id(d), net) for d in closed
                           for s in group] if with_closed else []
            calls.append(TOP.call([cache, *open_keys, *closed_keys],
                                  [CACHE_SECONDS, limit, "1" if closed else "0", len(open_keys)]))
        return calls

    scored = [(flat[i], int(flat[i + 1])) for flat in _cached_run(r, build)
              for i in range(0, len(flat), 2) if flat[i]]
    scored.sort(key=lambda item: (item[1], item[0]), reverse=True)
    return scored[:limit]


def top(r, site, rng: Range, network: str | None = None, limit: int = 10,
        now: datetime | None = None) -> dict:
    """Top articles of the range with URL and title (from the catalogue when known)."""
    ranked = top_scores(r, site, rng, network, limit, now)
    calls = []
    for aid, _ in ranked:
        calls.append(fanout.command("HGET", keyspace.article_urls(site.id, keyspace.shard_of(aid)),
                                    aid))
        calls.append(fanout.command("HMGET", keyspace.article(site.id, aid), "title", "url"))
    meta = fanout.run(r, calls)
    untitled = {i: meta[2 * i] for i in range(len(ranked))
                if meta[2 * i] and not meta[2 * i + 1][0]}
    titles = _lookalike_titles(r, site, untitled)
    items = []
    for i, (aid, shares) in enumerate(ranked):
        url, (title, catalogue_url) = meta[2 * i], meta[2 * i + 1]
        items.append({"rank": i + 1, "id": aid, "url": url or catalogue_url,
                      "title": title or titles.get(i), "shares": shares})
    return {"site": site.id, **rng.as_dict(), "network": network, "timezone": site.timezone,
            "limit": limit, "items": items}


def _lookalike_titles(r, site, untitled: dict) -> dict:
    """{index: title} for the counted URLs of ``untitled`` ({index: canonical URL}) that the
    catalogue knows under a lookalike URL (``urls.lookalikes``): readers shared
    ``http://example.fr/a`` while the page's ``<link rel=canonical>`` says
    ``https://www.example.fr/a/``. One more round trip, only when a title is missing."""
    calls, owners = [], []
    for i, url in untitled.items():
        for other in urls.lookalikes(url):
            calls.append(fanout.command("HGET", keyspace.article(site.id, keyspace.article_id(other)),
                                        "title"))
            owners.append(i)
    found: dict = {}
    for i, title in zip(owners, fanout.run(r, calls) if calls else [], strict=True):
        if title and i not in found:
            found[i] = title
    return found


# --- one article -----------------------------------------------------------------------------
def article(r, site, canonical_url: str, rng: Range) -> dict:
    """One article over the range: daily series, networks, clickbacks, UTM breakdown, unique
    sharers, plus all-time totals. One round trip (SERIES and SUM scripts: the article's keys
    are in its shard; its title in the catalogue)."""
    aid = keyspace.article_id(canonical_url)
    dates = rng.dates()
    day_keys = [keyspace.article_day(site.id, aid, day_id(d)) for d in dates]
    hlls = [keyspace.uniques_article_day(site.id, aid, day_id(d)) for d in dates]
    series_text, summed, totals, title = fanout.run(r, [
        _series_call([], day_keys, None, 1),
        _sum_call([SumGroup([], [], day_keys, hlls)]),
        fanout.command("HGETALL", keyspace.article_totals(site.id, aid)),
        fanout.command("HGET", keyspace.article(site.id, aid), "title")])
    ((range_hash, uniques),) = _sum_result(summed)
    uniques = int(uniques)
    fig = fold(empty_figures(), range_hash)
    series = []
    for d, p in zip(dates, _series_result([series_text], len(dates)), strict=True):
        series.append({"t": d.isoformat(), "total": p["total"],
                       "networks": dict(sorted(p["networks"].items())),
                       "copy": p["copy"], "qr": p["qr"], "native": p["native"],
                       "clickbacks": p["clickbacks"]})
    utm = {field[4:]: int(v) for field, v in range_hash.items() if field.startswith("utm:")}
    fig["uniques"] = uniques
    finish(fig)
    utm_rows = []
    for triple, n in sorted(utm.items(), key=lambda kv: (-kv[1], kv[0])):
        source, medium, campaign = (triple.split("|") + ["", ""])[:3]
        utm_rows.append({"source": source, "medium": medium, "campaign": campaign, "visits": n})
    all_time = finish(fold(empty_figures(), totals))
    title = title or _lookalike_titles(r, site, {0: canonical_url}).get(0)
    return {"site": site.id, **rng.as_dict(), "timezone": site.timezone, "id": aid,
            "url": canonical_url, "title": title or None, "figures": fig,
            "all_time": {k: all_time[k] for k in ("total", "networks", "copy", "qr", "native",
                                                  "clickbacks")},
            "utm": utm_rows, "series": series}


