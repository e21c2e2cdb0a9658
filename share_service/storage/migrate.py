"""``storage migrate``: the counting keys of the one-slot layout (every key of a site under
``{site}``, before shards) merged into the sharded layout (keyspace.py). No Flask here; the CLI
is cli/storage.py.

What moves where (``keyspace.parse_legacy`` recognises the old keys):

* an article's keys (totals ``t``, days ``ad``, unique sharers ``uva``) -> the same keys in the
  article's shard;
* the id -> URL map ``urls`` and the daily top sets ``top`` -> split member by member into the
  shards of their articles;
* the site's day / hour / all-time counters (``sd``, ``sh``, ``st``) and unique sharers (``uv``)
  hold no per-article detail: they go to shard 0 (site figures are the sum / union of the
  shards, so they stay exact; the history's share of the memory stays on one master);
* dedupe marks and stats caches (``dd``, ``topc``, ``sumc``, ``uvc``, ``serc``) are short-lived:
  deleted, not moved (a share repeated within the dedupe window of the migration may count
  again);
* the catalogue and the global keys keep their names: nothing to do.

Merging, not copying: counters add up (HINCRBY), top scores add up (ZINCRBY), HyperLogLogs are
merged (PFMERGE), the URL map is set (HSET); the target keeps the longer time to live. So the
new version may already be counting into the same keys while the migration runs.

Exactly once, even run twice, resumed after a crash, or with an old process still writing
(a rolling deploy): in place, each old key is first renamed within its slot to a name unique
to the run (``keyspace.legacy_claim``); the merge script records that name in the target
shard's ``keyspace.migrated`` SET in the same atomic call and does nothing if it is there
already; the claimed key is deleted afterwards. A key an old process writes again later is a
new key, migrated by the next run. Keys claimed by an interrupted run are finished by the next.

``source``: another store to read the old layout from (``storage migrate --from URL``, e.g. the
one Redis a deployment leaves for a cluster); it is left untouched, every other key of the
service (catalogue, users, API keys, salts, sessions, keys already sharded) is copied as is
(DUMP / RESTORE REPLACE with its time to live), and the merge markers are the old keys' names:
stop the old service first, or run it again after the last write.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

from redis import exceptions as rex

from . import fanout, keyspace, scripts

MERGE = scripts.load(__file__, "migrate")  # lua/migrate.lua
CHUNK = 500

# old family -> merge operation in its targets
OPS = {"urls": "hset", "t": "hincr", "ad": "hincr", "st": "hincr", "sd": "hincr", "sh": "hincr",
       "top": "zincr", "uv": "pfmerge", "uva": "pfmerge"}


@dataclass
class Report:
    """What a run did (or, dry, would do)."""

    merged: Counter = field(default_factory=Counter)      # old keys merged, by family
    already: int = 0                                      # parts merged by an earlier run
    deleted: Counter = field(default_factory=Counter)     # short-lived keys dropped, by family
    copied: int = 0                                       # other keys copied (with a source)
    sites: set = field(default_factory=set)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"sites: {', '.join(sorted(self.sites)) or '-'}",
               f"old counting keys merged into shards: {sum(self.merged.values())}"
               + (f" ({', '.join(f'{k} {v}' for k, v in sorted(self.merged.items()))})"
                  if self.merged else "")]
        if self.already:
            out.append(f"parts already merged by an earlier run (skipped): {self.already}")
        out.append(f"short-lived keys deleted (dedupe marks, stats caches): "
                   f"{sum(self.deleted.values())}")
        if self.copied:
            out.append(f"other keys copied as they are: {self.copied}")
        out.append(f"took {self.seconds:.1f} s")
        return out


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _targets(site: str, family: str, rest: list[str], value) -> list[tuple[str, int, list]]:
    """[(target key, shard, payload)] of one old key's value."""
    if family == "urls":  # HASH aid -> url: split by the articles' shards
        parts: dict[int, list] = {}
        for aid, url in value.items():
            parts.setdefault(keyspace.shard_of(_text(aid)), []).extend((aid, url))
        return [(keyspace.article_urls(site, shard), shard, payload)
                for shard, payload in parts.items()]
    if family == "top":  # ZSET aid -> score: split by the articles' shards
        day, network = rest[0], (rest[1] if len(rest) > 1 else "")
        parts = {}
        for aid, score in value:
            parts.setdefault(keyspace.shard_of(_text(aid)), []).extend((aid, repr(score)))
        return [(keyspace.top_day(site, shard, day, network), shard, payload)
                for shard, payload in parts.items()]
    if family in ("t", "ad", "uva"):
        aid = rest[0]
        key = (keyspace.article_totals(site, aid) if family == "t"
               else keyspace.article_day(site, aid, rest[1]) if family == "ad"
               else keyspace.uniques_article_day(site, aid, rest[1]))
        shard = keyspace.shard_of(aid)
    else:  # site-wide history: shard 0
        shard = 0
        key = (keyspace.site_totals(site, 0) if family == "st"
               else keyspace.site_day(site, 0, rest[0]) if family == "sd"
               else keyspace.site_hour(site, 0, rest[0]) if family == "sh"
               else keyspace.uniques_day(site, 0, rest[0]))
    payload = ([value] if family in ("uv", "uva")
               else [x for pair in value.items() for x in pair])
    return [(key, shard, payload)]


