"""The service on a real Redis Cluster of three masters: one site spread over every master, a
master down or frozen (its shards' reads answer 503 fast, links and redirects still answer,
the recorder keeps those shards' batches and writes them once it is back), the app started
before the cluster, a slot resharded under the app's feet, and the shard layout itself."""

from __future__ import annotations

import hashlib
import time

import pytest
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis_cluster import LocalCluster, free_ports
from support import BROWSER_UA

from share_service.accounts import api_keys
from share_service.catalogue import store
from share_service.catalogue.records import normalize
from share_service.counting import reads
from share_service.stats import params
from share_service.storage import client as storage_client
from share_service.storage import keyspace

HOST = "https://www.lequotidien.example"


def slot_of(key: str) -> int:
    return key_slot(key.encode())


def articles_on(cluster: LocalCluster, master: int, count: int, site: str = "default",
                section: str = "a") -> list[str]:
    """``count`` article URLs of ``site`` whose shard lives on ``master`` now."""
    out, i = [], 0
    while len(out) < count:
        url = f"{HOST}/{section}/{i}.html"
        shard = keyspace.shard_of(keyspace.article_id(url))
        if cluster.node_of_slot(keyspace.shard_slot(site, shard)) == master:
            out.append(url)
        i += 1
    return out


def api_key_on(redis, cluster: LocalCluster, masters: set[int]) -> str:
    """A new API key whose record lives on one of ``masters`` (a global key: any slot)."""
    while True:
        raw, _ = api_keys.create_api_key(redis, "cluster tests", "viewer")
        digest = hashlib.sha256(raw.encode()).hexdigest()
        if cluster.node_of_slot(slot_of(keyspace.api_key(digest))) in masters:
            return raw


def share(client, url, network="facebook", ip="203.0.113.1"):
    return client.post("/api/v1/events", json={"type": "share", "url": url, "network": network},
                       headers={"User-Agent": BROWSER_UA}, environ_base={"REMOTE_ADDR": ip})


def timed(fn):
    t0 = time.monotonic()
    result = fn()
    return result, time.monotonic() - t0


