"""Write-behind recorder: requests append events to a per-process buffer; a background thread
writes them to Redis in one scripted batch per site (record.lua) every COUNTING_FLUSH_INTERVAL_MS,
or sooner when COUNTING_FLUSH_MAX_EVENTS are waiting. Requests never wait for Redis. On a Redis
Cluster a batch holds one shard's events (an article's shard is ``keyspace.shard_of(aid)``), so
each call touches one slot. All the batches of a round go in one round trip (``storage.fanout``:
one pipeline, or one per master of a cluster); each succeeds or fails on its own.

Contract (``app.extensions["recorder"]``):
  * ``add(event, ip=None, user_agent=None)``: non-blocking. When ``event.visitor`` is empty it is
    computed from ip + user agent with the day's salt (see visitors.py); if this process has not
    cached that salt yet, the raw pair waits in memory and is hashed by the flush thread.
  * ``flush()``: synchronous; everything added before the call is written (or kept for a retry)
    on return.
  * ``start()``: start the flush thread now (gunicorn's post_worker_init: a new worker replays
    the spool without waiting for traffic); otherwise it starts on first use.
  * ``close()``: final flush, then whatever Redis did not take is spooled to disk; stop
    (gunicorn's worker_exit, atexit).

Nothing lost when Redis fails (docs/counting.md, "When Redis fails"):

* Exactly once. Every batch gets, when it is formed, this process's ``producer`` id and the next
  sequence number; it keeps both through retries and the spool. Batches wait in one queue per
  slot — (site, shard) on a cluster, (site) on one Redis — and the batches of one queue are sent
  in sequence order, one at a time (a queue whose head failed waits, the others go on: a master
  down stops only its shards). record.lua stores the last sequence written per (slot, producer)
  with the counts, atomically: a batch re-sent after an unanswered call that Redis did run (a
  timeout, a frozen server resumed, a connection cut after the write) is skipped, as is a spool
  file replayed twice. The per-event dedupe keys come on top, within their window.
* Bounded buffer. While Redis is unavailable (down, frozen, failing over) the events wait in
  memory, retried with a backoff up to RETRY_MAX_SECONDS, for as long as it takes. At most
  COUNTING_BUFFER_MAX_EVENTS wait per worker; past that new events are dropped (counted in
  ``share_service_events_dropped_total{reason="buffer_full"}``, logged).
* Spool. A worker stopping while Redis is unavailable writes its batches to INSTANCE_PATH/spool
  (spool.py); the next worker (any worker, every SPOOL_SCAN_SECONDS) claims and replays them.
  Events whose visitor hash could not be computed yet (no salt: Redis was down since this worker
  started) hold a raw IP and user agent: they are never written to disk, and are dropped and
  counted (``reason="no_salt"``) when the worker stops before Redis is back.
* Batches older than COUNTING_REPLAY_MAX_AGE_HOURS are dropped rather than replayed (the
  sequence keys that make replays safe live that long, plus a day).

What a crash can lose: a worker killed with SIGKILL (or OOM-killed) loses what its memory held:
at most one flush interval's worth while Redis answers, everything buffered while it does not.
A normal stop (SIGTERM, SIGINT, gunicorn graceful restart, max_requests recycling) loses nothing.

Fork-safe: the thread starts on first use in each process; a pid change (a fork after use)
drops the parent's buffer copy in the child, gives the child its own producer id, and starts a
fresh thread there.
"""

from __future__ import annotations

import atexit
import collections
import hashlib
import logging
import os
import secrets
import threading
import time
import weakref
from pathlib import Path

import redis

from .. import metrics
from ..config import instance_path
from ..storage import fanout, keyspace, scripts
from ..storage.client import UNAVAILABLE
from . import clock
from .events import SHARING, Event
from .spool import Spool, SpooledBatch
from .visitors import SaltCache, visitor_hash

log = logging.getLogger("share_service.counting")

RECORD = scripts.load(__file__, "record")  # lua/record.lua
# Retries while Redis is unavailable: after the first failure, again after one flush interval,
# doubling up to this many seconds between attempts, for as long as it takes.
RETRY_MAX_SECONDS = 5.0
# A batch failing for another reason (a script error: a bug) is dropped after this many tries.
POISON_ATTEMPTS = 3
# How often a worker looks for spool files left by stopped workers.
SPOOL_SCAN_SECONDS = 30.0
# Drops are logged at most this often per reason (with the running total).
DROP_LOG_SECONDS = 10.0
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
        gkey = (ev.type, ev.network, ev.method, ev.aid, day, hour, ev.utm)
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


