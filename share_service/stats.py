"""Statistics queries for the stats API, the dashboard and the benchmark (no Flask).

Everything is read from the counters the counting engine writes (see contracts.md and keys.py):

- ``keys.site_day`` / ``keys.site_hour``  HASH counter field -> count (site, local day / hour)
- ``keys.article_day``                    HASH counter field -> count (article, local day)
- ``keys.top_day`` (+ network)            ZSET article id -> shares that day
- ``keys.uniques_day`` / ``uniques_article_day``  HyperLogLogs of sharers
- ``keys.article_urls`` / ``keys.article``  canonical URL / catalogue record (title)

Counter fields: ``share:<network>``, ``copy``, ``qr``, ``native``, ``visit:<source>``,
``rec_impression``, ``rec_click``, ``utm:<source>|<medium>|<campaign>``.

Ranges are inclusive local dates (``from``/``to``, ISO ``YYYY-MM-DD``) in the site's time zone;
the previous period is the same number of days just before ``from``. Each query is built to cost
one (pipelined) round trip, plus one for top articles. Top articles over a range union the daily
top sets: the union of the range's *closed* days (before today) is cached in Redis
(``keys.stats_top_cache``, a few hours: closed days no longer change) and today's set is merged
in exactly without re-unioning: the top ``limit`` of (closed + today) is among the top ``limit``
of the closed union plus every article shared today.

Definitions:
- ``total``: shares through networks (``share:*``); ``copy``, ``qr``, ``native`` are separate.
- ``clickbacks``: visits that arrived through one of our tagged links (``visit:*``).
- ``amplification``: clickbacks per share action — overall ``clickbacks / (total + copy + qr +
  native)``; per network ``visit:<n> / share:<n>``; per channel ``visit:copy / copy`` etc.
- ``rec_ctr``: ``rec_click / rec_impression``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from . import keys, networks
from .errors import ApiError

MAX_RANGE_DAYS = 400
HOURLY_MAX_DAYS = 7
DEFAULT_DAYS = 30
TOP_CACHE_SECONDS = 6 * 3600
MAX_LIMIT = 100
CHANNELS = ("copy", "qr", "native")
MIN_YEAR, MAX_YEAR = 2000, 2100
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- ranges ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Range:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def previous(self) -> Range:
        return Range(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def as_dict(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "days": self.days}


def today(site, now: datetime | None = None) -> date:
    now = now or datetime.now(site.tz)
    return now.astimezone(site.tz).date()


def _parse_date(value: str, name: str) -> date:
    if not _DATE_RE.match(value or ""):
        raise ApiError("bad_date", f"'{name}' must be an ISO date YYYY-MM-DD.")
    try:
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError("bad_date", f"'{name}' is not a valid date: {value}.") from exc
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ApiError("bad_date", f"'{name}' must lie between {MIN_YEAR} and {MAX_YEAR}.")
    return parsed


def parse_range(site, raw_from: str | None, raw_to: str | None, now: datetime | None = None,
                max_days: int = MAX_RANGE_DAYS) -> Range:
    """The inclusive local range from the query; defaults: the last 30 days up to today."""
    end = _parse_date(raw_to, "to") if raw_to else today(site, now)
    start = (_parse_date(raw_from, "from") if raw_from
             else end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise ApiError("bad_range", "'from' must not be after 'to'.")
    if (end - start).days + 1 > max_days:
        raise ApiError("range_too_long", f"A range covers at most {max_days} days.")
    return Range(start, end)


def preset_range(site, preset: str, now: datetime | None = None) -> Range:
    """Dashboard presets: today, 7d, 30d, 90d (ending today)."""
    end = today(site, now)
    days = {"today": 1, "7d": 7, "30d": 30, "90d": 90}.get(preset)
    if days is None:
        raise ApiError("bad_range", f"Unknown period {preset!r}.")
    return Range(end - timedelta(days=days - 1), end)


def parse_network(raw: str | None) -> str | None:
    if not raw:
        return None
    net = networks.get(raw)
    if net is None:
        raise ApiError("unknown_network", f"Unknown network {raw!r}.")
    return net.id


def parse_limit(raw: str | None, default: int = 10) -> int:
    if raw in (None, ""):
        return default
    try:
        limit = int(raw)
    except ValueError as exc:
        raise ApiError("bad_limit", "'limit' must be an integer.") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError("bad_limit", f"'limit' must be between 1 and {MAX_LIMIT}.")
    return limit


def day_id(d: date) -> str:
    return d.strftime("%Y%m%d")


# --- folding counter hashes ------------------------------------------------------------------
def empty_figures() -> dict:
    return {"total": 0, "networks": {}, "copy": 0, "qr": 0, "native": 0, "clickbacks": 0,
            "clickbacks_by_source": {}, "rec_impression": 0, "rec_click": 0}


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
    return into


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def finish(fig: dict) -> dict:
    """Add the derived figures: amplification (overall and per source) and recommendation CTR."""
    actions = fig["total"] + fig["copy"] + fig["qr"] + fig["native"]
    fig["amplification"] = _ratio(fig["clickbacks"], actions)
    per = {}
    for src, visits in fig["clickbacks_by_source"].items():
        base = fig["networks"].get(src, fig.get(src, 0) if src in CHANNELS else 0)
        per[src] = _ratio(visits, base)
    for net, shares in fig["networks"].items():
        per.setdefault(net, _ratio(0, shares))
    fig["amplification_by_source"] = dict(sorted(per.items()))
    fig["rec_ctr"] = _ratio(fig["rec_click"], fig["rec_impression"])
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


# --- summary ---------------------------------------------------------------------------------
def summary(r, site, rng: Range, network: str | None = None) -> dict:
    """Headline figures of ``rng`` and of the previous period of the same length, with the
    relative change of each (null when the previous value is 0). One round trip."""
    prev = rng.previous()
    cur_days, prev_days = rng.dates(), prev.dates()
    pipe = r.pipeline(transaction=False)
    for d in cur_days + prev_days:
        pipe.hgetall(keys.site_day(site.id, day_id(d)))
    pipe.pfcount(*[keys.uniques_day(site.id, day_id(d)) for d in cur_days])
    pipe.pfcount(*[keys.uniques_day(site.id, day_id(d)) for d in prev_days])
    out = pipe.execute()
    cur, old = empty_figures(), empty_figures()
    for h in out[: len(cur_days)]:
        fold(cur, h, network)
    for h in out[len(cur_days): len(cur_days) + len(prev_days)]:
        fold(old, h, network)
    cur["uniques"], old["uniques"] = out[-2], out[-1]
    finish(cur)
    finish(old)
    change = {name: _change(cur[name], old[name]) for name in SCALARS}
    change["networks"] = {n: _change(v, old["networks"].get(n, 0)) for n, v in cur["networks"].items()}
    change["clickbacks_by_source"] = {
        s: _change(v, old["clickbacks_by_source"].get(s, 0))
        for s, v in cur["clickbacks_by_source"].items()}
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
               granularity: str | None = None) -> dict:
    """Figures per local day, or per local hour for ranges up to 7 days. One round trip."""
    if granularity not in (None, "day", "hour"):
        raise ApiError("bad_granularity", "'granularity' must be day or hour.")
    if granularity == "hour" and rng.days > HOURLY_MAX_DAYS:
        raise ApiError("bad_granularity", f"Hourly series cover at most {HOURLY_MAX_DAYS} days.")
    hourly = granularity == "hour" or (granularity is None and rng.days <= HOURLY_MAX_DAYS)
    labels, key_names = [], []
    for d in rng.dates():
        if hourly:
            for h in range(24):
                labels.append(f"{d.isoformat()}T{h:02d}:00")
                key_names.append(keys.site_hour(site.id, f"{day_id(d)}{h:02d}"))
        else:
            labels.append(d.isoformat())
            key_names.append(keys.site_day(site.id, day_id(d)))
    pipe = r.pipeline(transaction=False)
    for k in key_names:
        pipe.hgetall(k)
    points = []
    for label, h in zip(labels, pipe.execute(), strict=True):
        fig = fold(empty_figures(), h, network)
        points.append({
            "t": label, "total": fig["total"], "networks": dict(sorted(fig["networks"].items())),
            "copy": fig["copy"], "qr": fig["qr"], "native": fig["native"],
            "clickbacks": fig["clickbacks"], "rec_impression": fig["rec_impression"],
            "rec_click": fig["rec_click"],
        })
    return {"site": site.id, **rng.as_dict(), "network": network, "timezone": site.timezone,
            "granularity": "hour" if hourly else "day", "points": points}


# --- top articles ----------------------------------------------------------------------------
# One round trip: build (if missing) the cached union of the closed days, then read its top
# ``limit`` and the scores in it of every article shared today.
# KEYS[1]  cache key (ZSET union of the closed days)    KEYS[2]  today's top set (may be absent)
# KEYS[3..] the closed days' top sets (only read when the cache must be built)
# ARGV[1]  cache TTL (seconds)   ARGV[2] limit   ARGV[3] "1" when there are closed days
# Returns {top closed [member, score, ...], today [member, score, ...], closed scores of today's}
TOP_SCRIPT = """
local cache, todaykey = KEYS[1], KEYS[2]
if ARGV[3] == "1" and redis.call('EXISTS', cache) == 0 then
  local days = {}
  for i = 3, #KEYS do days[#days + 1] = KEYS[i] end
  redis.call('ZUNIONSTORE', cache, #days, unpack(days))
  redis.call('ZADD', cache, 0, '')  -- marks an empty union as built; never listed (score 0)
  redis.call('EXPIRE', cache, tonumber(ARGV[1]))
end
local limit = tonumber(ARGV[2])
local top = {}
if ARGV[3] == "1" then
  top = redis.call('ZREVRANGEBYSCORE', cache, '+inf', '(0', 'WITHSCORES', 'LIMIT', 0, limit)
end
local today = redis.call('ZRANGE', todaykey, 0, -1, 'WITHSCORES')
local closed = {}
if ARGV[3] == "1" and #today > 0 then
  local members = {}
  for i = 1, #today, 2 do members[#members + 1] = today[i] end
  for i = 1, #members, 5000 do
    local chunk = {}
    for j = i, math.min(i + 4999, #members) do chunk[#chunk + 1] = members[j] end
    local scores = redis.call('ZMSCORE', cache, unpack(chunk))
    for j = 1, #scores do closed[#closed + 1] = scores[j] or false end
  end
end
return {top, today, closed}
"""


def _pairs(flat) -> list[tuple[str, float]]:
    return [(flat[i], float(flat[i + 1])) for i in range(0, len(flat), 2)]


def top_scores(r, site, rng: Range, network: str | None = None, limit: int = 10,
               now: datetime | None = None) -> list[tuple[str, int]]:
    """[(article id, shares over the range)] best first (ties: higher id first), at most
    ``limit``. Exact: the closed days come from the cached union, the open day (today, or a
    future day) is merged in."""
    t = today(site, now)
    closed = [d for d in rng.dates() if d < t]
    open_days = [d for d in rng.dates() if d >= t]
    scores: dict[str, float] = {}
    cache = keys.stats_top_cache(site.id, f"{day_id(rng.start)}-{day_id(min(rng.end, t))}",
                                 network or "")
    # Only today can be open inside a range (future days hold nothing); others are summed too.
    open_keys = [keys.top_day(site.id, day_id(d), network or "") for d in open_days]
    closed_keys = [keys.top_day(site.id, day_id(d), network or "") for d in closed]
    first_open = open_keys[0] if open_keys else keys.top_day(site.id, "00000000", network or "")
    top, today_flat, closed_of_today = r.eval(
        TOP_SCRIPT, 2 + len(closed_keys), cache, first_open, *closed_keys,
        TOP_CACHE_SECONDS, limit, "1" if closed_keys else "0")
    for member, score in _pairs(top):
        scores[member] = score
    for i, (member, score) in enumerate(_pairs(today_flat)):
        base = closed_of_today[i] if i < len(closed_of_today) else None
        scores[member] = (float(base) if base else 0.0) + score
    if len(open_keys) > 1:  # more than one open day (a range reaching into the future)
        pipe = r.pipeline(transaction=False)
        for k in open_keys[1:]:
            pipe.zrange(k, 0, -1, withscores=True)
        for rows in pipe.execute():
            for member, score in rows:
                scores[member] = scores.get(member, 0.0) + score
    ranked = sorted(((m, int(s)) for m, s in scores.items() if s > 0 and m),
                    key=lambda kv: (-kv[1], _neg(kv[0])))
    return ranked[:limit]


def _neg(member: str) -> tuple:
    # Ties: higher id first, like ZREVRANGE.
    return tuple(-ord(c) for c in member)


def top(r, site, rng: Range, network: str | None = None, limit: int = 10,
        now: datetime | None = None) -> dict:
    """Top articles of the range with URL and title (from the catalogue when known)."""
    ranked = top_scores(r, site, rng, network, limit, now)
    pipe = r.pipeline(transaction=False)
    for aid, _ in ranked:
        pipe.hget(keys.article_urls(site.id), aid)
        pipe.hget(keys.article(site.id, aid), "title")
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
    sharers, plus all-time totals. One round trip."""
    aid = keys.article_id(canonical_url)
    dates = rng.dates()
    pipe = r.pipeline(transaction=False)
    for d in dates:
        pipe.hgetall(keys.article_day(site.id, aid, day_id(d)))
    pipe.pfcount(*[keys.uniques_article_day(site.id, aid, day_id(d)) for d in dates])
    pipe.hgetall(keys.article_totals(site.id, aid))
    pipe.hget(keys.article(site.id, aid), "title")
    out = pipe.execute()
    day_hashes = out[: len(dates)]
    uniques, totals, title = out[len(dates)], out[len(dates) + 1], out[len(dates) + 2]
    fig = empty_figures()
    utm: dict[str, int] = {}
    series = []
    for d, h in zip(dates, day_hashes, strict=True):
        fold(fig, h)
        day = fold(empty_figures(), h)
        series.append({"t": d.isoformat(), "total": day["total"],
                       "networks": dict(sorted(day["networks"].items())),
                       "copy": day["copy"], "qr": day["qr"], "native": day["native"],
                       "clickbacks": day["clickbacks"]})
        for field, raw in h.items():
            if field.startswith("utm:"):
                utm[field[4:]] = utm.get(field[4:], 0) + int(raw)
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


# --- CSV -------------------------------------------------------------------------------------
def _num(v) -> str:
    if v is None:
        return ""
    return str(v)


def summary_rows(data: dict) -> Iterator[list]:
    yield ["metric", "current", "previous", "change"]
    cur, prev, change = data["current"], data["previous"], data["change"]
    for name in SCALARS:
        yield [name, _num(cur[name]), _num(prev[name]), _num(change[name])]
    for net, v in cur["networks"].items():
        yield [f"share:{net}", v, prev["networks"].get(net, 0), _num(change["networks"][net])]
    for src, v in cur["clickbacks_by_source"].items():
        yield [f"visit:{src}", v, prev["clickbacks_by_source"].get(src, 0),
               _num(change["clickbacks_by_source"][src])]


def _series_columns(points) -> list[str]:
    nets = sorted({n for p in points for n in p["networks"]})
    return nets


def timeseries_rows(data: dict) -> Iterator[list]:
    nets = _series_columns(data["points"])
    yield ["t", "total", *[f"share:{n}" for n in nets], "copy", "qr", "native", "clickbacks",
           "rec_impression", "rec_click"]
    for p in data["points"]:
        yield [p["t"], p["total"], *[p["networks"].get(n, 0) for n in nets], p["copy"], p["qr"],
               p["native"], p["clickbacks"], p["rec_impression"], p["rec_click"]]


def top_rows(data: dict) -> Iterator[list]:
    yield ["rank", "id", "url", "title", "shares"]
    for it in data["items"]:
        yield [it["rank"], it["id"], it["url"] or "", it["title"] or "", it["shares"]]


def article_rows(data: dict) -> Iterator[list]:
    nets = _series_columns(data["series"])
    yield ["t", "total", *[f"share:{n}" for n in nets], "copy", "qr", "native", "clickbacks"]
    for p in data["series"]:
        yield [p["t"], p["total"], *[p["networks"].get(n, 0) for n in nets], p["copy"], p["qr"],
               p["native"], p["clickbacks"]]
    if data["utm"]:
        yield []
        yield ["utm_source", "utm_medium", "utm_campaign", "visits"]
        for u in data["utm"]:
            yield [u["source"], u["medium"], u["campaign"], u["visits"]]


def _safe_cell(value) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a text cell starting with = + - @ gets
    a leading apostrophe. Numbers are written as they are."""
    text = str(value)
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def csv_lines(rows: Iterable[list]) -> Iterator[str]:
    """Stream rows as CSV text, one line at a time."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_safe_cell(v) for v in row])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
