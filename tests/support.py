"""What several test modules share (plain values and functions; fixtures live in conftest.py)."""

from __future__ import annotations

# A reader's browser. The service does not count bots, and headless Chromium announces itself as
# HeadlessChrome (on the crawler lists): browser tests and traffic helpers present this agent.
BROWSER_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")


def flush_recorder(app) -> int:
    """Write the app's buffered events now (the write-behind flush, synchronous); returns how
    many were counted. Tests use the ``flush`` fixture; helpers given an app call this."""
    return app.extensions["recorder"].flush()


def all_keys(redis, pattern: str = "*") -> list[str]:
    """Every key matching ``pattern``, on one Redis or on every master of a cluster (KEYS and
    DBSIZE ask one node of a cluster only)."""
    return list(redis.scan_iter(match=pattern, count=1000))


def key_count(redis) -> int:
    """The number of keys in the store (one Redis, or all masters of a cluster)."""
    return len(all_keys(redis))


def command_calls(redis) -> dict[str, int]:
    """Calls per command since the last ``reset_command_stats`` (summed over a cluster's
    masters): {"evalsha": 2, "set": 6, ...}."""
    from share_service.storage import client as storage_client

    if storage_client.is_cluster(redis):
        from redis.cluster import RedisCluster

        per_node = redis.info("commandstats", target_nodes=RedisCluster.PRIMARIES).values()
    else:
        per_node = [redis.info("commandstats")]
    calls: dict[str, int] = {}
    for info in per_node:
        for name, value in info.items():
            calls[name.removeprefix("cmdstat_")] = calls.get(name.removeprefix("cmdstat_"), 0) \
                + value["calls"]
    return calls


def reset_command_stats(redis) -> None:
    from share_service.storage import client as storage_client

    if storage_client.is_cluster(redis):
        from redis.cluster import RedisCluster

        redis.config_resetstat(target_nodes=RedisCluster.PRIMARIES)
    else:
        redis.config_resetstat()


def add_shares(redis, site: str, day: str, shares: dict[str, float]) -> None:
    """Score articles (id -> shares) in the site's top set of ``day``, each in its shard (as
    the counting script does), without counting anything else."""
    from share_service.storage import keyspace

    for aid, n in shares.items():
        redis.zadd(keyspace.top_day(site, keyspace.shard_of(aid), day), {aid: n})