# --- the layout ---------------------------------------------------------------------------------
@pytest.mark.parametrize("site", ["default", "le-quotidien", "sport_2", "région"])
def test_shard_tags_are_evenly_spaced_over_the_slots(site):
    slots = [keyspace.shard_slot(site, s) for s in range(keyspace.SHARDS)]
    assert len(set(slots)) == keyspace.SHARDS
    assert all("." not in site and site + "." in keyspace.shard_tag(site, s)
               for s in range(keyspace.SHARDS))
    # a cluster of M masters with equal slot ranges (redis-cli --cluster create) gets
    # floor(SHARDS / M) or ceil(SHARDS / M) shards of the site on each master
    for masters in range(2, 17):
        per_master = [0] * masters
        for slot in slots:
            per_master[slot * masters // REDIS_CLUSTER_HASH_SLOTS] += 1
        assert min(per_master) == keyspace.SHARDS // masters, (masters, per_master)
        assert max(per_master) == -(-keyspace.SHARDS // masters), (masters, per_master)


def test_one_articles_counting_keys_share_its_shards_slot():
    aid = keyspace.article_id(HOST + "/politique/reforme.html")
    shard = keyspace.shard_of(aid)
    keys = [keyspace.article_totals("default", aid), keyspace.article_day("default", aid, "20261126"),
            keyspace.uniques_article_day("default", aid, "20261126"),
            keyspace.dedupe("default", aid, "0" * 24), keyspace.article_urls("default", shard),
            keyspace.site_day("default", shard, "20261126"),
            keyspace.site_hour("default", shard, "2026112610"), keyspace.site_totals("default", shard),
            keyspace.top_day("default", shard, "20261126"),
            keyspace.top_day("default", shard, "20261126", "x"),
            keyspace.uniques_day("default", shard, "20261126")]
    assert {slot_of(k) for k in keys} == {keyspace.shard_slot("default", shard)}
    # the catalogue stays in the site's own slot
    catalogue = [keyspace.article("default", aid), keyspace.catalogue_seq("default"),
                 keyspace.catalogue_changes("default"), keyspace.article_digests("default")]
    assert {slot_of(k) for k in catalogue} == {slot_of("{default}")}


# --- one site over every master (the session's cluster) ------------------------------------------
def test_300_new_articles_of_one_site_spread_over_every_master(make_app, redis_cluster):
    redis_cluster.flushall()
    app = make_app({"REDIS_CLUSTER_NODES": redis_cluster.nodes, "REDIS_URL": ""})
    client = app.test_client()
    urls = [f"{HOST}/actualite/{i}.html" for i in range(300)]
    for start in range(0, 300, 50):
        events = [{"type": "share", "url": u, "network": "x"} for u in urls[start:start + 50]]
        response = client.post("/api/v1/events", json={"events": events},
                               headers={"User-Agent": BROWSER_UA})
        assert response.status_code == 204
    assert app.extensions["recorder"].flush() == 300
    per_master = redis_cluster.keys_per_node()
    total = sum(per_master)
    assert total > 300 * 4  # totals, day, uniques, dedupe per article, plus the shards' aggregates
    print(f"keys per master after 300 articles of one site: {per_master}")
    assert all(n >= 0.15 * total for n in per_master), per_master
    # and the site's figures are whole: the shards add up
    redis = app.extensions["storage"].client
    site = app.config["SITES"]["default"]
    assert reads.site_total_counts(redis, "default") == {"share:x": 300}
    top = reads.top_articles(redis, "default", params.day_id(params.today(site)), limit=300)
    assert len(top) == 300 and {t["url"] for t in top} == set(urls)


# --- a master down, frozen, resharded (a cluster of this module's own) ---------------------------
@pytest.fixture(scope="module")
def fragile(tmp_path_factory):
    """Three masters without replicas; a master down stops its own slots only
    (cluster-require-full-coverage no); 5 s node timeout (a short freeze is no failure)."""
    cluster = LocalCluster(tmp_path_factory.mktemp("fragile"), require_full_coverage=False,
                           node_timeout_ms=5000).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def fragile_app(fragile, make_app):
    fragile.flushall()
    # the background flusher sleeps: the test decides when batches are written
    return make_app({"REDIS_CLUSTER_NODES": fragile.nodes, "REDIS_URL": "",
                     "COUNTING_FLUSH_INTERVAL_MS": 60000})


def test_a_master_down_fails_its_shards_fast_and_the_rest_keeps_working(fragile, fragile_app):
    app, client = fragile_app, fragile_app.test_client()
    recorder, redis = app.extensions["recorder"], app.extensions["storage"].client
    (dead_url,), (live_url,) = articles_on(fragile, 2, 1), articles_on(fragile, 0, 1)
    key = {"X-Api-Key": api_key_on(redis, fragile, {0, 1})}
    for url in (dead_url, live_url):
        assert share(client, url).status_code == 204
    assert recorder.flush() == 2
    assert client.get("/api/v1/stats/summary", headers=key).status_code == 200
    # a small catalogue: the site's catalogue slot is on master 1, which stays up
    assert fragile.node_of_slot(slot_of(keyspace.catalogue_seq("default"))) == 1
    site = app.config["SITES"]["default"]
    titles = ["Crue de la Loire : les berges sous surveillance",
              "Loire : le plan de prévention des crues adopté en conseil",
              "Les digues de la Loire renforcées avant l'hiver"]
    store.save_articles(redis, "default", [normalize(
        {"url": url, "title": title, "section": "Environnement", "tags": ["crue", "Loire"],
         "published": int(time.time()) - 3600 * i}, site, "push")
        for i, (url, title) in enumerate(zip([dead_url, live_url, HOST + "/c/loire.html"],
                                             titles, strict=True))])
    assert client.get("/api/v1/recommendations", query_string={"url": live_url}).status_code == 200

    fragile.stop_node(2)
    try:
        # reads of the dead master's shards: the one 503, at once
        response, took = timed(lambda: client.get("/api/v1/counts", query_string={"url": dead_url}))
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert response.json["error"]["code"] == "unavailable"
        assert took < 1.0
        # a site-wide read needs every shard: 503 too, fast
        response, took = timed(lambda: client.get("/api/v1/stats/summary", headers=key))
        assert response.status_code == 503 and took < 1.0
        # the other masters' articles still answer
        live = client.get("/api/v1/counts", query_string={"url": live_url})
        assert live.status_code == 200 and live.json["total"] == 1
        # links, redirects, the widget and /embed never needed Redis
        response, took = timed(lambda: client.get("/s/facebook", query_string={"url": dead_url},
                                                  headers={"User-Agent": BROWSER_UA},
                                                  environ_base={"REMOTE_ADDR": "203.0.113.2"}))
        assert response.status_code == 302 and took < 0.5
        assert client.get("/api/v1/share", query_string={"url": dead_url}).status_code == 200
        assert client.get("/widget.js").status_code == 200
        assert client.get("/embed", query_string={"url": dead_url}).status_code == 200
        # recommendations come from the index and the catalogue (popularity: the last known)
        recs = client.get("/api/v1/recommendations", query_string={"url": live_url})
        assert recs.status_code == 200 and len(recs.json["items"]) == 2
        ready = client.get("/readyz")  # still ready: the other shards count and answer
        assert ready.status_code == 200
        assert (ready.json["redis"], ready.json["masters"]) == ("degraded", {"up": 2, "total": 3})
        # the recorder writes the live shards' batches and keeps the dead one's for later
        assert share(client, live_url, ip="203.0.113.2").status_code == 204
        assert recorder.flush() == 1
        assert recorder.pending() == 1
        assert client.get("/api/v1/counts", query_string={"url": live_url}).json["total"] == 2
    finally:
        fragile.start_node(2)
    # back (empty script cache: EVALSHA answers NOSCRIPT, EVAL loads it): the kept batch lands
    assert recorder.flush() == 1 and recorder.pending() == 0
    response = client.get("/api/v1/counts", query_string={"url": dead_url})
    assert response.status_code == 200 and response.json["networks"] == {"facebook": 2}
    summary = client.get("/api/v1/stats/summary", headers=key).json["current"]
    assert summary["total"] == 4 and summary["uniques"] == 2
    assert client.get("/readyz").json["redis"] == "ok"


def test_a_frozen_master_fails_its_reads_within_a_second(fragile, fragile_app):
    app, client = fragile_app, fragile_app.test_client()
    recorder, redis = app.extensions["recorder"], app.extensions["storage"].client
    (frozen_url,), (live_url,) = articles_on(fragile, 1, 1), articles_on(fragile, 2, 1)
    key = {"X-Api-Key": api_key_on(redis, fragile, {0, 2})}
    for url in (frozen_url, live_url):
        share(client, url)
    assert recorder.flush() == 2
    fragile.freeze_node(1)
    try:
        response, took = timed(lambda: client.get("/api/v1/counts", query_string={"url": frozen_url}))
        assert response.status_code == 503 and took < 1.2, took  # one 0.5 s socket timeout
        response, took = timed(lambda: client.get("/api/v1/stats/summary", headers=key))
        assert response.status_code == 503 and took < 1.2, took  # its shards in parallel
        response, took = timed(lambda: client.get("/api/v1/counts", query_string={"url": live_url}))
        assert response.status_code == 200 and took < 0.5, took
        response, took = timed(lambda: client.get("/s/x", query_string={"url": frozen_url},
                                                  headers={"User-Agent": BROWSER_UA}))
        assert response.status_code == 302 and took < 0.5
    finally:
        fragile.thaw_node(1)
    fragile.wait_ready()
    assert client.get("/api/v1/stats/summary", headers=key).json["current"]["total"] == 2


def test_a_resharded_slot_is_followed(fragile, fragile_app):
    app, client = fragile_app, fragile_app.test_client()
    recorder, redis = app.extensions["recorder"], app.extensions["storage"].client
    urls = articles_on(fragile, 0, 3, section="moved")
    key = {"X-Api-Key": api_key_on(redis, fragile, {1, 2})}
    for i, url in enumerate(urls):
        for n in range(i + 1):
            share(client, url, ip=f"198.51.100.{n + 1}")
    assert recorder.flush() == 6
    assert client.get("/api/v1/stats/summary", headers=key).json["current"]["total"] == 6
    # the shard of the first article moves to master 1 with its keys; the app's client still
    # has the old slot table: MOVED answers are followed, the figures stay whole
    slot = keyspace.shard_slot("default", keyspace.shard_of(keyspace.article_id(urls[0])))
    assert fragile.move_slot(slot, 1) > 0
    assert fragile.node_of_slot(slot) == 1
    top = client.get("/api/v1/stats/top", headers=key).json["items"]
    assert [(t["url"], t["shares"]) for t in top] == [(urls[2], 3), (urls[1], 2), (urls[0], 1)]
    assert client.get("/api/v1/counts", query_string={"url": urls[0]}).json["total"] == 1
    share(client, urls[0], ip="198.51.100.99")
    assert recorder.flush() == 1
    summary = client.get("/api/v1/stats/summary", headers=key).json["current"]
    assert summary["total"] == 7 and summary["uniques"] == 4


# --- the app starts before the cluster -----------------------------------------------------------
def test_the_app_starts_and_answers_before_the_cluster_is_up(make_app, tmp_path):
    ports = free_ports(3)
    nodes = [f"127.0.0.1:{p}" for p in ports]
    (app, took) = timed(lambda: make_app({"REDIS_CLUSTER_NODES": nodes, "REDIS_URL": ""}))
    assert took < 2.0
    client = app.test_client()
    url = HOST + "/politique/avant.html"
    assert client.get("/s/facebook", query_string={"url": url},
                      headers={"User-Agent": BROWSER_UA}).status_code == 302
    assert client.get("/api/v1/share", query_string={"url": url}).status_code == 200
    assert client.get("/widget.js").status_code == 200
    response, took = timed(lambda: client.get("/api/v1/counts", query_string={"url": url}))
    assert response.status_code == 503 and took < 1.0
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["error"]["redis"] == "down"
    assert client.get("/healthz").status_code == 200  # alive all the same
    assert share(client, url, ip="192.0.2.7").status_code == 204
    recorder = app.extensions["recorder"]
    recorder.flush()
    # without the day's salt no visitor can be hashed yet: the two shares wait in memory (never
    # on disk), nothing is dropped
    assert recorder.dropped == 0 and recorder.pending() == 2
    cluster = LocalCluster(tmp_path / "late", ports=ports).start()
    try:
        time.sleep(storage_client.ClusterClient.RETRY_SECONDS)
        ready = client.get("/readyz").json
        assert (ready["redis"], ready["masters"]) == ("ok", {"up": 3, "total": 3})
        assert share(client, url, ip="192.0.2.7").status_code == 204  # a repeat: counted once
        recorder.flush()  # (the recorder's thread may have written the kept two already)
        assert recorder.pending() == 0 and recorder.dropped == 0
        response = client.get("/api/v1/counts", query_string={"url": url})
        assert response.status_code == 200 and response.json["networks"] == {"facebook": 2}
    finally:
        cluster.stop()
