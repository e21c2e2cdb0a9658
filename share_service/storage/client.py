"""The service's one Redis client: a Redis Cluster (``REDIS_CLUSTER_NODES``), else one Redis
(``REDIS_URL``), else the embedded server (embedded.py).

:func:`connect` is what the app factory calls (through ``extensions.init_app``); the CLI, the
benchmarks and the tests use :func:`from_url` / :func:`cluster_client` for a client of their
own. Timeouts are short (REDIS_SOCKET_TIMEOUT, REDIS_CONNECT_TIMEOUT): a slow or absent Redis
must degrade answers, never hold a request.

The cluster client is redis-py's ``RedisCluster``, with two of its defaults changed:

* it connects (and reads the slot table) in its constructor and raises when no node answers:
  :class:`ClusterClient` builds it on first use instead, so the app starts (links, pages and the
  widget answer; reads 503) while the cluster is not reachable yet, and tries again at most
  once per :attr:`ClusterClient.RETRY_SECONDS`;
* it retries a failed call up to 10 times (redis-py 8) with an exponential backoff: seconds on
  a down or frozen master. Here a call is not retried (``Retry(NoBackoff(), 0)``), so a call to
  a down master fails at once and one to a frozen master after one socket timeout. The next
  call goes to the refreshed slot table (a failed-over replica).

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
from redis.backoff import NoBackoff
from redis.client import Pipeline
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import parse_url
from redis.retry import Retry

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
    rex.SlotNotCoveredError,  # a cluster slot that no master serves (not a RedisError)
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
    if twin is None and isinstance(client, ClusterClient):
        twin = _BINARY[client] = ClusterClient(client.nodes,
                                               **{**client.kwargs, "decode_responses": False})
    elif twin is None:
        pool = client.connection_pool
        kwargs = dict(pool.connection_kwargs, decode_responses=False)
        breaker = getattr(client, "breaker", None)  # the same breaker: one server, one state
        twin = (redis.Redis if breaker is None else GuardedRedis)(
            connection_pool=redis.ConnectionPool(
                connection_class=pool.connection_class, max_connections=pool.max_connections,
                **kwargs))
        if breaker is not None:
            twin.breaker = breaker
        _BINARY[client] = twin
    return twin


def parse_nodes(entries) -> tuple[list[tuple[str, int]], dict]:
    """REDIS_CLUSTER_NODES -> ([(host, port)], connection options). An entry is ``host:port``
    or a URL ``redis://`` / ``rediss://[user:password@]host:port[?ssl_cert_reqs=...]``; the
    options of the first URL (TLS, credentials, query options) apply to every node."""
    nodes: list[tuple[str, int]] = []
    options: dict | None = None
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        if "://" in entry:
            if not entry.startswith(("redis://", "rediss://")):
                raise ValueError(f"{entry!r}: a cluster node URL starts with redis:// or rediss://")
            parsed = parse_url(entry)
            host, port = parsed.pop("host", None), parsed.pop("port", 6379)
            if parsed.pop("db", 0) not in (0, None):
                raise ValueError(f"{entry!r}: a Redis Cluster has only database 0")
            if options is None:
                options = parsed
        else:
            host, _, port = entry.rpartition(":")
            host = host.strip("[]")
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise ValueError(f"{entry!r}: expected host:port") from None
        if not host or not 0 < port < 65536:
            raise ValueError(f"{entry!r}: expected host:port")
        nodes.append((host, port))
    if not nodes:
        raise ValueError("no cluster node given")
    return nodes, options or {}


class ClusterClient:
    """redis-py's ``RedisCluster``, built on first use (see the module docstring). Every
    attribute is the real client's; :meth:`cluster` returns that client, building it if
    needed, or raises ``redis.ConnectionError`` while no node answers."""

    RETRY_SECONDS = 1.0

    def __init__(self, nodes: list[tuple[str, int]], **kwargs):
        self.nodes = list(nodes)
        self.kwargs = kwargs
        self._client: RedisCluster | None = None
        self._failed_at: float | None = None
        self._error: Exception | None = None
        self._lock = threading.Lock()

    def cluster(self) -> RedisCluster:
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                now = time.monotonic()
                if self._failed_at is not None and now - self._failed_at < self.RETRY_SECONDS:
                    raise rex.ConnectionError(f"Redis Cluster unreachable: {self._error}")
                try:
                    # fresh ClusterNode objects: a node keeps the connection it was first given
                    self._client = RedisCluster(
                        startup_nodes=[ClusterNode(h, p) for h, p in self.nodes], **self.kwargs)
                except (rex.RedisClusterException, rex.RedisError, OSError) as exc:
                    self._failed_at, self._error = now, exc
                    raise rex.ConnectionError(f"Redis Cluster unreachable: {exc}") from exc
            return self._client

    @property
    def connected(self) -> bool:
        return self._client is not None

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.cluster(), name)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def __repr__(self) -> str:
        state = "connected" if self._client is not None else "not connected yet"
        return f"<ClusterClient {','.join(f'{h}:{p}' for h, p in self.nodes)} ({state})>"


def cluster_client(nodes, socket_timeout: float = 0.5, connect_timeout: float = 0.5,
                   decode_responses: bool = True) -> ClusterClient:
    """A (lazily connected) cluster client for REDIS_CLUSTER_NODES ``nodes`` (a list of
    ``host:port`` or URLs, see :func:`parse_nodes`)."""
    addresses, options = parse_nodes(nodes)
    options.setdefault("socket_timeout", socket_timeout)
    options.setdefault("socket_connect_timeout", connect_timeout)
    return ClusterClient(
        addresses,
        decode_responses=decode_responses,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
        # Serve the slots that are up when a master without a replica is down (the server's
        # cluster-require-full-coverage decides whether the others keep answering).
        require_full_coverage=False,
        # Refresh the slot table from the nodes given, never from addresses discovered once:
        # a managed service's configuration endpoint (a DNS name) stays the way in.
        dynamic_startup_nodes=False,
        **options,
    )


def is_cluster(client) -> bool:
    """True for a cluster client (``ClusterClient`` or a plain ``RedisCluster``)."""
    return isinstance(client, ClusterClient | RedisCluster)


def real_cluster(client) -> RedisCluster:
    """The ``RedisCluster`` behind a cluster client (built now if needed)."""
    return client.cluster() if isinstance(client, ClusterClient) else client


@dataclass
class Connection:
    """The app's store (``app.extensions["storage"]``): the client, and the embedded server when
    this process started one."""

    client: redis.Redis | ClusterClient
    url: str
    timeout: float
    embedded: EmbeddedRedis | None = None

    def health(self, budget: float = 1.0) -> dict:
        """``{"redis": "ok" | "degraded" | "down"}`` within about ``budget`` seconds; on a
        cluster also ``masters``: {"up", "total"} (every master PINGed at once: "degraded" when
        some answer). Readiness must tell the truth: one Redis is asked on a connection of its
        own (no breaker); a frozen server cannot hold the caller longer than the budget."""
        if is_cluster(self.client):
            from .fanout import health  # fanout builds on this module

            return health(self.client)
        return {"redis": "ok" if self.ping(budget) else "down"}

    def ping(self, budget: float = 1.0) -> bool:
        """Does one Redis answer a PING within ``budget`` seconds? (A cluster: :meth:`health`.)"""
        if is_cluster(self.client):
            return self.health(budget)["redis"] != "down"
        half = max(min(budget / 2, self.timeout), 0.05)
        probe = redis.Redis.from_url(self.url, socket_timeout=half, socket_connect_timeout=half,
                                     retry=None)
        try:
            return bool(probe.ping())
        except (rex.RedisError, OSError):
            return False
        finally:
            probe.close()


def client_for(settings, decode_responses: bool = True, socket_timeout: float | None = None,
               breaker: bool = False):
    """A new client of the store ``settings`` name (REDIS_CLUSTER_NODES, else REDIS_URL); with
    ``breaker`` one Redis fails fast for REDIS_BREAKER_SECONDS after a failure (the app's
    client). A cluster's calls are not retried: a down master fails at once."""
    timeout = settings["REDIS_SOCKET_TIMEOUT"] if socket_timeout is None else socket_timeout
    if settings["REDIS_CLUSTER_NODES"]:
        return cluster_client(settings["REDIS_CLUSTER_NODES"], timeout,
                              settings["REDIS_CONNECT_TIMEOUT"], decode_responses)
    return from_url(settings["REDIS_URL"], timeout, settings["REDIS_CONNECT_TIMEOUT"],
                    decode_responses,
                    breaker_seconds=settings["REDIS_BREAKER_SECONDS"] if breaker else None)


def connect(settings, instance: str) -> Connection:
    """The store described by ``settings``: REDIS_CLUSTER_NODES (it wins), else REDIS_URL, else
    the embedded server of the ``instance`` folder, started (or reused) and owned by this
    process (REDIS_URL is then set to its socket)."""
    keyspace.configure(settings["REDIS_KEY_PREFIX"])
    embedded = None
    if not settings["REDIS_CLUSTER_NODES"] and not settings["REDIS_URL"]:
        embedded = EmbeddedRedis(embedded_dir(instance)).start().stop_at_exit()
        settings["REDIS_URL"] = embedded.url
    client = client_for(settings, breaker=True)
    return Connection(client, settings["REDIS_URL"], float(settings["REDIS_SOCKET_TIMEOUT"]),
                      embedded)
