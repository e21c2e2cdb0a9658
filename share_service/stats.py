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
the previous period is the same number of days just before ``from``.

Reads are folded inside Redis by three scripts (SUM, SERIES, TOP below), so each query is one
round trip (two for top: titles) whose answer is a few dozen values, not thousands of hash
fields. Days that are over ("closed") never change: their folded result is cached for an hour
(``keys.stats_sum_cache`` / ``stats_hll_cache`` / ``stats_series_cache`` / ``stats_top_cache``)
and the open days (today) are always read live and merged in exactly. For top articles the
top ``limit`` of (closed + today) is among the top ``limit`` of the cached closed union plus
every article shared today, so only those are scored.

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
CACHE_SECONDS = 3600
CLOSE_DELAY_SECONDS = 300
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


# --- server-side folding and closed-day caches ---------------------------------------------------
# Reading 90 daily hashes of ~20 fields each costs more in client-side reply parsing than in
# Redis, and a PFCOUNT over 90 dense HyperLogLogs ~10 ms: these scripts fold inside Redis and
# answer a few dozen values. Days that are over ("closed": before the local day of now minus
# CLOSE_DELAY_SECONDS, so write-behind stragglers after midnight still land) never change, so
# their folded result is cached for CACHE_SECONDS; the open days (today) are always read live.

# SUM: per group, the field-by-field sum of its counter hashes and the PFCOUNT of its HLLs.
# KEYS, per group in order: [sum cache HASH, HLL cache]   (only when the group has a cache)
#                           closed hashes, closed HLLs, open hashes, open HLLs
# ARGV[1] = G (groups), ARGV[2] = cache TTL (s), then per group 5 values:
#           has_cache (1/0), closed hashes, closed HLLs, open hashes, open HLLs (counts)
# A missing cache is built from the closed keys (HSET sums + marker "_built"; PFMERGE).
# Returns {{field, sum, ...}, pfcount} per group.
SUM_SCRIPT = """
local g, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local idx, a = 1, 3
local res = {}
local function add(sums, order, f, v)
  if sums[f] == nil then sums[f] = 0; order[#order + 1] = f end
  sums[f] = sums[f] + v
end
local function sum_keys(sums, order, from, to)
  for k = from, to do
    local h = redis.call('HGETALL', KEYS[k])
    for j = 1, #h, 2 do add(sums, order, h[j], tonumber(h[j + 1])) end
  end
end
local function span(from, n)
  local t = {}
  for k = from, from + n - 1 do t[#t + 1] = KEYS[k] end
  return t
end
for gi = 1, g do
  local cached = ARGV[a] == '1'
  local ch, cp = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local oh, op = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  a = a + 5
  local sums, order, pfkeys = {}, {}, {}
  if cached then
    local sk, pk = KEYS[idx], KEYS[idx + 1]
    idx = idx + 2
    if redis.call('EXISTS', sk) == 0 or redis.call('EXISTS', pk) == 0 then
      local cs, co = {}, {}
      sum_keys(cs, co, idx, idx + ch - 1)
      local flat = {'_built', '1'}
      for _, f in ipairs(co) do flat[#flat + 1] = f; flat[#flat + 1] = string.format('%d', cs[f]) end
      redis.call('DEL', sk, pk)
      redis.call('HSET', sk, unpack(flat))
      if cp > 0 then redis.call('PFMERGE', pk, unpack(span(idx + ch, cp))) else redis.call('PFADD', pk) end
      redis.call('EXPIRE', sk, ttl)
      redis.call('EXPIRE', pk, ttl)
    end
    local h = redis.call('HGETALL', sk)
    for j = 1, #h, 2 do
      if h[j] ~= '_built' then add(sums, order, h[j], tonumber(h[j + 1])) end
    end
    pfkeys[1] = pk
  else
    sum_keys(sums, order, idx, idx + ch - 1)
    for _, k in ipairs(span(idx + ch, cp)) do pfkeys[#pfkeys + 1] = k end
  end
  idx = idx + ch + cp
  sum_keys(sums, order, idx, idx + oh - 1)
  for _, k in ipairs(span(idx + oh, op)) do pfkeys[#pfkeys + 1] = k end
  idx = idx + oh + op
  local flat = {}
  for _, f in ipairs(order) do flat[#flat + 1] = f; flat[#flat + 1] = string.format('%d', sums[f]) end
  local pf = 0
  if #pfkeys > 0 then pf = redis.call('PFCOUNT', unpack(pfkeys)) end
  res[gi] = {flat, pf}
end
return res
"""

