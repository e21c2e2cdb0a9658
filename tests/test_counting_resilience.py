"""Nothing lost when Redis fails, nothing counted twice: a real redis-server of the test's own,
killed (SIGKILL) and restarted, or frozen (SIGSTOP: it accepts connections and never answers)
and thawed, while readers keep sharing; a worker stopping meanwhile spools its events to disk
and the next one replays them exactly once."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from urllib.parse import quote

from gunicorn_server import Gunicorn
from support import BROWSER_UA

from share_service import metrics
from share_service.counting import reads
from share_service.storage import keyspace

A1 = "https://www.lequotidien.example/politique/2026/11/26/reformes"
A2 = "https://www.lequotidien.example/sport/2026/11/26/match"
# the background thread sleeps: every write below is the test's own flush()
QUIET = {"COUNTING_FLUSH_INTERVAL_MS": 600_000, "REDIS_BREAKER_SECONDS": 0.2}


def share(client, ip: str, url: str = A1, network: str = "facebook"):
    return client.get(f"/s/{network}?url={quote(url, safe='')}", headers={"User-Agent": BROWSER_UA},
                      environ_base={"REMOTE_ADDR": ip})


def post_event(client, ip: str, body: dict):
    return client.post("/api/v1/events", data=json.dumps(body),
                       headers={"User-Agent": BROWSER_UA, "Content-Type": "text/plain"},
                       environ_base={"REMOTE_ADDR": ip})


def total(server, url: str = A1) -> int:
    return reads.article_counts(server.client(), "default", url)["total"]


class Deltas:
    """Differences of the process's metric counters since construction."""

    SERIES = {"buffered": (metrics.BUFFERED,), "replayed": (metrics.REPLAYED,),
              "spooled": (metrics.SPOOLED,),
              "already": (metrics.EVENTS, "already_recorded"),
              "buffer_full": (metrics.DROPPED, "buffer_full"),
              "no_salt": (metrics.DROPPED, "no_salt"), "too_old": (metrics.DROPPED, "too_old")}

    def __init__(self):
        self.start = {name: metrics.value(*series) for name, series in self.SERIES.items()}

    def __getitem__(self, name: str) -> float:
        return metrics.value(*self.SERIES[name]) - self.start[name]


def test_redis_killed_then_restarted_every_event_counted_once(make_app, own_redis):
    app = make_app({"REDIS_URL": own_redis.url, **QUIET})
    client, recorder = app.test_client(), app.extensions["recorder"]
    assert share(client, "198.51.100.1").status_code == 302
    assert recorder.flush() == 1  # salts cached, script loaded
    deltas = Deltas()

    own_redis.kill()
    started = time.monotonic()
    for i in range(2, 12):
        assert share(client, f"198.51.100.{i}").status_code == 302
    assert post_event(client, "198.51.100.50", {"type": "share", "url": A2,
                                                "network": "x"}).status_code == 204
    assert time.monotonic() - started < 2.0  # answered at once, nothing waited for Redis
    assert recorder.flush() == 0
    assert recorder.pending() == 11 and not recorder.healthy
    counts = client.get(f"/api/v1/counts?url={quote(A1, safe='')}")
    assert counts.status_code == 503 and int(counts.headers["Retry-After"]) >= 1
    assert counts.get_json()["error"]["code"] == "unavailable"
    assert recorder.flush() == 0  # retried: still down, still kept

    own_redis.start()  # same data folder: the append-only file is read back
    time.sleep(0.25)  # the breaker's pause
    assert recorder.flush() == 11
    assert recorder.pending() == 0 and recorder.healthy
    assert total(own_redis) == 11 and total(own_redis, A2) == 1
    assert recorder.flush() == 0 and total(own_redis) == 11
    assert deltas["buffered"] == 11 and deltas["replayed"] == 11


