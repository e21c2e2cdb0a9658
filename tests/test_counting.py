"""Counting in Redis: every counter of contracts.md, site-local days, retention, dedupe window,
exactness under concurrent requests, privacy of visitor hashes, Redis down, fork safety."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from support import BROWSER_UA, command_calls, flush_recorder, key_count, reset_command_stats

from share_service.counting import clock, reads
from share_service.counting.events import parse_batch
from share_service.storage import keyspace

pytestmark = pytest.mark.both_backends

A1 = "https://www.lequotidien.example/politique/2026/11/26/reformes"
A2 = "https://www.lequotidien.example/sport/2026/11/26/match"
PARIS = ZoneInfo("Europe/Paris")


def ts_paris(*args) -> float:
    return datetime(*args, tzinfo=PARIS).timestamp()


def record(app, body, ip="203.0.113.7", ua=BROWSER_UA, ts=None):
    recorder = app.extensions["recorder"]
    for event in parse_batch(body, app.extensions["articles"]):
        event.ts = ts if ts is not None else time.time()
        recorder.add(event, ip, ua)
    return recorder


def aid(url):
    return keyspace.article_id(url)


def test_share_writes_every_counter_and_set(app, redis):
    ts = ts_paris(2026, 11, 26, 10, 15)
    record(app, {"type": "share", "url": A1 + "?utm_source=x&fbclid=1#top", "network": "twitter"},
           ts=ts).flush()
    a = aid(A1)
    s = keyspace.shard_of(a)  # the article's shard holds its part of the site's counters
    field = "share:x"  # the alias is counted under the registry id
    for key in (keyspace.article_totals("default", a), keyspace.article_day("default", a, "20261126"),
                keyspace.site_day("default", s, "20261126"),
                keyspace.site_hour("default", s, "2026112610"), keyspace.site_totals("default", s)):
        assert redis.hgetall(key) == {field: "1"}, key
    assert redis.zrange(keyspace.top_day("default", s, "20261126"), 0, -1, withscores=True) == [(a, 1.0)]
    assert redis.zrange(keyspace.top_day("default", s, "20261126", "x"), 0, -1,
                        withscores=True) == [(a, 1.0)]
    assert redis.pfcount(keyspace.uniques_day("default", s, "20261126")) == 1
    assert redis.pfcount(keyspace.uniques_article_day("default", a, "20261126")) == 1
    assert redis.hget(keyspace.article_urls("default", s), a) == A1
    # and the site-wide readers (all shards) see the same
    assert reads.site_day_counts(redis, "default", "20261126") == {field: 1}
    assert reads.site_total_counts(redis, "default") == {field: 1}
    assert reads.unique_sharers(redis, "default", "20261126") == 1
    assert reads.top_articles(redis, "default", "20261126") == [{"aid": a, "url": A1, "shares": 1}]
    assert reads.article_counts(redis, "default", A1) == {
        "url": A1, "total": 1, "networks": {"x": 1}, "copy": 0, "qr": 0, "native": 0}


def test_other_event_types_and_fields(app, redis):
    ts = ts_paris(2026, 11, 26, 9, 0)
    record(app, {"events": [
        {"type": "copy", "url": A1},
        {"type": "qr", "url": A1},
        {"type": "native", "url": A1},
        {"type": "visit", "url": A1, "network": "facebook", "utm_medium": "social",
         "utm_campaign": "share"},
        {"type": "visit", "url": A1, "network": "more_content"},
        {"type": "rec_impression", "url": A1},
        {"type": "rec_click", "url": A1, "target": A2},
    ]}, ts=ts).flush()
    a = aid(A1)
    article = redis.hgetall(keyspace.article_totals("default", a))
    assert article == {"copy": "1", "qr": "1", "native": "1", "visit:facebook": "1",
                       "utm:facebook|social|share": "1", "visit:more_content": "1",
                       "rec_impression": "1", "rec_click": "1"}
    assert redis.hgetall(keyspace.article_day("default", a, "20261126")) == article
    site_day = reads.site_day_counts(redis, "default", "20261126")
    # the UTM triple is kept on article hashes only
    assert site_day == {k: int(v) for k, v in article.items() if not k.startswith("utm:")}
    assert reads.site_hour_counts(redis, "default", "2026112609") == site_day
    assert reads.site_total_counts(redis, "default") == site_day
    # no share: no top entry; copy/qr/native feed the unique sharers
    assert reads.top_articles(redis, "default", "20261126") == []
    assert reads.unique_sharers(redis, "default", "20261126") == 1
    assert reads.article_counts(redis, "default", A1)["total"] == 0
    assert reads.article_counts(redis, "default", A1)["copy"] == 1


def test_days_and_hours_are_site_local(app, redis):
    # 23:30 in Paris on 26 November is 22:30 UTC: Paris day 20261126, hour 23.
    late = ts_paris(2026, 11, 26, 23, 30)
    assert datetime.fromtimestamp(late, ZoneInfo("UTC")).hour == 22
    record(app, {"type": "share", "url": A1, "network": "facebook"}, ts=late).flush()
    # 00:30 in Paris on 27 November is still 26 November in UTC.
    early = ts_paris(2026, 11, 27, 0, 30)
    record(app, {"type": "share", "url": A1, "network": "linkedin"}, ts=early, ip="198.51.100.1").flush()
    assert reads.site_day_counts(redis, "default", "20261126") == {"share:facebook": 1}
    assert reads.site_hour_counts(redis, "default", "2026112623") == {"share:facebook": 1}
    assert reads.site_day_counts(redis, "default", "20261127") == {"share:linkedin": 1}
    assert reads.site_hour_counts(redis, "default", "2026112700") == {"share:linkedin": 1}


def test_summer_time_site_in_another_zone(make_app, redis):
    app = make_app({"SITES": {"ny": {"allowed_hosts": ["www.lequotidien.example"],
                                     "timezone": "America/New_York"}}, "DEFAULT_SITE": "ny"})
    ts = datetime(2026, 7, 1, 23, 30, tzinfo=ZoneInfo("America/New_York")).timestamp()
    record(app, {"type": "share", "url": A1, "network": "facebook"}, ts=ts).flush()
    assert reads.site_hour_counts(redis, "ny", "2026070123") == {"share:facebook": 1}
    assert redis.exists(keyspace.article_totals("default", aid(A1))) == 0


def test_retention_ttls(make_app, redis):
    app = make_app({"COUNTING_RETENTION_DAYS": 30, "COUNTING_DEDUPE_WINDOW_SECONDS": 600})
    record(app, {"events": [{"type": "share", "url": A1, "network": "facebook"},
                            {"type": "copy", "url": A1}]}).flush()
    expected = 31 * 86400
    per_day = ttl_free = 0
    for key in redis.scan_iter("*"):
        ttl = redis.ttl(key)
        if ":dd:" in key:
            assert 590 <= ttl <= 600, key
        elif ":salt:" in key:
            assert 0 < ttl <= 3 * 86400, key
        elif "}:seq:" in key:  # the recorder's batch sequence: the replay window and a day
            assert (168 + 24) * 3600 - 5 <= ttl <= (168 + 24) * 3600, key
        elif any(f"}}:{p}:" in key for p in ("ad", "sd", "sh", "top", "uv", "uva")):
            assert expected - 5 <= ttl <= expected, key
            per_day += 1
        else:  # totals, site totals, urls: never expire
            assert ttl == -1, key
            ttl_free += 1
    assert per_day == 7 and ttl_free == 3


def test_dedupe_window(make_app, redis):
    app = make_app({"COUNTING_DEDUPE_WINDOW_SECONDS": 1})
    share = {"type": "share", "url": A1, "network": "facebook"}
    recorder = record(app, {"events": [share, share, share]})  # one batch: counted once
    record(app, share)  # same visitor, next batch
    recorder.flush()
    record(app, {"type": "share", "url": A1, "network": "x"})  # another network: counted
    record(app, share, ip="198.51.100.9")  # another visitor: counted
    record(app, share, ua=BROWSER_UA + " variant")  # another user agent: another visitor
    record(app, {"type": "share", "url": A2, "network": "facebook"})  # another article
    recorder.flush()
    counts = reads.article_counts(redis, "default", A1)
    assert counts["networks"] == {"facebook": 3, "x": 1}
    assert recorder.duplicates >= 3
    time.sleep(1.6)  # the window has passed: the same share counts again
    record(app, share).flush()
    assert reads.article_counts(redis, "default", A1)["networks"]["facebook"] == 4
    assert reads.article_counts(redis, "default", A2)["networks"] == {"facebook": 1}


def test_exact_counts_under_concurrent_requests(app, redis, live_server, flush):
    threads, per_thread = 8, 40
    errors = []

    def worker(n):
        session = requests.Session()
        for i in range(per_thread):
            response = session.get(
                f"{live_server.url}/s/facebook", params={"url": A1},
                headers={"User-Agent": f"{BROWSER_UA} person-{n}-{i}"}, allow_redirects=False)
            if response.status_code != 302:
                errors.append(response.status_code)
            # every reader shares twice: the second is a duplicate
            session.post(f"{live_server.url}/api/v1/events",
                         data=json.dumps({"type": "share", "url": A1, "network": "facebook"}),
                         headers={"User-Agent": f"{BROWSER_UA} person-{n}-{i}",
                                  "Content-Type": "text/plain"})

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    flush()
    assert errors == []
    total = threads * per_thread
    assert reads.article_counts(redis, "default", A1)["networks"] == {"facebook": total}
    day = clock.day("Europe/Paris", time.time())
    if reads.site_day_counts(redis, "default", day) == {}:  # midnight passed meanwhile
        day = clock.day("Europe/Paris", time.time() - 600)
    assert reads.site_day_counts(redis, "default", day) == {"share:facebook": total}
    assert 0.97 * total <= reads.unique_sharers(redis, "default", day) <= 1.03 * total


def test_one_script_call_per_site_per_flush(make_app, redis):
    # a long flush interval: the background thread stays asleep, every command below is ours
    app = make_app({"SITES": {"default": {"allowed_hosts": ["www.lequotidien.example"]},
                              "other": {"allowed_hosts": ["www.autre.example"]}},
                    "COUNTING_FLUSH_INTERVAL_MS": 60000})
    recorder = record(app, {"type": "share", "url": A1, "network": "facebook"})
    record(app, {"type": "copy", "url": "https://www.autre.example/a"}, ip="10.0.0.9")
    recorder.flush()  # loads the script where these two articles' shards live
    reset_command_stats(redis)
    events = [{"type": "share", "url": A1, "network": n} for n in ("x", "linkedin", "bluesky")]
    record(app, {"events": events})
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):  # three visitors copy one article of "other"
        record(app, {"type": "copy", "url": "https://www.autre.example/a"}, ip=ip)
    recorder.flush()
    stats = command_calls(redis)
    assert stats["evalsha"] == 2  # one script call per site and shard (one article each here)
    assert "eval" not in stats
    # one dedupe SET NX per event, and each batch's sequence number (exactly-once replays)
    assert stats["set"] == 6 + 2
    # counters summed inside the batch: 3 networks x 5 hashes on "default", and the 3 copies
    # of "other" (one group) are one HINCRBY per hash
    assert stats["hincrby"] == 15 + 5
    assert reads.article_counts(redis, "other", "https://www.autre.example/a")["copy"] == 1 + 3


def test_no_raw_ip_or_user_agent_in_redis(app, redis, raw_redis):
    ip, ua = "192.0.2.123", "Mozilla/5.0 (PrivacyTest; rv:1.0) Gecko/20100101 Firefox/1.0"
    record(app, {"events": [{"type": "share", "url": A1, "network": "facebook"},
                            {"type": "copy", "url": A1},
                            {"type": "visit", "url": A1, "network": "copy"}]}, ip=ip, ua=ua).flush()
    raw = raw_redis
    needles = [ip.encode(), ua.encode(), b"PrivacyTest", ip.replace(".", "").encode()]
    seen = 0
    for key in raw.scan_iter(b"*"):
        blobs = [key, raw.dump(key)]
        kind = raw.type(key)
        if kind == b"hash":
            blobs += [b"%s=%s" % kv for kv in raw.hgetall(key).items()]
        elif kind == b"zset":
            blobs += [m for m, _ in raw.zrange(key, 0, -1, withscores=True)]
        elif kind == b"string":
            blobs.append(raw.get(key))
        for blob in blobs:
            for needle in needles:
                assert needle not in blob, (key, needle)
        seen += 1
    assert seen > 10
    salts = list(raw.scan_iter(b"*:salt:*"))
    assert len(salts) >= 1 and all(0 < raw.ttl(k) <= 3 * 86400 for k in salts)


def test_salt_is_shared_and_rotates_by_day(app, redis):
    from share_service.counting.visitors import SaltCache, visitor_hash

    one, two = SaltCache(), SaltCache()
    assert one.fetch(redis, "20261126") == two.fetch(redis, "20261126")  # SET NX: one salt
    assert one.fetch(redis, "20261126") != one.fetch(redis, "20261127")
    s1, s2 = one.fetch(redis, "20261126"), one.fetch(redis, "20261127")
    assert visitor_hash(s1, "default", "1.2.3.4", "UA") != visitor_hash(s2, "default", "1.2.3.4", "UA")
    assert visitor_hash(s1, "default", "1.2.3.4", "UA") != visitor_hash(s1, "other", "1.2.3.4", "UA")


def test_redis_down_keeps_events_then_counts_nothing_twice(make_app, redis, dead_store):
    app = make_app(dead_store)
    recorder = record(app, {"type": "share", "url": A1, "network": "facebook"})
    assert recorder.flush() == 0  # no exception, nothing written
    assert recorder.failures >= 1 or recorder.dropped >= 1
    assert key_count(redis) == 0


def test_events_wait_in_memory_until_redis_is_back(app, redis, dead_client):
    recorder = app.extensions["recorder"]
    good = recorder.client
    recorder.client = dead_client
    recorder.salts.fetch(good, clock.day("Europe/Paris", time.time()))
    record(app, {"type": "share", "url": A1, "network": "facebook"})
    assert recorder.flush() == 0 and recorder.pending() == 1
    recorder.client = good
    assert recorder.flush() == 1 and recorder.pending() == 0
    assert reads.article_counts(redis, "default", A1)["total"] == 1


def _child(app, queue):
    try:
        record(app, {"type": "copy", "url": A2}, ip="10.0.0.2")
        queue.put(flush_recorder(app))
    except Exception as exc:  # noqa: BLE001
        queue.put(repr(exc))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_fork_safe(app, redis):
    recorder = record(app, {"type": "share", "url": A1, "network": "facebook"})  # thread started
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(app, queue))
    child.start()
    result = queue.get(timeout=20)
    child.join(10)
    assert result == 1  # the child wrote its own event only, not the parent's buffered share
    recorder.flush()
    assert reads.article_counts(redis, "default", A1)["total"] == 1
    assert reads.article_counts(redis, "default", A2)["copy"] == 1


def _close_in_child(app, queue):
    try:
        app.extensions["recorder"].close()  # gunicorn's worker_exit in a worker forked after use
        queue.put("closed")
    except Exception as exc:  # noqa: BLE001
        queue.put(repr(exc))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_copy_closing_never_writes_the_parents_events(app, redis, tmp_path):
    recorder = record(app, {"type": "share", "url": A1, "network": "facebook"})
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_close_in_child, args=(app, queue))
    child.start()
    assert queue.get(timeout=20) == "closed"
    child.join(10)
    assert reads.article_counts(redis, "default", A1)["total"] == 0  # nothing from the child
    spool = tmp_path / "instance" / "spool"
    assert not spool.exists() or not any(spool.iterdir())  # nor spooled for later
    recorder.flush()
    assert reads.article_counts(redis, "default", A1)["total"] == 1