# SERIES: one text line per counter hash (a day or an hour):
#   "<shares> <copy> <qr> <native> <clickbacks> <rec_impression> <rec_click> <net>=<n>,<net>=<n>"
# KEYS: [series cache STRING (only when ARGV[2] == "1")], closed hashes, open hashes
# ARGV[1]: a network id to keep only its shares and clickbacks, or ""; ARGV[2]: has cache;
# ARGV[3]: number of closed hashes; ARGV[4]: cache TTL (s). Returns all lines joined by "\n".
SERIES_SCRIPT = """
local net, cached, nclosed, ttl = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3]), tonumber(ARGV[4])
local function line(key)
  local h = redis.call('HGETALL', key)
  local share, visit = 0, 0
  local c = {copy = 0, qr = 0, native = 0, rec_impression = 0, rec_click = 0}
  local nets = {}
  for j = 1, #h, 2 do
    local f, v = h[j], tonumber(h[j + 1])
    local head = string.sub(f, 1, 6)
    if head == 'share:' then
      local n = string.sub(f, 7)
      if net == '' or n == net then share = share + v; nets[#nets + 1] = n .. '=' .. string.format('%d', v) end
    elseif head == 'visit:' then
      if net == '' or string.sub(f, 7) == net then visit = visit + v end
    elseif c[f] ~= nil then
      c[f] = c[f] + v
    end
  end
  return string.format('%d %d %d %d %d %d %d ', share, c.copy, c.qr, c.native, visit,
                       c.rec_impression, c.rec_click) .. table.concat(nets, ',')
end
local first = 1
local parts = {}
if cached then
  first = 2
  local text = redis.call('GET', KEYS[1])
  if not text then
    local lines = {}
    for k = 2, 1 + nclosed do lines[#lines + 1] = line(KEYS[k]) end
    text = table.concat(lines, '\\n')
    redis.call('SET', KEYS[1], text, 'EX', ttl)
  end
  parts[1] = text
  first = 2 + nclosed
end
local lines = {}
for k = first, #KEYS do lines[#lines + 1] = line(KEYS[k]) end
if #lines > 0 then parts[#parts + 1] = table.concat(lines, '\\n') end
return table.concat(parts, '\\n')
"""


