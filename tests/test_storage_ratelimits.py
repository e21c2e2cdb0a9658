"""storage.ratelimits: per-client fixed windows, in each worker's memory (the limit shared out
among the workers) or in a Redis shared by every worker and machine, failing open."""

from __future__ import annotations

import time

import pytest

from share_service.config import load_settings
from share_service.storage import keyspace
from share_service.storage.ratelimits import LocalWindowStorage, RateLimits, client_key


def limits(events="5/minute", redirects="3/minute", uri="local://", redis_url=""):
    settings = load_settings({"RATELIMIT_ENABLED": True, "RATELIMIT_EVENTS": events,
                              "RATELIMIT_REDIRECTS": redirects,
                              "RATELIMIT_STORAGE_URI": uri}, environ={})
    return RateLimits(settings, redis_url)


def hits(rl, scope, address, n):
    return [rl.hit(scope, address) for _ in range(n)]


def test_each_scope_and_client_has_its_own_window():
    rl = limits()
    assert hits(rl, "events", "203.0.113.1", 6) == [True] * 5 + [False]
    assert hits(rl, "redirect", "203.0.113.1", 4) == [True] * 3 + [False]
    assert rl.hit("events", "203.0.113.2")
    assert 30 <= rl.retry_after("events", "203.0.113.1") <= 60  # the window of the counted hits


def test_the_window_ends():
    rl = limits(events="2/second")
    assert hits(rl, "events", "a", 3) == [True, True, False]
    time.sleep(1.05)
    assert rl.hit("events", "a")


def test_the_limit_is_shared_out_among_the_workers():
    rl = limits(events="120/minute", redirects="5/minute")
    rl.share_among(4)
    assert sum(hits(rl, "events", "c", 40)) == 30
    assert sum(hits(rl, "redirect", "c", 5)) == 2  # ceil(5 / 4)


def test_ipv6_clients_are_limited_by_their_64():
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") \
        == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("203.0.113.5") == "203.0.113.5" and client_key("") == "-"
    rl = limits(events="2/minute")
    assert [rl.hit("events", f"2001:db8:1:2::{i}") for i in range(3)] == [True, True, False]


def test_local_storage_sweeps_ended_windows():
    storage = LocalWindowStorage()
    for i in range(1000):
        storage.incr(f"k{i}", 0.2)
    storage.incr("long", 60)
    assert len(storage) == 1001
    time.sleep(0.3)
    storage._next_sweep = 0.0  # the sweep is due (every SWEEP_SECONDS)
    storage.incr("fresh", 60)  # a new window sweeps the ended ones
    assert len(storage) == 2 and storage.get("long") == 1 and storage.get("k1") == 0


def test_disabled_limits_allow_everything():
    settings = load_settings({"RATELIMIT_ENABLED": False, "RATELIMIT_EVENTS": "1/minute"},
                             environ={})
    rl = RateLimits(settings)
    assert all(hits(rl, "events", "x", 10))


def test_redis_storage_is_one_exact_limit_for_every_worker_and_machine(redis, redis_url):
    machines = [limits(events="10/minute", uri="redis", redis_url=redis_url) for _ in range(3)]
    for rl in machines:
        rl.share_among(4)  # a shared storage keeps the limit whole
    allowed = sum(rl.hit("events", "198.51.100.7") for _ in range(5) for rl in machines)
    assert allowed == 10
    assert 30 <= machines[0].retry_after("events", "198.51.100.7") <= 60
    keys = list(redis.scan_iter("*"))
    assert keys and all(k.startswith(keyspace.ratelimit_prefix() + ":") for k in keys)
    assert not any("198.51.100" in k for k in keys)  # no raw address stored, even briefly


def test_redis_storage_down_lets_requests_through_under_local_limits(tmp_path):
    rl = limits(events="3/minute", uri="redis", redis_url=f"unix://{tmp_path}/dead.sock")
    started = time.monotonic()
    assert hits(rl, "events", "x", 5) == [True, True, True, True, False]
    # the first call fails open; then the local fallback applies the worker's share
    assert time.monotonic() - started < 2


def test_frozen_redis_storage_costs_one_timeout_then_local_limits(own_redis):
    settings = load_settings({"RATELIMIT_ENABLED": True, "RATELIMIT_EVENTS": "100/minute",
                              "RATELIMIT_STORAGE_URI": "redis", "REDIS_SOCKET_TIMEOUT": 0.2},
                             environ={})
    rl = RateLimits(settings, own_redis.url)
    assert rl.hit("events", "x")
    own_redis.freeze()
    try:
        latencies = []
        for _ in range(20):
            t0 = time.perf_counter()
            assert rl.hit("events", "x")
            latencies.append(time.perf_counter() - t0)
        assert latencies[0] < 1.0
        assert max(latencies[1:]) < 0.05
    finally:
        own_redis.thaw()


@pytest.mark.parametrize("uri", ["memory://", "local://"])
def test_per_process_storages(uri):
    rl = limits(events="2/minute", uri=uri)
    assert hits(rl, "events", "x", 3) == [True, True, False]
