"""Write-behind recorder: requests append events to a per-process buffer; a background thread
writes them to Redis in one scripted batch per site (record.lua) every COUNTING_FLUSH_INTERVAL_MS,
or sooner when COUNTING_FLUSH_MAX_EVENTS are waiting. Requests never wait for Redis. On a Redis
Cluster a batch holds one shard's events (an article's shard is ``keyspace.shard_of(aid)``), so
each call touches one slot; with a master down, the batches of that master's shards fail and
wait for retry while the other shards' batches are written.

Contract (``app.extensions["recorder"]``):
  * ``add(event, ip=None, user_agent=None)``: non-blocking. When ``event.visitor`` is empty it is
    computed from ip + user agent with the day's salt (see visitors.py); if this process has not
    cached that salt yet, the raw pair waits in memory and is hashed by the flush thread.
  * ``flush()``: synchronous; everything added before the call is written (or failed) on return.
  * ``close()``: final flush and stop (gunicorn's worker_exit, atexit).

All the batches of a flush go in one round trip (``storage.fanout``: one pipeline, or one per
master of a cluster, the masters answering together); each batch succeeds or fails on its own.

Failure handling: a batch that fails (Redis down, slow, script error) is kept and retried at the
next flushes for up to RETRY_SECONDS, then dropped with a logged, counted warning. At most
MAX_PENDING events wait in memory; beyond that new events are dropped (counted). A retried batch
that Redis did run (a timeout after execution) is not counted twice: its dedupe keys exist.

What a crash can lose: a worker killed with SIGKILL (or OOM-killed) loses the events in its
buffer, at most one flush interval's worth (COUNTING_FLUSH_INTERVAL_MS, 200 ms by default) plus any
batch being retried while Redis was unreachable. A normal stop (SIGTERM, SIGINT, gunicorn
graceful restart, max_requests recycling) flushes first.

Fork-safe: the thread starts on first use in each process; a pid change (a fork after use)
drops the parent's buffer copy in the child and starts a fresh thread there.
"""

from __future__ import annotations

import atexit
import collections
import hashlib
import logging
import os
import threading
import time

import redis

from ..storage import fanout, keyspace, scripts
from . import clock
from .events import SHARING, Event
from .visitors import SaltCache, visitor_hash

log = logging.getLogger("share_service.counting")

RECORD = scripts.load(__file__, "record")  # lua/record.lua
RETRY_SECONDS = 60.0
MAX_PENDING = 200_000
# A process sets the TTL of a per-day key (and records an article's URL) once, then again only
# after this many seconds: one EXPIRE per key per 10 minutes instead of one per batch.
REFRESH_SECONDS = 600.0


def dedupe_digest(event: Event) -> str:
    """visitor x article x type x network (x clicked target) -> 24 hex chars."""
    raw = f"{event.visitor}|{event.aid}|{event.type}|{event.network}|{event.target}"
    return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


class Batch:
    """KEYS and ARGV of one record.lua call (see the script's header), and what to remember
    once it succeeded."""

    __slots__ = ("keys", "argv", "group_aids")

    def __init__(self, keys_: list[str], argv: list, group_aids: list[str]):
        self.keys, self.argv, self.group_aids = keys_, argv, group_aids