def test_redis_frozen_redirects_answer_at_once_and_a_batch_redis_ran_late_counts_once(
        make_app, own_redis):
    # a 1 s dedupe window: by the time the batch is sent again, only the batch sequence can
    # tell that Redis already ran it
    app = make_app({"REDIS_URL": own_redis.url, "COUNTING_DEDUPE_WINDOW_SECONDS": 1, **QUIET})
    client, recorder = app.test_client(), app.extensions["recorder"]
    share(client, "198.51.100.1")
    assert recorder.flush() == 1
    deltas = Deltas()
    share(client, "198.51.100.2")

    own_redis.freeze()
    try:
        started = time.monotonic()
        assert recorder.flush() == 0  # sent, never answered: did Redis run it? unknown
        assert time.monotonic() - started < 2.0  # the socket timeout, not forever
        latencies = []
        for i in range(3, 13):
            t0 = time.perf_counter()
            response = share(client, f"198.51.100.{i}")
            latencies.append(time.perf_counter() - t0)
            assert response.status_code == 302
            assert response.headers["Location"].startswith("https://www.facebook.com/")
        assert max(latencies) < 0.5, latencies
        assert client.get("/healthz").status_code == 200  # liveness: the process answers
        t0 = time.monotonic()
        ready = client.get("/readyz")
        assert ready.status_code == 503 and time.monotonic() - t0 < 1.5
        assert ready.get_json()["error"]["pending_events"] == 11
        assert client.get(f"/api/v1/counts?url={quote(A1, safe='')}").status_code == 503
    finally:
        own_redis.thaw()

    time.sleep(1.5)  # Redis ran the pending batch when it woke up; its dedupe keys expired
    assert total(own_redis) == 2  # the "failed" write did happen
    assert recorder.flush() == 10  # the batch again (skipped), then the 10 shares kept
    assert total(own_redis) == 12  # 1 + 1 + 10: nothing twice
    assert deltas["already"] == 1 and deltas["replayed"] == 11
    assert client.get("/readyz").status_code == 200


def test_worker_stopping_while_redis_is_down_spools_and_the_next_replays_once(
        make_app, own_redis, tmp_path):
    settings = {"REDIS_URL": own_redis.url, **QUIET}
    first = make_app(settings)
    client = first.test_client()
    share(client, "198.51.100.1")
    assert first.extensions["recorder"].flush() == 1
    deltas = Deltas()

    own_redis.kill()
    ip, agent = "203.0.113.77", BROWSER_UA
    for i in range(5):
        assert share(client, f"198.51.100.{10 + i}").status_code == 302
    post_event(client, ip, {"events": [{"type": "copy", "url": A2},
                                       {"type": "share", "url": A2, "network": "linkedin"}]})
    assert first.extensions["recorder"].flush() == 0  # one failed batch, kept with its number
    for i in range(3):  # and more arriving after the failure
        share(client, f"198.51.100.{20 + i}")
    first.extensions["recorder"].close()  # the worker stops (gunicorn's worker_exit)

    spool = tmp_path / "instance" / "spool"
    files = list(spool.glob("*.jsonl"))
    assert len(files) == 1
    text = files[0].read_text()
    assert ip not in text and "198.51.100." not in text and agent not in text  # privacy
    lines = [json.loads(line) for line in text.splitlines()]
    assert sum(len(line["events"]) for line in lines) == 10
    assert all(len(event[4]) == 32 for line in lines for event in line["events"])  # hashes
    assert deltas["spooled"] == 10
    kept = tmp_path / "kept.jsonl"
    shutil.copy(files[0], kept)

    own_redis.start()
    second = make_app(settings)  # the next worker, same instance folder
    assert second.extensions["recorder"].flush() == 10
    assert total(own_redis) == 1 + 5 + 3 and total(own_redis, A2) == 1
    assert reads.article_counts(own_redis.client(), "default", A2)["copy"] == 1
    assert list(spool.iterdir()) == []  # replayed: the claimed file is gone
    assert deltas["replayed"] == 10

    shutil.copy(kept, spool / kept.name)  # the same file found again (a restored backup)
    third = make_app(settings)
    assert third.extensions["recorder"].flush() == 0
    assert total(own_redis) == 9 and total(own_redis, A2) == 1  # still once
    assert deltas["already"] == 10


def spooled_while_down(make_app, own_redis, n: int, first_ip: int) -> dict:
    """A worker counts one share, then takes ``n`` more (from 198.51.100.<first_ip + i>) while
    Redis is down and stops, spooling them; Redis is back. Returns the workers' settings."""
    settings = {"REDIS_URL": own_redis.url, **QUIET}
    first = make_app(settings)
    client = first.test_client()
    share(client, "198.51.100.1")
    first.extensions["recorder"].flush()
    own_redis.kill()
    for i in range(n):
        share(client, f"198.51.100.{first_ip + i}")
    first.extensions["recorder"].close()
    own_redis.start()
    return settings


def test_two_workers_racing_for_a_spool_file_count_it_once(make_app, own_redis, tmp_path):
    settings = spooled_while_down(make_app, own_redis, 20, first_ip=100)

    workers = [make_app(settings) for _ in range(4)]
    results = []
    threads = [threading.Thread(target=lambda w=w: results.append(
        w.extensions["recorder"].flush())) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 0, 0, 20]
    assert total(own_redis) == 21


