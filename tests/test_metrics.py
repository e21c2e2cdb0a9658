"""share_service.metrics: counted in the process, published through prometheus_client, and
summed over the workers of a real gunicorn."""

from __future__ import annotations

import random
import threading
from urllib.parse import quote

import prometheus_client
from gunicorn_server import Gunicorn
from test_web_api_ops import sample

from share_service import metrics


def test_bulk_histogram_flush_matches_prometheus_observe():
    ours = metrics.Histogram("test_flush_seconds", "test", ("endpoint",))
    reference = prometheus_client.Histogram("test_reference_seconds", "reference",
                                            ("endpoint",), buckets=metrics.LATENCY_BUCKETS,
                                            registry=None)
    rng = random.Random(7)
    values = [rng.choice(metrics.LATENCY_BUCKETS) for _ in range(50)]  # bounds: the edge case
    values += [rng.uniform(0, 3) for _ in range(500)] + [0.0, 10.0]
    for value in values:
        ours.observe(value, "e")
        reference.labels("e").observe(value)
    metrics.flush()

    def samples(metric, name):
        return {(s.name.replace(name, ""), s.labels.get("le")): round(s.value, 9)
                for family in metric.collect() for s in family.samples}

    assert samples(ours.prom, "test_flush_seconds") == \
        samples(reference, "test_reference_seconds")


def test_counters_are_cheap_and_exact_under_threads():
    counter = metrics.Counter("test_threads_total", "test", ("kind",))
    def work():
        for _ in range(10_000):
            counter.inc("a")
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert metrics.value(counter, "a") == 40_000


def test_gunicorn_workers_metrics_are_summed(own_redis, tmp_path):
    """2 sync workers, 60 redirects sent 6 at a time (both workers serve some): /metrics, read
    from either worker, shows all 60."""
    instance = tmp_path / "instance"
    url = quote("https://www.lequotidien.example/politique/2026/11/26/reformes", safe="")
    with Gunicorn(instance, own_redis.url) as server:
        statuses = []

        def reader(n):
            for i in range(10):
                statuses.append(server.get(f"/s/facebook?url={url}", ip=f"198.51.100.{n * 10 + i}")[0])

        threads = [threading.Thread(target=reader, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [302] * 60

        def total():
            status, body = server.get("/metrics")
            assert status == 200
            return sample(body.decode(), "share_service_http_requests_total",
                          endpoint="redirect.tracked_redirect", status="302")

        server.wait_until(lambda: total() == 60, timeout=10)  # workers flush every second
        counted = lambda: sample(server.get("/metrics")[1].decode(),  # noqa: E731
                                 "share_service_events_total", outcome="counted")
        server.wait_until(lambda: counted() == 60, timeout=10)
        # each worker wrote its own files: the answer summed them
        writers = {p.stem.rsplit("_", 1)[1] for p in (instance / "metrics").glob("counter_*.db")}
        assert len(writers) == 2


def test_event_outcomes_are_counted(client, flush):
    url = "https://www.lequotidien.example/politique/2026/11/26/reformes"
    before = {o: metrics.value(metrics.EVENTS, o) for o in ("counted", "duplicate", "bot")}
    reader = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"}
    for _ in range(2):  # the same reader twice: the second is a duplicate
        assert client.get("/s/x", query_string={"url": url}, headers=reader).status_code == 302
    bot = {"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
    assert client.get("/s/x", query_string={"url": url}, headers=bot).status_code == 302
    flush()
    after = {o: metrics.value(metrics.EVENTS, o) for o in ("counted", "duplicate", "bot")}
    assert {o: after[o] - before[o] for o in after} == {"counted": 1, "duplicate": 1, "bot": 1}