def build_batch(site: str, timezone: str, events: list[Event], dedupe_ttl: int,
                retention_ttl: int, ttl_done=(), urls_done=()) -> Batch:
    """The script call for ``events`` of one site. Each event's keys are those of its
    article's shard; on a Redis Cluster the recorder gives one shard's events only (one slot).
    ``ttl_done``: per-day keys whose TTL this process set recently (not asked again);
    ``urls_done``: article ids whose URL it recorded."""
    key_index: dict[str, int] = {}
    key_list: list[str] = []

    def k(name: str) -> int:
        idx = key_index.get(name)
        if idx is None:
            key_list.append(name)
            idx = key_index[name] = len(key_list)
        return idx

    wants_ttl: list[int] = []

    def kt(name: str) -> int:  # a per-day / per-hour key
        idx = key_index.get(name)
        if idx is None:
            idx = k(name)
            if name not in ttl_done:
                wants_ttl.append(idx)
        return idx

    groups: dict[tuple, int] = {}
    group_args: list = []
    group_aids: list[str] = []
    event_args: list = []
    dedupe_keys: list[str] = []
    site_keys: dict[tuple[int, str, str], tuple[int, ...]] = {}

    for ev in events:
        day, hour = clock.day_hour(timezone, ev.ts)
        gkey = (ev.type, ev.network, ev.aid, day, hour, ev.utm)
        g = groups.get(gkey)
        if g is None:
            shard = keyspace.shard_of(ev.aid)
            sk = site_keys.get((shard, day, hour))
            if sk is None:  # the shard's URL map and its part of the site's counters
                sk = site_keys[(shard, day, hour)] = (
                    k(keyspace.article_urls(site, shard)),
                    kt(keyspace.site_day(site, shard, day)),
                    kt(keyspace.site_hour(site, shard, hour)),
                    k(keyspace.site_totals(site, shard)))
            share, sharing = ev.type == "share", ev.type in SHARING
            group_args += [
                ev.field(), "utm:" + "|".join(ev.utm) if ev.utm else "", ev.aid,
                "" if ev.aid in urls_done else ev.url, sk[0],
                k(keyspace.article_totals(site, ev.aid)), kt(keyspace.article_day(site, ev.aid, day)),
                *sk[1:],
                kt(keyspace.top_day(site, shard, day)) if share else 0,
                kt(keyspace.top_day(site, shard, day, ev.network)) if share else 0,
                kt(keyspace.uniques_day(site, shard, day)) if sharing else 0,
                kt(keyspace.uniques_article_day(site, ev.aid, day)) if sharing else 0,
            ]
            group_aids.append(ev.aid)
            g = groups[gkey] = len(groups) + 1
        dedupe_keys.append(keyspace.dedupe(site, ev.aid, dedupe_digest(ev)))
        event_args += (g, ev.visitor)

    argv: list = [dedupe_ttl, retention_ttl, len(wants_ttl), *wants_ttl, len(groups), *group_args,
                  len(key_list), len(events), *event_args]
    return Batch(key_list + dedupe_keys, argv, group_aids)


class _Pending:
    """Events of one batch: one site, and one shard on a Redis Cluster (``shard`` None: every
    shard of the site, one Redis)."""

    __slots__ = ("site", "shard", "events", "attempts", "since")

    def __init__(self, site: str, shard: int | None, events: list[Event], attempts: int = 0,
                 since: float = 0.0):
        self.site, self.shard, self.events, self.attempts = site, shard, events, attempts
        self.since = since or time.monotonic()


