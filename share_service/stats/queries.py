"""Statistics queries for the stats API, the dashboard and the benchmark (no Flask).

Everything is read from the counters the counting engine writes (key names: storage/keyspace.py):

- ``keyspace.site_day`` / ``keyspace.site_hour``  HASH counter field -> count (site, local day / hour)
- ``keyspace.article_day``                    HASH counter field -> count (article, local day)
- ``keyspace.top_day`` (+ network)            ZSET article id -> shares that day
- ``keyspace.uniques_day`` / ``uniques_article_day``  HyperLogLogs of sharers
- ``keyspace.article_urls`` / ``keyspace.article``  canonical URL / catalogue record (title)

Counter fields: ``share:<network>``, ``copy``, ``qr``, ``native``, ``visit:<source>``,
``rec_impression``, ``rec_click`` (and ``rec_impression:<method>``, ``rec_click:<method>`` for
events that said how their recommendations were chosen, counting.events.REC_METHODS),
``utm:<source>|<medium>|<campaign>``.

Ranges (``params.Range``) are inclusive local dates in the site's time zone; the previous period
is the same number of days just before ``from``.

Reads are folded inside Redis by three scripts (``lua/sum.lua``, ``series.lua``, ``top.lua``,
each documenting its KEYS and ARGV), so each query is one
round trip (two for top: titles) whose answer is a few dozen values, not thousands of hash
fields. Days that are over ("closed") never change: their folded result is cached for an hour
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
from ..storage import keyspace, scripts
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
    """Counter hashes and HLLs to fold, split into closed (cacheable) and open parts."""

    closed_hashes: list[str]
    closed_hlls: list[str]
    open_hashes: list[str]
    open_hlls: list[str]
    cache: tuple[str, str] | None = None  # (sum cache key, HLL cache key)


def _sum_call(r, groups: list[SumGroup], client=None):
    """Queue (or run) the SUM script over ``groups``."""
    key_list: list[str] = []
    argv: list = [len(groups), CACHE_SECONDS]
    for grp in groups:
        use_cache = grp.cache is not None and bool(grp.closed_hashes)
        if use_cache:
            key_list += list(grp.cache)
        key_list += grp.closed_hashes + grp.closed_hlls + grp.open_hashes + grp.open_hlls
        argv += [1 if use_cache else 0, len(grp.closed_hashes), len(grp.closed_hlls),
                 len(grp.open_hashes), len(grp.open_hlls)]
    return SUM(client or r, keys=key_list, args=argv)


def _sum_result(raw) -> list[tuple[dict, int]]:
    out = []
    for flat, pf in raw:
        out.append(({flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}, int(pf)))
    return out


SERIES_COLUMNS = ("total", "copy", "qr", "native", "clickbacks", "rec_impression", "rec_click")


def _series_call(r, closed: list[str], open_: list[str], network: str | None,
                 cache: str | None = None, client=None):
    use_cache = cache is not None and bool(closed)
    key_list = ([cache] if use_cache else []) + closed + open_
    args = [network or "", "1" if use_cache else "0", len(closed), CACHE_SECONDS]
    return SERIES(client or r, keys=key_list, args=args)


def _series_result(text: str, count: int) -> list[dict]:
    lines = text.split("\n") if count else []
    if len(lines) != count:
        raise RuntimeError(f"series script answered {len(lines)} lines for {count} keys")
    points = []
    for line in lines:
        parts = line.split(" ")
        point = {name: int(v) for name, v in zip(SERIES_COLUMNS, parts[:7], strict=True)}
        nets = {}
        if parts[7]:
            for pair in parts[7].split(","):
                net, n = pair.split("=")
                nets[net] = int(n)
        point["networks"] = dict(sorted(nets.items()))
        points.append(point)
    return points


def _period_group(site, period: Range, boundary: date) -> SumGroup:
    closed = [d for d in period.dates() if d < boundary]
    open_ = [d for d in period.dates() if d >= boundary]
    return SumGroup(
        [keyspace.site_day(site.id, day_id(d)) for d in closed],
        [keyspace.uniques_day(site.id, day_id(d)) for d in closed],
        [keyspace.site_day(site.id, day_id(d)) for d in open_],
        [keyspace.uniques_day(site.id, day_id(d)) for d in open_],
        (keyspace.stats_sum_cache(site.id, _span(closed)), keyspace.stats_hll_cache(site.id, _span(closed)))
        if closed else None,
    )


# --- summary ---------------------------------------------------------------------------------
def summary(r, site, rng: Range, network: str | None = None,
            now: datetime | None = None) -> dict:
    """Headline figures of ``rng`` and of the previous period of the same length, with the
    relative change of each (null when the previous value is 0). One round trip (SUM script)."""
    prev = rng.previous()
    boundary = open_from(site, now)
    groups = [_period_group(site, rng, boundary), _period_group(site, prev, boundary)]
    (cur_h, cur_u), (old_h, old_u) = _sum_result(_sum_call(r, groups))
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
    (SERIES script)."""
    if granularity not in (None, "day", "hour"):
        raise ApiError("bad_granularity", "'granularity' must be day or hour.")
    if granularity == "hour" and rng.days > HOURLY_MAX_DAYS:
        raise ApiError("bad_granularity", f"Hourly series cover at most {HOURLY_MAX_DAYS} days.")
    hourly = granularity == "hour" or (granularity is None and rng.days <= HOURLY_MAX_DAYS)
    boundary = open_from(site, now)
    labels, closed, open_ = [], [], []
    for d in rng.dates():
        target = closed if d < boundary else open_
        if hourly:
            for h in range(24):
                labels.append(f"{d.isoformat()}T{h:02d}:00")
                target.append(keyspace.site_hour(site.id, f"{day_id(d)}{h:02d}"))
        else:
            labels.append(d.isoformat())
            target.append(keyspace.site_day(site.id, day_id(d)))
    closed_days = [d for d in rng.dates() if d < boundary]
    cache = (keyspace.stats_series_cache(site.id, _span(closed_days), "hour" if hourly else "day",
                                     network or "") if closed_days else None)
    points = _series_result(_series_call(r, closed, open_, network, cache), len(labels))
    for label, point in zip(labels, points, strict=True):
        point["t"] = label
    points = [{"t": p["t"], "total": p["total"], "networks": p["networks"], "copy": p["copy"],
               "qr": p["qr"], "native": p["native"], "clickbacks": p["clickbacks"],
               "rec_impression": p["rec_impression"], "rec_click": p["rec_click"]} for p in points]
    return {"site": site.id, **rng.as_dict(), "network": network, "timezone": site.timezone,
            "granularity": "hour" if hourly else "day", "points": points}


