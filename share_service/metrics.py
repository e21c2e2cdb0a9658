"""The service's metrics: counted in plain Python, published through prometheus_client.

Every metric of the service is declared here, once. Code anywhere (the web layer, the recorder,
the Redis client) calls ``inc`` / ``observe`` / ``set`` on them: a dict update under a lock,
well under a microsecond, instead of prometheus_client's ~2-5 µs per call in multiprocess mode
(a lock and an mmap write per value). :func:`flush` hands what was counted since the last flush
to prometheus_client; it runs once a second in a small background thread of each process
(:func:`start`), when ``/metrics`` is read (that process's part), and when a worker exits.

Under gunicorn (``gunicorn.conf.py``) ``PROMETHEUS_MULTIPROC_DIR`` is set before any worker
imports prometheus_client: each worker writes its own files there and ``/metrics`` sums them
(prometheus_client's multiprocess mode), so the figures cover every worker, including those
that exited since the master started. Without it (``flask run``, the tests) the figures are this
process's.

What is measured (names as exposed; see docs/operations.md):

* ``share_service_http_requests_total{endpoint,status}``, ``..._http_request_duration_seconds
  {endpoint}`` (histogram): every request, by Flask endpoint;
* ``share_service_events_total{outcome}``: counted, duplicate (dedupe window), bot,
  already_recorded (a batch re-sent after an unanswered write that Redis had run);
* ``share_service_rate_limited_total{endpoint}``: requests over their limit (events: 429;
  redirect: redirected, not counted);
* ``share_service_events_buffered_total`` (kept in memory after a failed write),
  ``..._spooled_total`` (written to disk by a stopping worker), ``..._replayed_total`` (written
  once Redis answered again), ``..._dropped_total{reason}``, ``share_service_events_pending``
  (gauge: waiting in the workers' memory now);
* ``share_service_redis_errors_total{error}``: Redis calls that failed as unavailable.
"""

from __future__ import annotations

import atexit
import bisect
import os
import threading

import prometheus_client

prometheus_client.disable_created_metrics()  # the same samples with or without multiprocess

FLUSH_SECONDS = 1.0
# Request latency buckets (seconds): the hot paths answer in about a millisecond.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

_lock = threading.Lock()
_all: list = []


