"""Several Redis calls at once, on one Redis or on a Redis Cluster: the only way the service
sends more than one command in a round trip (no code uses ``client.pipeline()`` directly).

    calls = [fanout.command("HGETALL", key), SUM.call(keys, args), ...]
    results = fanout.run(client, calls)          # in the order of ``calls``

* One Redis: one pipeline, one round trip.
* A cluster: the calls are grouped by the master that owns their key's slot (the client's slot
  table: no I/O), each master gets one pipeline, and every pipeline is written before any reply
  is read, so the masters work at the same time (no threads). A master that is down fails its
  calls at once; a frozen one after one socket timeout (redis-py's own ``ClusterPipeline``
  re-sends each failed call alone: 35 s for 67 calls on a frozen master with a 0.5 s timeout,
  measured), while the other masters' calls complete.
* Script calls (``LuaScript.call``) are sent as EVALSHA; a NOSCRIPT answer (first use, a
  restarted, flushed or newly promoted master) is sent again as EVAL, which also caches the
  script on that master. A MOVED or ASK answer (a slot being resharded) is sent again through
  the cluster client, which follows the redirection and updates its slot table.
* Every call is attempted; then, unless ``raise_on_error=False``, the first error is raised
  (a down master's ``ConnectionError``: the web layer's one 503).

Site-wide reads fold the shards of a site (``keyspace.SHARDS``) in *groups*: :func:`shard_groups`
gives one group of all shards on one Redis (one script call folds them all) and one group per
shard on a cluster (a script call touches one slot); callers merge the groups' answers.
Unique-sharer HyperLogLogs of several slots are merged by :func:`hll_union_counts`.
"""

from __future__ import annotations

import logging
import time

from redis import exceptions as rex
from redis.client import NEVER_DECODE

from . import keyspace
from .client import StoreDown, is_cluster, real_cluster

__all__ = ["Call", "command", "health", "hll_union_counts", "is_cluster", "run", "shard_groups"]

log = logging.getLogger("share_service.storage")

# A cluster's slot table is re-read after a master failed a fan-out, at most this often.
REFRESH_SECONDS = 1.0


class Call:
    """One command (or script call) to run with others. ``key`` routes it on a cluster (the
    master of its slot); ``raw``: the reply is left as bytes (binary values: HyperLogLogs)."""

    __slots__ = ("args", "key", "source", "raw")

    def __init__(self, args: tuple, key: str, source: str | None = None, raw: bool = False):
        self.args, self.key, self.source, self.raw = args, key, source, raw

    def options(self) -> dict:
        return {NEVER_DECODE: []} if self.raw else {}

    def as_eval(self) -> tuple:
        """The EVAL form of a script call (sent after NOSCRIPT)."""
        return ("EVAL", self.source, *self.args[2:])

    def __repr__(self) -> str:
        return f"<Call {self.args[0]} {self.key}>"


def command(*args, raw: bool = False) -> Call:
    """A plain command whose first argument is its (routing) key: ``command("HGET", key, f)``."""
    return Call(args, args[1], raw=raw)


def shard_groups(client) -> list[tuple[int, ...]]:
    """How a site-wide read folds the shards: one group of every shard on one Redis, one group
    per shard on a cluster (a script call may only touch one slot there)."""
    if is_cluster(client):
        return [(shard,) for shard in range(keyspace.SHARDS)]
    return [tuple(range(keyspace.SHARDS))]


def group_shard(group: tuple[int, ...]) -> int | None:
    """The shard a group's stats cache keys are named after (None: the all-shards group)."""
    return group[0] if len(group) == 1 else None