_RECORDERS: weakref.WeakSet = weakref.WeakSet()


def _forked() -> None:
    """In a forked child: every recorder's state is the parent's (``add`` need not ask the
    pid, a system call, on every event)."""
    for recorder in list(_RECORDERS):
        recorder._forked = True  # noqa: SLF001 - this module's own class


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


class _Pending:
    """One script call's worth of events of one site (and one shard on a cluster: ``shard``;
    None on one Redis), formed once, with the identity it keeps through retries and the spool
    (``producer``, ``seq``)."""

    __slots__ = ("site", "shard", "events", "producer", "seq", "created", "attempts", "held",
                 "origin")

    def __init__(self, site: str, events: list[Event], producer: str, seq: int,
                 created: float | None = None, held: bool = False, origin: Path | None = None,
                 shard: int | None = None):
        self.site, self.shard, self.events, self.producer, self.seq = (site, shard, events,
                                                                       producer, seq)
        self.created = time.time() if created is None else created
        self.attempts = 0
        self.held = held      # waited for Redis (counted as buffered or spooled): "replayed"
        self.origin = origin  # the claimed spool file it came from


def _transient(exc: BaseException) -> bool:
    """Redis cannot take the batch now, but will: keep it, whatever the wait."""
    if isinstance(exc, (*UNAVAILABLE, OSError)):
        return True
    message = str(exc)
    return isinstance(exc, redis.ResponseError) and message.startswith(("OOM", "BUSY"))