def _read(client, keys: list[str]) -> list[tuple[str, object, int]]:
    """(type, value, pttl) of each key (None value: gone meanwhile)."""
    kinds = fanout.run(client, [fanout.command("TYPE", k) for k in keys])
    calls = []
    for key, kind in zip(keys, kinds, strict=True):
        kind = _text(kind)
        if kind == "hash":
            calls.append(fanout.command("HGETALL", key))
        elif kind == "zset":
            calls.append(fanout.command("ZRANGE", key, 0, -1, "WITHSCORES"))
        else:
            calls.append(fanout.command("GET", key, raw=True))
        calls.append(fanout.command("PTTL", key))
    replies = fanout.run(client, calls, raise_on_error=False)
    out = []
    for i in range(len(keys)):
        value, pttl = replies[2 * i], replies[2 * i + 1]
        for reply in (value, pttl):
            if isinstance(reply, Exception):
                raise reply
        kind = _text(kinds[i])
        if kind == "zset":
            value = _pairs(value)
        out.append((kind, value if kind != "none" else None, int(pttl)))
    return out


def _pairs(rows: list) -> list:
    if rows and not isinstance(rows[0], list | tuple):
        return list(zip(rows[::2], [float(s) for s in rows[1::2]], strict=True))
    return [(member, float(score)) for member, score in rows]


def _scan(client, pattern: str):
    seen = set()
    for key in client.scan_iter(match=pattern, count=1000):
        key = _text(key)
        if key not in seen:  # SCAN may return a key twice
            seen.add(key)
            yield key


def migrate(target, source=None, dry_run: bool = False, progress=None) -> Report:
    """Merge every old-layout counting key of ``source`` (default: ``target`` itself, in place)
    into ``target``'s sharded layout; with a separate ``source``, copy its other keys too.
    Both clients must leave values as bytes (``decode_responses=False``)."""
    t0 = time.monotonic()
    report = Report()
    in_place = source is None
    source = target if in_place else source
    run = f"{int(time.time())}{secrets.token_hex(3)}"
    batch: list[str] = []

    def flush() -> None:
        if batch:
            _migrate_chunk(target, source, list(batch), run, in_place, dry_run, report)
            batch.clear()
            if progress:
                progress(report)

    for key in _scan(source, keyspace.all_keys()):
        parsed = keyspace.parse_legacy(key)
        if parsed is None:
            if not in_place:
                batch.append(key)  # copied as it is
        else:
            report.sites.add(parsed[0])
            batch.append(key)
        if len(batch) >= CHUNK:
            flush()
    flush()
    report.seconds = time.monotonic() - t0
    return report


def _migrate_chunk(target, source, keys: list[str], run: str, in_place: bool, dry_run: bool,
                   report: Report) -> None:
    legacy = {k: keyspace.parse_legacy(k) for k in keys}
    others = [k for k in keys if legacy[k] is None]
    old = [k for k in keys if legacy[k] is not None]
    if others:
        report.copied += _copy(target, source, others, dry_run)
    dropped = [k for k in old if legacy[k][1] in keyspace.LEGACY_DROPPED]
    moving = [k for k in old if legacy[k][1] in OPS]
    for key in dropped:
        report.deleted[legacy[key][1]] += 1
    if dry_run:
        for key in moving:
            report.merged[legacy[key][1]] += 1
        return
    if in_place and dropped:
        fanout.run(target, [fanout.command("DEL", k) for k in dropped])
    if not moving:
        return
    names = moving
    if in_place:  # claim: rename within the slot to a name unique to this run
        claims = [k if keyspace.is_claimed(k) else keyspace.legacy_claim(k, run) for k in moving]
        renamed = fanout.run(target, [fanout.command("RENAMENX", k, c) for k, c in
                                      zip(moving, claims, strict=True) if k != c],
                             raise_on_error=False)
        fresh = iter(renamed)
        names = []
        for key, claim in zip(moving, claims, strict=True):
            if key == claim:
                names.append(claim)
                continue
            outcome = next(fresh)
            if isinstance(outcome, rex.ResponseError) and "no such key" in str(outcome).lower():
                continue  # gone meanwhile (expired)
            if isinstance(outcome, Exception):
                raise outcome
            if not outcome:  # the claim name exists: keep it for the next run
                continue
            names.append(claim)
    merges, merged_keys = [], []
    for name, (_kind, value, pttl) in zip(names, _read(source, names), strict=True):
        if value is None:
            continue
        site, family, rest = keyspace.parse_legacy(name)
        for key, shard, payload in _targets(site, family, rest, value):
            merges.append(MERGE.call([key, keyspace.migrated(site, shard),
                                      keyspace.scratch(site, shard)],
                                     [OPS[family], name, pttl, *payload]))
        merged_keys.append((name, family))
    outcomes = fanout.run(target, merges)
    report.already += sum(1 for o in outcomes if int(o) == 0)
    for _name, family in merged_keys:
        report.merged[family] += 1
    if in_place and merged_keys:
        _forget(target, [name for name, _ in merged_keys])


def _forget(client, names: list[str]) -> None:
    """Delete old keys once merged (a crash before this: the next run finds them claimed, and
    the markers make their merge a no-op)."""
    fanout.run(client, [fanout.command("DEL", name) for name in names])


def _copy(target, source, keys: list[str], dry_run: bool) -> int:
    """Copy keys as they are (DUMP / RESTORE REPLACE with their time to live)."""
    replies = fanout.run(source, [c for k in keys for c in (fanout.command("DUMP", k, raw=True),
                                                            fanout.command("PTTL", k))])
    restores = []
    for i, key in enumerate(keys):
        dump, pttl = replies[2 * i], int(replies[2 * i + 1])
        if dump is None or pttl == -2:
            continue
        restores.append(fanout.command("RESTORE", key, max(pttl, 0), dump, "REPLACE"))
    if not dry_run:
        fanout.run(target, restores)
    return len(restores)