def _script(r, source: str):
    """The registered script object for this client (EVALSHA, loaded on first use), kept on
    the client object itself."""
    cache = getattr(r, "_share_service_scripts", None)
    if cache is None:
        cache = {}
        r._share_service_scripts = cache
    script = cache.get(source)
    if script is None:
        script = cache[source] = r.register_script(source)
    return script


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
    return _script(r, SUM_SCRIPT)(keys=key_list, args=argv, client=client)


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
    return _script(r, SERIES_SCRIPT)(keys=key_list, args=args, client=client)


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
        [keys.site_day(site.id, day_id(d)) for d in closed],
        [keys.uniques_day(site.id, day_id(d)) for d in closed],
        [keys.site_day(site.id, day_id(d)) for d in open_],
        [keys.uniques_day(site.id, day_id(d)) for d in open_],
        (keys.stats_sum_cache(site.id, _span(closed)), keys.stats_hll_cache(site.id, _span(closed)))
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
                target.append(keys.site_hour(site.id, f"{day_id(d)}{h:02d}"))
        else:
            labels.append(d.isoformat())
            target.append(keys.site_day(site.id, day_id(d)))
    closed_days = [d for d in rng.dates() if d < boundary]
    cache = (keys.stats_series_cache(site.id, _span(closed_days), "hour" if hourly else "day",
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
# One round trip: build (if missing) the cached union of the range's closed days, then merge
# the open days (today) into it exactly and answer only the top ``limit``. The top ``limit`` of
# (closed + open) is among the top ``limit`` of the closed union plus every article shared on an
# open day, so only those candidates are scored and sorted (in the script).
# KEYS[1]  cache key (ZSET union of the closed days)
# KEYS[2 .. 1+O]  the open days' top sets;  KEYS[2+O ..] the closed days' top sets (read only
#                 when the cache must be built)
# ARGV[1]  cache TTL (s)   ARGV[2] limit   ARGV[3] "1" when the range has closed days
# ARGV[4]  O, the number of open days
# Returns {member, score, member, score, ...} best first (ties: the greater member first).
TOP_SCRIPT = """
local cache = KEYS[1]
local closed = ARGV[3] == "1"
local limit, nopen = tonumber(ARGV[2]), tonumber(ARGV[4])
if closed and redis.call('EXISTS', cache) == 0 then
  local days = {}
  for i = 2 + nopen, #KEYS do days[#days + 1] = KEYS[i] end
  redis.call('ZUNIONSTORE', cache, #days, unpack(days))
  redis.call('ZADD', cache, 0, '')  -- marks an empty union as built; never listed (score 0)
  redis.call('EXPIRE', cache, tonumber(ARGV[1]))
end
local score, members = {}, {}
if closed then
  local top = redis.call('ZREVRANGEBYSCORE', cache, '+inf', '(0', 'WITHSCORES', 'LIMIT', 0, limit)
  for i = 1, #top, 2 do
    members[#members + 1] = top[i]
    score[top[i]] = tonumber(top[i + 1])
  end
end
local fresh, names = {}, {}
for k = 2, 1 + nopen do
  local rows = redis.call('ZRANGE', KEYS[k], 0, -1, 'WITHSCORES')
  for i = 1, #rows, 2 do
    local m = rows[i]
    if fresh[m] == nil then fresh[m] = 0; names[#names + 1] = m end
    fresh[m] = fresh[m] + tonumber(rows[i + 1])
  end
end
local base = {}
if closed then
  for i = 1, #names, 1000 do
    local chunk = {}
    for j = i, math.min(i + 999, #names) do chunk[#chunk + 1] = names[j] end
    local got = redis.call('ZMSCORE', cache, unpack(chunk))
    for j = 1, #chunk do base[chunk[j]] = tonumber(got[j]) or 0 end
  end
end
for _, m in ipairs(names) do
  if score[m] == nil then members[#members + 1] = m end
  score[m] = (base[m] or 0) + fresh[m]
end
table.sort(members, function(a, b)
  if score[a] ~= score[b] then return score[a] > score[b] end
  return a > b
end)
local out = {}
for i = 1, math.min(limit, #members) do
  out[#out + 1] = members[i]
  out[#out + 1] = string.format('%d', score[members[i]])
end
return out
"""


def top_scores(r, site, rng: Range, network: str | None = None, limit: int = 10,
               now: datetime | None = None) -> list[tuple[str, int]]:
    """[(article id, shares over the range)] best first (ties: higher id first), at most
    ``limit``. Exact: the closed days come from the cached union, the open days (today, and
    any later day of the range) are merged in live."""
    boundary = open_from(site, now)
    closed = [d for d in rng.dates() if d < boundary]
    open_days = [d for d in rng.dates() if d >= boundary]
    net = network or ""
    cache = keys.stats_top_cache(site.id, _span(closed), net) if closed else ""
    closed_keys = [keys.top_day(site.id, day_id(d), net) for d in closed]
    open_keys = [keys.top_day(site.id, day_id(d), net) for d in open_days]
    flat = _script(r, TOP_SCRIPT)(
        keys=[cache or keys.stats_top_cache(site.id, "none", net), *open_keys, *closed_keys],
        args=[CACHE_SECONDS, limit, "1" if closed_keys else "0", len(open_keys)])
    return [(flat[i], int(flat[i + 1])) for i in range(0, len(flat), 2) if flat[i]]


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
    sharers, plus all-time totals. One pipelined round trip (SERIES and SUM scripts)."""
    aid = keys.article_id(canonical_url)
    dates = rng.dates()
    day_keys = [keys.article_day(site.id, aid, day_id(d)) for d in dates]
    hlls = [keys.uniques_article_day(site.id, aid, day_id(d)) for d in dates]
    pipe = r.pipeline(transaction=False)
    _series_call(r, [], day_keys, None, client=pipe)
    _sum_call(r, [SumGroup([], [], day_keys, hlls)], client=pipe)
    pipe.hgetall(keys.article_totals(site.id, aid))
    pipe.hget(keys.article(site.id, aid), "title")
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