# --- running --------------------------------------------------------------------------------
def run(client, calls: list[Call], raise_on_error: bool = True) -> list:
    """Run ``calls`` together (see the module docstring); their replies, in order."""
    if not calls:
        return []
    results: list = [None] * len(calls)
    if is_cluster(client):
        cluster = real_cluster(client)
        groups = _by_master(cluster, calls, results)
        failed = _round_trip(groups, calls, results)
        for node in failed:
            _refresh(cluster, node)
        # a slot moved meanwhile (resharding): the cluster client follows the redirection
        for i, result in enumerate(results):
            if isinstance(result, rex.AskError):  # MovedError is an AskError
                results[i] = _via_cluster(cluster, calls[i])
    else:
        _round_trip([(None, client, list(range(len(calls))))], calls, results)
    if raise_on_error:
        for result in results:
            if isinstance(result, BaseException):
                raise result
    return results


def _by_master(cluster, calls: list[Call], results: list) -> list[tuple]:
    """[(node, its client, call indexes)] from the cluster client's slot table (no I/O)."""
    groups: dict[str, tuple] = {}
    for i, call in enumerate(calls):
        try:
            node = cluster.get_node_from_key(call.key)
        except rex.SlotNotCoveredError as exc:
            results[i] = rex.ClusterDownError(str(exc))
            continue
        if node.name not in groups:
            groups[node.name] = (node, cluster.get_redis_connection(node), [])
        groups[node.name][2].append(i)
    return list(groups.values())


def _round_trip(groups: list[tuple], calls: list[Call], results: list) -> list:
    """One pipeline per server, all written before any is read: the servers work at the same
    time and a silent one costs one socket timeout, whatever the number of servers or calls.
    Calls answered NOSCRIPT go again as EVAL (a second round trip, on those servers only).
    Returns the nodes that failed (unreachable, timing out)."""
    failed = []
    missing = _exchange(groups, calls, results, failed, as_eval=False)
    if missing:
        _exchange(missing, calls, results, failed, as_eval=True)
    return failed


def _exchange(groups, calls, results, failed, as_eval: bool) -> list[tuple]:
    sent = []
    for node, client, indexes in groups:
        pool, conn = client.connection_pool, None
        breaker = getattr(client, "breaker", None)  # one Redis: the app client's breaker
        try:
            if breaker is not None:
                breaker.check()  # failed moments ago: StoreDown at once, no socket timeout
            conn = pool.get_connection()  # connects (a fresh or broken connection)
            conn.send_packed_command(conn.pack_commands(
                [calls[i].as_eval() if as_eval else calls[i].args for i in indexes]))
        except BaseException as exc:
            if conn is not None:
                conn.disconnect()
                pool.release(conn)
            if not isinstance(exc, rex.ConnectionError | rex.TimeoutError | OSError):
                for _node, other, _indexes, other_conn in sent:  # a bug: leave nothing unread
                    other_conn.disconnect()
                    other.connection_pool.release(other_conn)
                raise
            _fail(exc, indexes, results, failed, node, breaker)
            continue
        sent.append((node, client, indexes, conn))
    missing = []
    for node, client, indexes, conn in sent:
        again, n, answered = [], 0, False
        try:
            for n, i in enumerate(indexes):  # noqa: B007 - n: where a failure stopped
                try:
                    results[i] = client.parse_response(conn, calls[i].args[0], **calls[i].options())
                except rex.NoScriptError as exc:
                    results[i] = exc
                    if not as_eval and calls[i].source is not None:
                        again.append(i)
                except rex.ResponseError as exc:
                    results[i] = exc
            answered = True
        except (rex.ConnectionError, rex.TimeoutError, OSError) as exc:
            conn.disconnect()
            _fail(exc, indexes[n:], results, failed, node, getattr(client, "breaker", None))
        except BaseException:
            conn.disconnect()  # replies left unread: never hand this connection out again
            raise
        finally:
            client.connection_pool.release(conn)
        breaker = getattr(client, "breaker", None)
        if answered and breaker is not None and breaker.open_until:
            breaker.succeeded()
        if again:
            missing.append((node, client, again))
    return missing


