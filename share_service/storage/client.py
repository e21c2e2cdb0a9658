"""The service's one Redis connection: ``REDIS_URL``, else the embedded server (embedded.py).

:func:`connect` is what the app factory calls (through ``extensions.init_app``); the CLI, the
benchmarks and the tests use :func:`from_url` for a client of their own. Timeouts are short
(REDIS_SOCKET_TIMEOUT, REDIS_CONNECT_TIMEOUT): a slow or absent Redis must degrade answers,
never hold a request.

:data:`UNAVAILABLE` lists the exceptions that mean "the store cannot answer now" (down,
unreachable, timing out, loading, failing over): the web layer turns any of them into the one
503 answer (``errors.StorageUnavailable``); anything else from Redis is a bug and stays a 500.

The app's client has a circuit breaker (:class:`Breaker`): once a call failed as unavailable,
calls fail at once (:class:`StoreDown`, one of UNAVAILABLE) for REDIS_BREAKER_SECONDS, then one
is tried again. A frozen Redis (accepting connections, never answering) would otherwise hold
every request that reads it for the socket timeout, and with a few sync workers the reads of
the widget's counts alone would leave no worker for the tracked redirects.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

import redis
from redis import exceptions as rex
from redis.client import Pipeline

from .. import metrics
from . import keyspace
from .embedded import EmbeddedRedis, embedded_dir


class StoreDown(rex.ConnectionError):
    """Redis failed moments ago: not asked again until the breaker's pause is over."""


UNAVAILABLE: tuple[type[BaseException], ...] = (
    rex.ConnectionError,      # refused, reset, closed; also BusyLoadingError, StoreDown
    rex.TimeoutError,         # connected but not answering (a frozen or overloaded server)
    rex.ReadOnlyError,        # a replica that was a master: failover in progress
    rex.TryAgainError,
    rex.ClusterDownError,
    rex.MasterDownError,
    rex.ClusterError,
)


class Breaker:
    """Fail fast for ``pause`` seconds after a call failed as unavailable. Thread-safe enough:
    the state is one float, written whole."""

    def __init__(self, pause: float):
        self.pause = max(float(pause), 0.0)
        self.open_until = 0.0
        self.last_error = ""
        self._lock = threading.Lock()

    def check(self) -> None:
        if self.open_until and time.monotonic() < self.open_until:
            raise StoreDown(f"Redis unavailable (last error: {self.last_error}); "
                            f"not asked again for up to {self.pause:g} s")

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.open_until = time.monotonic() + self.pause
        metrics.REDIS_ERRORS.inc(type(exc).__name__)

    def succeeded(self) -> None:
        if self.open_until:
            self.open_until = 0.0

    @property
    def is_open(self) -> bool:
        return bool(self.open_until) and time.monotonic() < self.open_until


class GuardedPipeline(Pipeline):
    breaker: Breaker

    def execute(self, raise_on_error: bool = True):
        self.breaker.check()
        try:
            result = super().execute(raise_on_error)
        except UNAVAILABLE as exc:
            if not isinstance(exc, StoreDown):
                self.breaker.failed(exc)
            raise
        self.breaker.succeeded()
        return result


class GuardedRedis(redis.Redis):
    """A ``redis.Redis`` whose calls go through a :class:`Breaker` (``breaker`` attribute)."""

    breaker: Breaker

    def execute_command(self, *args, **options):
        breaker = self.breaker
        breaker.check()
        try:
            result = self._execute_command(*args, **options)
        except UNAVAILABLE as exc:
            if not isinstance(exc, StoreDown):
                breaker.failed(exc)
            raise
        if breaker.open_until:
            breaker.succeeded()
        return result

    def pipeline(self, transaction=True, shard_hint=None) -> Pipeline:
        pipe = GuardedPipeline(self.connection_pool, self.response_callbacks, transaction,
                               shard_hint)
        pipe.breaker = self.breaker
        return pipe


def from_url(url: str, socket_timeout: float = 0.5, connect_timeout: float = 0.5,
             decode_responses: bool = True, breaker_seconds: float | None = None) -> redis.Redis:
    """A client for ``redis://``, ``rediss://`` or ``unix://`` ``url``; with
    ``breaker_seconds``, a :class:`GuardedRedis` failing fast that long after a failure."""
    cls = redis.Redis if breaker_seconds is None else GuardedRedis
    client = cls.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
        decode_responses=decode_responses,
        health_check_interval=30,
    )
    if breaker_seconds is not None:
        client.breaker = Breaker(breaker_seconds)
    return client


_BINARY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def binary(client: redis.Redis) -> redis.Redis:
    """A client of the same server and settings that returns bytes (``client`` decodes every
    reply as UTF-8): for binary values such as packed vectors. One per client, kept while the
    client lives."""
    twin = _BINARY.get(client)
    if twin is None:
        pool = client.connection_pool
        kwargs = dict(pool.connection_kwargs, decode_responses=False)
        twin = redis.Redis(connection_pool=redis.ConnectionPool(
            connection_class=pool.connection_class, max_connections=pool.max_connections,
            **kwargs))
        _BINARY[client] = twin
    return twin


@dataclass
class Connection:
    """The app's store (``app.extensions["storage"]``): the client, and the embedded server when
    this process started one."""

    client: redis.Redis
    url: str
    timeout: float
    embedded: EmbeddedRedis | None = None

    def ping(self, budget: float = 1.0) -> bool:
        """Does Redis answer a PING within ``budget`` seconds? A client of its own (no breaker,
        a fresh connection each time): readiness must tell the truth, and a frozen server must
        not hold the caller longer than the budget."""
        half = max(min(budget / 2, self.timeout), 0.05)
        probe = redis.Redis.from_url(self.url, socket_timeout=half, socket_connect_timeout=half,
                                     retry=None)
        try:
            return bool(probe.ping())
        except (rex.RedisError, OSError):
            return False
        finally:
            probe.close()


def connect(settings, instance: str) -> Connection:
    """The store described by ``settings``; with no REDIS_URL the embedded server of the
    ``instance`` folder is started (or reused) and owned by this process, and REDIS_URL is set
    to its socket."""
    keyspace.configure(settings["REDIS_KEY_PREFIX"])
    embedded = None
    url = settings["REDIS_URL"]
    if not url:
        embedded = EmbeddedRedis(embedded_dir(instance)).start().stop_at_exit()
        url = settings["REDIS_URL"] = embedded.url
    client = from_url(url, settings["REDIS_SOCKET_TIMEOUT"], settings["REDIS_CONNECT_TIMEOUT"],
                      breaker_seconds=settings["REDIS_BREAKER_SECONDS"])
    return Connection(client, url, float(settings["REDIS_SOCKET_TIMEOUT"]), embedded)