class Recorder:
    def __init__(self, client: redis.Redis, settings: dict):
        self.client = client
        self.sites = settings["SITES"]
        self.interval = max(settings["COUNTING_FLUSH_INTERVAL_MS"], 1) / 1000.0
        self.max_events = max(int(settings["COUNTING_FLUSH_MAX_EVENTS"]), 1)
        self.dedupe_ttl = int(settings["COUNTING_DEDUPE_WINDOW_SECONDS"])
        self.retention_ttl = (int(settings["COUNTING_RETENTION_DAYS"]) + 1) * 86400
        self.salts = SaltCache()
        self._ttl_done: set[str] = set()
        self._urls_done: dict[str, set[str]] = {}
        self._memo_since = time.monotonic()
        # statistics (per process)
        self.counted = self.duplicates = self.dropped = self.failures = 0
        self._closed = False
        self._pid = None
        self._reset()
        atexit.register(self.close)

    # --- process-local state -----------------------------------------------------------
    def _reset(self) -> None:
        self._pid = os.getpid()
        self._buffer: collections.deque = collections.deque()
        self._retry: list[_Pending] = []
        self._retry_events = 0
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.salts.clear()

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():  # forked after use: the parent's buffer is the parent's
            self._reset()
        if self._thread is None and not self._closed:
            thread = threading.Thread(target=self._run, name="share-recorder", daemon=True)
            self._thread = thread
            thread.start()

    # --- public API --------------------------------------------------------------------
    def add(self, event: Event, ip: str | None = None, user_agent: str | None = None) -> None:
        """Buffer one event (never blocks on Redis)."""
        if self._thread is None or self._pid != os.getpid():
            self._ensure_thread()
        buffer = self._buffer
        if len(buffer) + self._retry_events >= MAX_PENDING:
            self.dropped += 1
            if self.dropped % 10000 == 1:
                log.warning("recorder buffer full: %d events dropped so far", self.dropped)
            return
        if not event.visitor and ip is not None:
            tz = self.sites[event.site].timezone
            salt = self.salts.get(clock.day(tz, event.ts))
            if salt is None:  # hashed by the flush thread once the salt is fetched
                buffer.append((event, ip, user_agent or ""))
                return
            event.visitor = visitor_hash(salt, event.site, ip, user_agent or "")
        buffer.append(event)
        if len(buffer) == self.max_events:  # wake the flusher once, not on every later add
            self._wake.set()

    def flush(self) -> int:
        """Write everything buffered now; returns the number of events counted."""
        if self._pid != os.getpid():
            self._reset()
        with self._flush_lock:
            return self._flush_locked()

    def close(self) -> None:
        """Flush and stop the thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() \
                and self._pid == os.getpid():
            thread.join(timeout=5)
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - shutting down: log, never raise
            log.exception("final recorder flush failed")
        if self._retry or self._buffer:
            lost = sum(len(p.events) for p in self._retry) + len(self._buffer)
            self.dropped += lost
            log.warning("recorder closed with %d unwritten events (Redis unreachable)", lost)

    def pending(self) -> int:
        return len(self._buffer) + sum(len(p.events) for p in self._retry)

    # --- background thread -------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._prefetch_salts()
                self.flush()
            except Exception:  # noqa: BLE001 - the thread must survive anything
                log.exception("recorder flush failed")

    def _prefetch_salts(self) -> None:
        """Cache today's and tomorrow's salts of every site, so requests can hash at once."""
        now = time.time()
        for site in self.sites.values():
            for ts in (now, now + 3600):
                label = clock.day(site.timezone, ts)
                if self.salts.get(label) is None:
                    try:
                        self.salts.fetch(self.client, label)
                    except (redis.RedisError, OSError):
                        return

    def _drain(self) -> list[Event]:
        buffer = self._buffer
        items = [buffer.popleft() for _ in range(len(buffer))]
        events = []
        for item in items:
            if isinstance(item, Event):
                events.append(item)
                continue
            event, ip, agent = item
            try:
                tz = self.sites[event.site].timezone
                salt = self.salts.fetch(self.client, clock.day(tz, event.ts))
            except (redis.RedisError, OSError):
                self.dropped += 1  # cannot hash without the salt; never keep raw identities
                continue
            event.visitor = visitor_hash(salt, event.site, ip, agent)
            events.append(event)
        return events

    def _flush_locked(self) -> int:
        by_shard: dict[tuple[str, int | None], list[Event]] = {}
        per_shard = fanout.is_cluster(self.client)  # a call may touch one slot only
        for event in self._drain():
            part = keyspace.shard_of(event.aid) if per_shard else None
            by_shard.setdefault((event.site, part), []).append(event)
        work = self._retry + [_Pending(site, shard, evs)
                              for (site, shard), evs in by_shard.items()]
        self._retry = []
        self._retry_events = 0
        chunks = [(pending, pending.events[start:start + self.max_events]) for pending in work
                  for start in range(0, len(pending.events), self.max_events)]
        if not chunks:
            return 0
        # every batch of the flush in one round trip (one pipeline per master of a cluster,
        # where a busy worker writes up to 16 batches per site, one per shard)
        if time.monotonic() - self._memo_since > REFRESH_SECONDS:
            self._ttl_done, self._urls_done = set(), {}
            self._memo_since = time.monotonic()
        batches = [self._batch(pending.site, chunk) for pending, chunk in chunks]
        try:
            replies = fanout.run(self.client, [RECORD.call(b.keys, b.argv) for b in batches],
                                 raise_on_error=False)
        except (redis.RedisError, OSError) as exc:  # no client at all (a cluster not up yet)
            replies = [exc] * len(batches)
        counted = 0
        for (pending, chunk), batch, reply in zip(chunks, batches, replies, strict=True):
            if not isinstance(reply, redis.RedisError | OSError):
                counted += self._written(pending.site, batch, reply)
                continue
            exc = reply
            self.failures += 1
            attempts = pending.attempts + 1
            if time.monotonic() - pending.since >= RETRY_SECONDS:
                self.dropped += len(chunk)
                log.warning("dropping %d events of site %s after %d failed writes: %s",
                            len(chunk), pending.site, attempts, exc)
            else:
                if attempts == 1:
                    log.warning("recorder write failed (%s); %d events kept for retry",
                                exc, len(chunk))
                self._retry.append(_Pending(pending.site, pending.shard, chunk, attempts,
                                            pending.since))
                self._retry_events += len(chunk)
        return counted

    def _batch(self, site: str, events: list[Event]) -> Batch:
        return build_batch(site, self.sites[site].timezone, events, self.dedupe_ttl,
                           self.retention_ttl, self._ttl_done,
                           self._urls_done.setdefault(site, set()))

    def _written(self, site: str, batch: Batch, reply) -> int:
        """Note what a batch's script call answered (counted, duplicates, TTLs set, URLs
        recorded)."""
        counted, duplicates, expired, url_groups = reply
        self._ttl_done.update(batch.keys[int(i) - 1] for i in expired)
        self._urls_done.setdefault(site, set()).update(
            batch.group_aids[int(g) - 1] for g in url_groups)
        self.counted += int(counted)
        self.duplicates += int(duplicates)
        return int(counted)