def _fail(exc, indexes, results, failed, node, breaker=None) -> None:
    if not isinstance(exc, rex.RedisError):
        exc = rex.ConnectionError(str(exc))
    if breaker is not None and not isinstance(exc, StoreDown):
        breaker.failed(exc)
    for i in indexes:
        results[i] = exc
    if node is not None:
        failed.append(node)


def _via_cluster(cluster, call: Call):
    try:
        try:
            return cluster.execute_command(*call.args, **call.options())
        except rex.NoScriptError:
            if call.source is None:
                raise
            return cluster.execute_command(*call.as_eval(), **call.options())
    except (rex.RedisError, rex.SlotNotCoveredError) as exc:
        return exc


_refreshed: dict[int, float] = {}


def _refresh(cluster, node) -> None:
    """A master failed its calls: re-read the slot table (a replica may have taken over), at
    most once per REFRESH_SECONDS, asking the other nodes first."""
    now = time.monotonic()
    if now - _refreshed.get(id(cluster), 0.0) < REFRESH_SECONDS:
        return
    _refreshed[id(cluster)] = now
    manager = cluster.nodes_manager
    try:
        manager.move_node_to_end_of_cached_nodes(node.name)
        manager.initialize()
    except Exception as exc:  # noqa: BLE001 - best effort; the next failure tries again
        log.info("cluster slot table not refreshed: %s", exc)


# --- health -----------------------------------------------------------------------------------
def health(client) -> dict:
    """{"redis": "ok" | "down"} for one Redis; for a cluster also "degraded" (some masters
    answer) and ``masters``: {"up", "total"} (every master PINGed, in parallel)."""
    if not is_cluster(client):
        try:
            return {"redis": "ok" if client.ping() else "down"}
        except Exception:  # noqa: BLE001 - any failure is "down" here
            return {"redis": "down"}
    try:
        cluster = real_cluster(client)
        primaries = cluster.get_primaries()
    except Exception:  # noqa: BLE001
        return {"redis": "down", "masters": {"up": 0, "total": 0}}

    results: list = [None] * len(primaries)
    _round_trip([(node, cluster.get_redis_connection(node), [i]) for i, node in enumerate(primaries)],
                [Call(("PING",), "")] * len(primaries), results)
    up = sum(1 for r in results if r is True or r == "PONG")
    state = "ok" if up == len(primaries) else "degraded" if up else "down"
    return {"redis": state, "masters": {"up": up, "total": len(primaries)}}


# --- HyperLogLogs of several slots ---------------------------------------------------------------
def hll_union_counts(client, site: str, unions: list[tuple[str | None, list | None, list]],
                     ttl: int = 3600) -> list[int] | None:
    """The cardinality of each union of HyperLogLogs, computed by Redis itself (one PFCOUNT
    of them all) in one script call on the site's catalogue slot: the shards' unique-sharer
    sets are merged as HyperLogLogs, never summed. A union is (cache, build, values):

    * ``values``: HyperLogLog values (``GET`` of each, as bytes) to count;
    * ``cache``: a HyperLogLog key of the site's slot counted with them (None: none);
    * ``build``: values to make the cache from (their union, kept ``ttl`` seconds), or None
      to use the cache as it is.

    Returns the counts, or None when a cache to use as it is does not exist (nothing written):
    call again with the values to build it from."""
    from . import scripts

    args: list = [len(unions), ttl]
    caches = []
    for cache, build, values in unions:
        build = list(build) if cache and build is not None else None
        if cache:
            caches.append(cache)
        args += [1 if cache else 0, 0 if build is None else 1, len(build or ()), len(values),
                 *(build or ()), *values]
    widest = max((max(len(b or ()), len(v)) for _c, b, v in unions), default=0)
    keys = caches + keyspace.stats_hll_scratch(site, max(widest, 1))
    counts = scripts.load(__file__, "pfunion")(client, keys=keys, args=args)
    return None if counts == -1 else [int(n) for n in counts]