def test_a_claim_left_by_a_dead_worker_is_taken_over(make_app, own_redis, tmp_path):
    settings = spooled_while_down(make_app, own_redis, 4, first_ip=30)

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    spool = tmp_path / "instance" / "spool"
    (path,) = spool.glob("*.jsonl")
    path.rename(path.with_name(f"{path.name}.claimed-{int(dead.stdout)}"))  # claimed, then died

    assert make_app(settings).extensions["recorder"].flush() == 4
    assert total(own_redis) == 5 and list(spool.iterdir()) == []


def test_events_without_a_salt_are_never_spooled(make_app, own_redis, tmp_path):
    own_redis.kill()  # down since before the worker started: no daily salt known
    app = make_app({"REDIS_URL": own_redis.url, **QUIET})
    deltas = Deltas()
    client = app.test_client()
    for i in range(3):
        assert share(client, f"198.51.100.{i + 1}").status_code == 302
    recorder = app.extensions["recorder"]
    assert recorder.flush() == 0 and recorder.pending() == 3
    recorder.close()
    spool = tmp_path / "instance" / "spool"
    assert not spool.exists() or list(spool.iterdir()) == []
    assert deltas["no_salt"] == 3


def test_buffer_bound_drops_are_counted_and_exposed(make_app, own_redis):
    app = make_app({"REDIS_URL": own_redis.url, "COUNTING_BUFFER_MAX_EVENTS": 5, **QUIET})
    client, recorder = app.test_client(), app.extensions["recorder"]
    share(client, "198.51.100.1")
    recorder.flush()
    deltas = Deltas()
    own_redis.kill()
    for i in range(8):
        assert share(client, f"198.51.100.{40 + i}").status_code == 302  # still redirected
    assert recorder.pending() == 5
    assert deltas["buffer_full"] == 3
    text = client.get("/metrics").get_data(as_text=True)  # from 127.0.0.1: allowed
    line = next(x for x in text.splitlines()
                if x.startswith('share_service_events_dropped_total{reason="buffer_full"}'))
    assert float(line.split()[-1]) >= 3
    own_redis.start()
    time.sleep(0.25)
    assert recorder.flush() == 5 and total(own_redis) == 6


def test_batches_older_than_the_replay_window_are_dropped_not_written(make_app, own_redis):
    app = make_app({"REDIS_URL": own_redis.url, "COUNTING_REPLAY_MAX_AGE_HOURS": 0.0003,
                    **QUIET})  # about one second
    client, recorder = app.test_client(), app.extensions["recorder"]
    share(client, "198.51.100.1")
    recorder.flush()
    deltas = Deltas()
    own_redis.kill()
    share(client, "198.51.100.2")
    assert recorder.flush() == 0
    time.sleep(1.3)
    own_redis.start()
    time.sleep(0.25)
    assert recorder.flush() == 0
    assert recorder.pending() == 0 and deltas["too_old"] == 1
    assert total(own_redis) == 1


def test_counts_persist_across_a_redis_restart(make_app, own_redis):
    """Append-only file: what Redis acknowledged survives a crash (fsync'd here at every write;
    the service's default, everysec, can lose the last second: docs/counting.md)."""
    app = make_app({"REDIS_URL": own_redis.url, **QUIET})
    client = app.test_client()
    for i in range(5):
        share(client, f"198.51.100.{i + 1}")
    assert app.extensions["recorder"].flush() == 5
    own_redis.kill()
    own_redis.start()
    assert total(own_redis) == 5
    assert own_redis.client().exists(
        keyspace.site_totals("default", keyspace.shard_of(keyspace.article_id(A1))))


def test_gunicorn_stopped_while_redis_is_down_then_restarted_counts_once(own_redis, tmp_path):
    """The real thing: 2 gunicorn workers, Redis killed, readers go on sharing, gunicorn is
    stopped (its workers spool), Redis and gunicorn start again: every share counted once."""
    instance = tmp_path / "instance"
    with Gunicorn(instance, own_redis.url) as server:
        assert server.get(f"/s/facebook?url={quote(A1, safe='')}", ip="198.51.100.1")[0] == 302
        server.wait_until(lambda: total(own_redis) == 1)
        own_redis.kill()
        for i in range(30):
            status, _ = server.get(f"/s/facebook?url={quote(A1, safe='')}",
                                   ip=f"198.51.100.{10 + i}")
            assert status == 302
    spooled = sum(len(json.loads(line)["events"]) for path in (instance / "spool").glob("*.jsonl")
                  for line in path.read_text().splitlines())
    assert spooled == 30, server.log
    own_redis.start()
    with Gunicorn(instance, own_redis.url) as server:
        server.wait_until(lambda: total(own_redis) == 31)  # replayed without any traffic
        time.sleep(0.5)
    assert total(own_redis) == 31
    assert not any((instance / "spool").iterdir())