class Recorder:
    def __init__(self, client: redis.Redis, settings: dict):
        self.client = client
        self.sites = settings["SITES"]
        self.interval = max(settings["COUNTING_FLUSH_INTERVAL_MS"], 1) / 1000.0
        self.max_events = max(int(settings["COUNTING_FLUSH_MAX_EVENTS"]), 1)
        self.max_pending = max(int(settings["COUNTING_BUFFER_MAX_EVENTS"]), 1)
        self.dedupe_ttl = int(settings["COUNTING_DEDUPE_WINDOW_SECONDS"])
        self.retention_ttl = (int(settings["COUNTING_RETENTION_DAYS"]) + 1) * 86400
        self.max_age = float(settings["COUNTING_REPLAY_MAX_AGE_HOURS"]) * 3600
        self.seq_ttl = int(self.max_age) + 86400
        self.spool = Spool(instance_path(settings) / "spool",
                           int(settings["COUNTING_SPOOL_MAX_BYTES"]))
        self.salts = SaltCache()
        self._ttl_done: set[str] = set()
        self._urls_done: dict[str, set[str]] = {}
        self._memo_since = time.monotonic()
        # statistics (per process)
        self.counted = self.duplicates = self.dropped = self.failures = 0
        self.replayed = self.spooled = 0
        self._dropped_by: dict[str, int] = {}
        self._drop_logged: dict[str, float] = {}
        self._closed = False
        self._pid = None
        self._reset()
        _RECORDERS.add(self)
        atexit.register(self.close)

    # --- process-local state -----------------------------------------------------------
    def _reset(self) -> None:
        self._pid = os.getpid()
        self._forked = False
        self.producer = secrets.token_hex(8)  # this process's batches: (producer, 1, 2, ...)
        self._seq = 0
        self._buffer: collections.deque = collections.deque()
        # one queue per slot: (site, shard) on a cluster, (site, None) on one Redis
        self._queues: dict[tuple[str, int | None], collections.deque[_Pending]] = {}
        self._queued_events = 0
        self._claims: dict[Path, int] = {}  # claimed spool file -> its batches not yet done
        self._down_since: float | None = None  # monotonic time of the first failed write
        self._failed_rounds = 0
        self._retry_at = 0.0
        self._spool_scan_at = 0.0  # the first flush looks for spool files at once
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
    def start(self) -> None:
        """Fetch the daily salts and start the flush thread of this process now (the thread
        also starts on first use): a worker that gets them before its first request never
        holds a raw IP address and user agent in memory while Redis answers."""
        if self._pid != os.getpid():
            self._reset()
        self._prefetch_salts()
        self._ensure_thread()

    def add(self, event: Event, ip: str | None = None, user_agent: str | None = None) -> None:
        """Buffer one event (never blocks on Redis)."""
        if self._thread is None or self._forked:
            self._ensure_thread()
        buffer = self._buffer
        if len(buffer) + self._queued_events >= self.max_pending:
            self._drop("buffer_full", 1)
            return
        if self._down_since is not None:
            metrics.BUFFERED.inc()
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
        """Write everything buffered now (whatever the retry backoff); returns the number of
        events counted."""
        if self._pid != os.getpid():
            self._reset()
        with self._flush_lock:
            return self._flush_locked(force=True)

    def close(self) -> None:
        """Flush, spool what Redis did not take, and stop the thread (idempotent)."""
        if self._closed:
            return
        if self._pid != os.getpid():  # a forked copy: the parent's events are the parent's
            self._reset()
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() \
                and self._pid == os.getpid():
            thread.join(timeout=5)
        with self._flush_lock:
            try:
                self._flush_locked(force=True, scan=False)
            except Exception:  # noqa: BLE001 - shutting down: log, never raise
                log.exception("final recorder flush failed")
            try:
                self._spool_everything()
            except Exception:  # noqa: BLE001
                lost = self.pending()
                log.exception("recorder could not spool %d events", lost)
                self._drop("error", lost)
        metrics.PENDING.set(0)
        metrics.flush()

    def pending(self) -> int:
        """Events waiting in this process (buffered, or in batches not yet written)."""
        return len(self._buffer) + self._queued_events

    @property
    def healthy(self) -> bool:
        """False while writes to Redis are failing."""
        return self._down_since is None

    # --- background thread -------------------------------------------------------------
    def _next_wait(self) -> float:
        if self._down_since is None:
            return self.interval
        return max(min(self._retry_at - time.monotonic(), RETRY_MAX_SECONDS), 0.01)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._next_wait())
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if self._down_since is None or time.monotonic() >= self._retry_at:
                    self._prefetch_salts()
                with self._flush_lock:
                    self._flush_locked(force=False)
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

    # --- flushing ----------------------------------------------------------------------
    def _flush_locked(self, force: bool, scan: bool = True) -> int:
        """The buffer as new batches at the end of their slots' queues, then every queue
        written in order. A write that fails as unavailable stops its queue only: the batch
        stays first (with its identity) until its slot answers again."""
        now = time.monotonic()
        if not force and self._down_since is not None and now < self._retry_at:
            return 0
        if scan and self._down_since is None and now >= self._spool_scan_at:
            self._claim_spool()
        held = self._down_since is not None  # what the buffer holds waited for Redis
        formed = self._form_batches(held)
        ok, counted = self._write_queues()
        if not (ok and formed):
            self._failed()
        self._update_gauge()
        return counted

    def _slot(self, event: Event) -> tuple[str, int | None]:
        """The queue of an event's batches: its site, and its article's shard on a cluster (a
        call may touch one slot there); one Redis takes a site's shards in one call."""
        return event.site, keyspace.shard_of(event.aid) if self._cluster else None

    @property
    def _cluster(self) -> bool:
        return fanout.is_cluster(self.client)

    def _enqueue(self, pending: _Pending) -> None:
        self._queues.setdefault((pending.site, pending.shard), collections.deque()).append(pending)
        self._queued_events += len(pending.events)

    def _queued(self) -> list[_Pending]:
        return [pending for queue in self._queues.values() for pending in queue]

    def _form_batches(self, held: bool) -> bool:
        """The buffer -> batches (per slot, at most max_events each) at the end of their
        queues. False when a salt could not be fetched (Redis unavailable): the events that
        need it stay in the buffer."""
        buffer = self._buffer
        items = [buffer.popleft() for _ in range(len(buffer))]
        by_slot: dict[tuple[str, int | None], list[Event]] = {}
        waiting: list = []
        ok = True
        for item in items:
            if isinstance(item, Event):
                by_slot.setdefault(self._slot(item), []).append(item)
                continue
            if not ok:
                waiting.append(item)
                continue
            event, ip, agent = item
            try:
                tz = self.sites[event.site].timezone
                salt = self.salts.fetch(self.client, clock.day(tz, event.ts))
            except (redis.RedisError, OSError) as exc:
                ok = False
                waiting.append(item)
                self._note_failure(exc, len(items))
                continue
            event.visitor = visitor_hash(salt, event.site, ip, agent)
            by_slot.setdefault(self._slot(event), []).append(event)
        if waiting:  # back at the front, in their order, for the next round
            buffer.extendleft(reversed(waiting))
        for (site, shard), events in by_slot.items():
            for start in range(0, len(events), self.max_events):
                self._seq += 1
                self._enqueue(_Pending(site, events[start:start + self.max_events],
                                       self.producer, self._seq, held=held, shard=shard))
        return ok

    def _write_queues(self) -> tuple[bool, int]:
        """Write every queue in order: each round sends the head batch of every queue in one
        round trip (``fanout``: the masters of a cluster answer together); a queue whose head
        failed waits for the next flush, the others go on. (all written?, events counted)."""
        counted, all_ok, wrote = 0, True, False
        stopped: set[tuple[str, int | None]] = set()
        while True:
            heads: list[tuple[tuple[str, int | None], _Pending]] = []
            for slot, queue in self._queues.items():
                while queue and slot not in stopped:
                    pending = queue[0]
                    if time.time() - pending.created <= self.max_age:
                        heads.append((slot, pending))
                        break
                    self._finish(queue.popleft())
                    self._drop("too_old", len(pending.events))
            if not heads:
                break
            self._refresh_memos()
            calls = [self._call(pending) for _slot, pending in heads]
            try:
                replies = fanout.run(self.client, [call for _batch, call in calls],
                                     raise_on_error=False)
            except Exception as exc:  # noqa: BLE001 - no client at all (a cluster not up yet)
                replies = [exc] * len(calls)
            for (slot, pending), (batch, _call), reply in zip(heads, calls, replies, strict=True):
                if not isinstance(reply, BaseException):
                    wrote = True
                    self._finish(self._queues[slot].popleft())
                    counted += self._written(pending, batch, reply)
                    if pending.held:
                        self.replayed += len(pending.events)
                        metrics.REPLAYED.inc(amount=len(pending.events))
                    continue
                pending.attempts += 1
                stopped.add(slot)
                if _transient(reply):
                    all_ok = False
                    if not pending.held:
                        pending.held = True
                        metrics.BUFFERED.inc(amount=len(pending.events))
                    self._note_failure(reply, self.pending())
                elif pending.attempts < POISON_ATTEMPTS:
                    all_ok = False
                    log.warning("recorder batch of site %s failed (%s: %s); will retry",
                                pending.site, type(reply).__name__, reply)
                    self.failures += 1
                else:
                    log.error("recorder batch of site %s dropped after %d failures: %s: %s",
                              pending.site, pending.attempts, type(reply).__name__, reply)
                    self._finish(self._queues[slot].popleft())
                    self._drop("error", len(pending.events))
                    stopped.discard(slot)
        for slot in [slot for slot, queue in self._queues.items() if not queue]:
            del self._queues[slot]
        if all_ok and wrote:
            self._recovered()
        return all_ok, counted

    def _finish(self, pending: _Pending) -> None:
        """``pending`` left the queue (written or dropped)."""
        self._queued_events -= len(pending.events)
        origin = pending.origin
        if origin is not None:
            left = self._claims.get(origin, 1) - 1
            if left <= 0:
                self._claims.pop(origin, None)
                self.spool.release(origin)
            else:
                self._claims[origin] = left

    def _refresh_memos(self) -> None:
        if time.monotonic() - self._memo_since > REFRESH_SECONDS:
            self._ttl_done, self._urls_done = set(), {}
            self._memo_since = time.monotonic()

    def _call(self, pending: _Pending) -> tuple[Batch, fanout.Call]:
        """The record.lua call of a batch: its keys and the sequence key last (same hash tag,
        the same slot as the batch's own keys), its arguments and (seq, seq_ttl) last."""
        site = pending.site
        batch = build_batch(site, self.sites[site].timezone, pending.events, self.dedupe_ttl,
                            self.retention_ttl, self._ttl_done,
                            self._urls_done.setdefault(site, set()))
        seq_key = keyspace.batch_sequence(batch.keys[0], pending.producer)
        return batch, RECORD.call([*batch.keys, seq_key],
                                  [*batch.argv, pending.seq, self.seq_ttl])

    def _written(self, pending: _Pending, batch: Batch, reply) -> int:
        """Note what a batch's script call answered; the number of events counted."""
        counted, duplicates, expired, url_groups, already = reply
        if int(already):
            metrics.EVENTS.inc("already_recorded", amount=len(pending.events))
            return 0
        self._ttl_done.update(batch.keys[int(i) - 1] for i in expired)
        self._urls_done.setdefault(pending.site, set()).update(
            batch.group_aids[int(g) - 1] for g in url_groups)
        counted, duplicates = int(counted), int(duplicates)
        self.counted += counted
        self.duplicates += duplicates
        if counted:
            metrics.EVENTS.inc("counted", amount=counted)
        if duplicates:
            metrics.EVENTS.inc("duplicate", amount=duplicates)
        return counted

    # --- Redis down and back -------------------------------------------------------------
    def _note_failure(self, exc: BaseException, waiting: int) -> None:
        self.failures += 1
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("Redis unavailable (%s: %s): %d events kept in memory, retried until it "
                        "answers", type(exc).__name__, exc, waiting)

    def _failed(self) -> None:
        if self._down_since is None:
            return
        self._failed_rounds += 1
        delay = min(self.interval * 2 ** min(self._failed_rounds - 1, 16), RETRY_MAX_SECONDS)
        self._retry_at = time.monotonic() + delay

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.warning("Redis answers again after %.1f s: writing the %d events kept",
                        time.monotonic() - self._down_since, self.pending())
            self._down_since = None
            self._failed_rounds = 0
            self._retry_at = 0.0

    def _update_gauge(self) -> None:
        metrics.PENDING.set(self.pending())

    def _drop(self, reason: str, n: int) -> None:
        if n <= 0:
            return
        self.dropped += n
        total = self._dropped_by[reason] = self._dropped_by.get(reason, 0) + n
        metrics.DROPPED.inc(reason, amount=n)
        now = time.monotonic()
        if now - self._drop_logged.get(reason, -DROP_LOG_SECONDS) >= DROP_LOG_SECONDS:
            self._drop_logged[reason] = now
            log.warning("recorder dropped %d events (%s); %d dropped for this reason by this "
                        "worker so far", n, reason, total)

    # --- spool ---------------------------------------------------------------------------
    def _claim_spool(self) -> None:
        """Take over the spool files of stopped workers: their batches join the queue."""
        self._spool_scan_at = time.monotonic() + SPOOL_SCAN_SECONDS
        try:
            claimed = self.spool.claim()
        except OSError as exc:
            log.warning("cannot read the spool %s: %s", self.spool.directory, exc)
            return
        for path, batches, bad in claimed:
            if bad:
                self._drop("error", bad)
            if not batches:
                self.spool.release(path)
                continue
            n = 0
            parts = 0
            for batch in batches:
                # on a cluster a batch spooled by one Redis (every shard) splits by shard: each
                # part keeps the batch's identity, checked per slot, so a replay is still once
                by_slot: dict[tuple[str, int | None], list[Event]] = {}
                for event in batch.events:
                    by_slot.setdefault(self._slot(event), []).append(event)
                for (site, shard), events in by_slot.items():
                    self._enqueue(_Pending(site, events, batch.producer, batch.seq,
                                           batch.created, held=True, origin=path, shard=shard))
                    parts += 1
                n += len(batch.events)
            self._claims[path] = parts
            log.warning("replaying %d events spooled by a stopped worker (%s)", n, path.name)

    def _spool_everything(self) -> None:
        """Closing: the queue and the buffer go to the spool (nothing with a raw IP or user
        agent: those events are dropped)."""
        no_salt = 0
        events: list[Event] = []
        for item in self._buffer:
            if isinstance(item, Event):
                events.append(item)
            else:
                no_salt += 1
        self._buffer.clear()
        if events:
            by_slot: dict[tuple[str, int | None], list[Event]] = {}
            for event in events:
                by_slot.setdefault(self._slot(event), []).append(event)
            for (site, shard), evs in by_slot.items():
                for start in range(0, len(evs), self.max_events):
                    self._seq += 1
                    self._enqueue(_Pending(site, evs[start:start + self.max_events],
                                           self.producer, self._seq, shard=shard))
        if no_salt:
            self._drop("no_salt", no_salt)
        queued = self._queued()
        if not queued:
            return
        batches = [SpooledBatch(p.producer, p.seq, p.site, p.created, p.events) for p in queued]
        spooled, dropped = self.spool.write(batches, self.producer)
        self.spooled += spooled
        if spooled:
            metrics.SPOOLED.inc(amount=spooled)
            log.warning("recorder stopping with Redis unavailable: %d events spooled to %s",
                        spooled, self.spool.directory)
        if dropped:
            self._drop("spool_full", dropped)
        for path in list(self._claims):  # their batches were written again, in the new file
            self.spool.release(path)
        self._claims.clear()
        self._queues.clear()
        self._queued_events = 0