def multiprocess_dir() -> str | None:
    """The folder of prometheus_client's multiprocess files, when the process writes there."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Counter:
    """A counter with labels, counted in a dict and flushed to prometheus_client."""

    def __init__(self, name: str, doc: str, labels: tuple[str, ...] = ()):
        self.prom = prometheus_client.Counter(name, doc, labels)
        self.labelled = bool(labels)
        self._pending: dict[tuple, float] = {}
        _all.append(self)

    def inc(self, *labels: str, amount: float = 1) -> None:
        with _lock:
            pending = self._pending
            pending[labels] = pending.get(labels, 0) + amount

    def _flush(self) -> None:
        with _lock:
            pending, self._pending = self._pending, {}
        for labels, amount in pending.items():
            (self.prom.labels(*labels) if self.labelled else self.prom).inc(amount)


class Histogram:
    """A histogram with labels; observations are bucketed here and flushed in bulk."""

    def __init__(self, name: str, doc: str, labels: tuple[str, ...] = (),
                 buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self.prom = prometheus_client.Histogram(name, doc, labels, buckets=buckets)
        self.labelled = bool(labels)
        self.bounds = tuple(buckets)
        self._pending: dict[tuple, list] = {}  # labels -> [sum, count per bucket ..., +Inf]
        _all.append(self)

    def observe(self, value: float, *labels: str) -> None:
        index = bisect.bisect_left(self.bounds, value) + 1  # `le` buckets: value <= bound
        with _lock:
            row = self._pending.get(labels)
            if row is None:
                row = self._pending[labels] = [0.0] * (len(self.bounds) + 2)
            row[0] += value
            row[index] += 1

    def _flush(self) -> None:
        with _lock:
            pending, self._pending = self._pending, {}
        for labels, row in pending.items():
            child = self.prom.labels(*labels) if self.labelled else self.prom
            # prometheus_client keeps one value per bucket (not cumulative) and the sum; its
            # observe() adds one observation to each. Adding the counts directly is the same.
            child._sum.inc(row[0])  # noqa: SLF001 - bulk observe (tests/test_metrics.py)
            for bucket, count in zip(child._buckets, row[1:], strict=True):  # noqa: SLF001
                if count:
                    bucket.inc(count)


class Gauge:
    """A gauge set by one owner per process (summed over the live workers)."""

    def __init__(self, name: str, doc: str):
        self.prom = prometheus_client.Gauge(name, doc, multiprocess_mode="livesum")
        self._value: float | None = None
        _all.append(self)

    def set(self, value: float) -> None:
        self._value = value

    def _flush(self) -> None:
        value, self._value = self._value, None
        if value is not None:
            self.prom.set(value)


HTTP_REQUESTS = Counter("share_service_http_requests_total",
                        "HTTP requests answered, by Flask endpoint and status code.",
                        ("endpoint", "status"))
HTTP_LATENCY = Histogram("share_service_http_request_duration_seconds",
                         "Time to answer a request inside the worker, by Flask endpoint.",
                         ("endpoint",))
EVENTS = Counter("share_service_events_total",
                 "Events by outcome: counted, duplicate (within the dedupe window), bot (not "
                 "counted), already_recorded (a re-sent batch Redis had already written).",
                 ("outcome",))
RATE_LIMITED = Counter("share_service_rate_limited_total",
                       "Requests over their per-client limit (events: 429; redirect: redirected "
                       "but not counted).", ("endpoint",))
BUFFERED = Counter("share_service_events_buffered_total",
                   "Events kept in memory after a failed write to Redis, for a later retry.")
SPOOLED = Counter("share_service_events_spooled_total",
                  "Events written to the disk spool by a worker stopping while Redis was down.")
REPLAYED = Counter("share_service_events_replayed_total",
                   "Events of a retried or spooled batch written once Redis answered again.")
DROPPED = Counter("share_service_events_dropped_total",
                  "Events lost, by reason: buffer_full, spool_full, no_salt, too_old, error.",
                  ("reason",))
PENDING = Gauge("share_service_events_pending",
                "Events waiting in the workers' memory to be written to Redis.")
REDIS_ERRORS = Counter("share_service_redis_errors_total",
                       "Redis calls that failed because Redis was unavailable (down, frozen, "
                       "timing out, failing over), by error.", ("error",))


# --- publishing ------------------------------------------------------------------------------
_flush_lock = threading.Lock()
_thread: threading.Thread | None = None
_thread_pid: int | None = None
_stop = threading.Event()


def flush() -> None:
    """Hand everything counted in this process to prometheus_client now."""
    with _flush_lock:
        for metric in _all:
            metric._flush()  # noqa: SLF001 - this module's own classes


def _run() -> None:
    while not _stop.wait(FLUSH_SECONDS):
        flush()


def start() -> None:
    """Flush once a second in a background thread of this process (started once per process;
    a forked child starts its own)."""
    global _thread, _thread_pid
    pid = os.getpid()
    if _thread is not None and _thread_pid == pid:
        return
    with _flush_lock:
        if _thread is not None and _thread_pid == pid:
            return
        _thread_pid = pid
        _thread = threading.Thread(target=_run, name="share-metrics", daemon=True)
        _thread.start()


def exposition() -> tuple[bytes, str]:
    """The Prometheus text exposition of every process's metrics, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    flush()
    directory = multiprocess_dir()
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry = prometheus_client.REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


def value(metric, *labels: str) -> float:
    """The current value of a counter (this process, after a flush; tests and the CLI)."""
    flush()
    names = metric.prom._labelnames  # noqa: SLF001 - the declared label names
    wanted = dict(zip(names, labels, strict=True))
    for family in metric.prom.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels == wanted:
                return sample.value
    return 0.0


atexit.register(flush)