# --- top articles ----------------------------------------------------------------------------


def top_scores(r, site, rng: Range, network: str | None = None, limit: int = 10,
               now: datetime | None = None) -> list[tuple[str, int]]:
    """[(article id, shares over the range)] best first (ties: higher id first), at most
    ``limit``. Exact: the closed days come from the cached union, the open days (today, and
    any later day of the range) are merged in live."""
    boundary = open_from(site, now)
    closed = [d for d in rng.dates() if d < boundary]
    open_days = [d for d in rng.dates() if d >= boundary]
    net = network or ""
    cache = keyspace.stats_top_cache(site.id, _span(closed), net) if closed else ""
    closed_keys = [keyspace.top_day(site.id, day_id(d), net) for d in closed]
    open_keys = [keyspace.top_day(site.id, day_id(d), net) for d in open_days]
    flat = TOP(
        r, keys=[cache or keyspace.stats_top_cache(site.id, "none", net), *open_keys, *closed_keys],
        args=[CACHE_SECONDS, limit, "1" if closed_keys else "0", len(open_keys)])
    return [(flat[i], int(flat[i + 1])) for i in range(0, len(flat), 2) if flat[i]]


def top(r, site, rng: Range, network: str | None = None, limit: int = 10,
        now: datetime | None = None) -> dict:
    """Top articles of the range with URL and title (from the catalogue when known)."""
    ranked = top_scores(r, site, rng, network, limit, now)
    pipe = r.pipeline(transaction=False)
    for aid, _ in ranked:
        pipe.hget(keyspace.article_urls(site.id), aid)
        pipe.hget(keyspace.article(site.id, aid), "title")
    meta = pipe.execute() if ranked else []
    items = []
    for i, (aid, shares) in enumerate(ranked):
        items.append({"rank": i + 1, "id": aid, "url": meta[2 * i], "title": meta[2 * i + 1] or None,
                      "shares": shares})
    return {"site": site.id, **rng.as_dict(), "network": network, "timezone": site.timezone,
            "limit": limit, "items": items}


# --- one article -----------------------------------------------------------------------------
def article(r, site, canonical_url: str, rng: Range) -> dict:
    """One article over the range: daily series, networks, clickbacks, UTM breakdown, unique
    sharers, plus all-time totals. One pipelined round trip (SERIES and SUM scripts)."""
    aid = keyspace.article_id(canonical_url)
    dates = rng.dates()
    day_keys = [keyspace.article_day(site.id, aid, day_id(d)) for d in dates]
    hlls = [keyspace.uniques_article_day(site.id, aid, day_id(d)) for d in dates]
    pipe = r.pipeline(transaction=False)
    _series_call(r, [], day_keys, None, client=pipe)
    _sum_call(r, [SumGroup([], [], day_keys, hlls)], client=pipe)
    pipe.hgetall(keyspace.article_totals(site.id, aid))
    pipe.hget(keyspace.article(site.id, aid), "title")
    series_text, summed, totals, title = pipe.execute()
    ((range_hash, uniques),) = _sum_result(summed)
    fig = fold(empty_figures(), range_hash)
    series = []
    for d, p in zip(dates, _series_result(series_text, len(dates)), strict=True):
        series.append({"t": d.isoformat(), "total": p["total"], "networks": p["networks"],
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
    return {"site": site.id, **rng.as_dict(), "timezone": site.timezone, "id": aid,
            "url": canonical_url, "title": title or None, "figures": fig,
            "all_time": {k: all_time[k] for k in ("total", "networks", "copy", "qr", "native",
                                                  "clickbacks")},
            "utm": utm_rows, "series": series}


