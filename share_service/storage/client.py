"""The service's one Redis connection: ``REDIS_URL``, else the embedded server (embedded.py).

:func:`connect` is what the app factory calls (through ``extensions.init_app``); the CLI, the
benchmarks and the tests use :func:`from_url` for a client of their own. Timeouts are short
(REDIS_SOCKET_TIMEOUT, REDIS_CONNECT_TIMEOUT): a slow or absent Redis must degrade answers,
never hold a request.

:data:`UNAVAILABLE` lists the exceptions that mean "the store cannot answer now" (down,
unreachable, timing out, loading, failing over): the web layer turns any of them into the one
503 answer (``errors.StorageUnavailable``); anything else from Redis is a bug and stays a 500.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import redis
from redis import exceptions as rex

from . import keyspace
from .embedded import EmbeddedRedis, embedded_dir

UNAVAILABLE: tuple[type[BaseException], ...] = (
    rex.ConnectionError,      # refused, reset, closed; also BusyLoadingError (a subclass)
    rex.TimeoutError,         # connected but not answering (a frozen or overloaded server)
    rex.ReadOnlyError,        # a replica that was a master: failover in progress
    rex.TryAgainError,
    rex.ClusterDownError,
    rex.MasterDownError,
    rex.ClusterError,
)


def from_url(url: str, socket_timeout: float = 0.5, connect_timeout: float = 0.5,
             decode_responses: bool = True) -> redis.Redis:
    """A client for ``redis://``, ``rediss://`` or ``unix://`` ``url``."""
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
        decode_responses=decode_responses,
        health_check_interval=30,
    )


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
    embedded: EmbeddedRedis | None = None


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
    client = from_url(url, settings["REDIS_SOCKET_TIMEOUT"], settings["REDIS_CONNECT_TIMEOUT"])
    return Connection(client, embedded)
