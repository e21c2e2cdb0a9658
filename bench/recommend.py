"""Benchmark: « Plus de contenu » quality on hand-written catalogues (words against the blend
with semantic similarity), the embedder's speed, latency at 1k / 10k / 100k articles by words
and by meaning, and ingestion rate.

    .venv/bin/python bench/recommend.py [--sizes 1000,10000,100000] [--queries 500]
                                        [--feed-items 5000] [--skip quality,latency,ingestion]

Everything runs against a private redis-server (share_service.embedded.EmbeddedRedis in a temporary
folder, unix socket) and a feed served by http.server on 127.0.0.1 (OS-chosen port); nothing
from the internet. Printed:

* baseline: Redis PING round trip and a one-article HGETALL (p50 / p95) measured in this run;
* per catalogue size: catalogue write time, index load (first request of a fresh worker, and
  of a restarted worker reading its snapshot), index memory, latency p50 / p95 / p99 of the engine (Recommender.recommend: sync check,
  candidates, scoring, diversity, one pipeline for the items) and of the full HTTP view through
  Flask's test client, for random articles, result cache off; the cost of syncing 100 new
  articles into the loaded index;
* ingestion: articles per second for an RSS feed of --feed-items items (fetch over HTTP, safe XML
  check, feedparser, validation, atomic writes), and the time of the 304 refresh.

* quality: precision@5 on every catalogue of bench/data/recommend (bench/quality.py: every
  article asked for 5 recommendations through the engine, relevant = same story) and on a
  generated one, by words and by the blend (default weights), and of the vectors alone as the
  model gives them (float32) and as stored (int8);
* embedder: the real model's time per article in batches of 256 and one at a time;
* semantic latency: the same catalogues with a vector per article (synthetic vectors, clustered
  by topic, stored like the embedder's: computing 100k real ones would take an hour here), a
  fresh worker loading them, the engine and HTTP latency with method "semantic", the matrix's
  memory, and past RECOMMEND_SEMANTIC_EXACT_MAX the recall of the projected search against an
  exact scan.

Targets: p95 <= 20 ms at 100k articles; >= 1,000 articles/s ingestion; precision@5 >= 0.8.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpus  # noqa: E402
import numpy as np  # noqa: E402
import quality  # noqa: E402

from share_service import create_app
from share_service.catalogue import store  # noqa: E402
from share_service.catalogue.ingest import ingest_url  # noqa: E402
from share_service.catalogue.records import normalize
from share_service.config import load_settings  # noqa: E402
from share_service.recommend import Recommender, vectors  # noqa: E402
from share_service.recommend.embedder import MODEL_ID, Embedder, article_text
from share_service.recommend.matrix import single_threaded_blas
from share_service.storage import client as storage_client
from share_service.storage import embedded, keyspace

HOST = "www.lequotidien.example"


def http_latencies(app, targets, method: str | None = None) -> list[float]:
    """Seconds per GET /api/v1/recommendations through Flask's test client, one per target;
    every answer a 200 (and served by ``method`` when given)."""
    web = app.test_client()
    times = []
    for target in targets:
        t = time.perf_counter()
        response = web.get("/api/v1/recommendations", query_string={"url": target})
        times.append(time.perf_counter() - t)
        assert response.status_code == 200
        assert method is None or response.get_json()["method"] == method
    return times


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def fmt(values) -> str:
    ms = [v * 1000 for v in values]
    return f"p50 {pct(ms, 50):6.2f} ms  p95 {pct(ms, 95):6.2f} ms  p99 {pct(ms, 99):6.2f} ms"


def mapped_npy_mb() -> tuple[float, float]:
    """(resident MB, privately written MB) of this process's mappings of .npy files: resident
    clean pages of a mapped file are shared with every process mapping it."""
    rss = dirty = 0
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5:      # a mapping's header line
            inside = line.rstrip().endswith(".npy")
        elif inside and line.startswith("Rss:"):
            rss += int(head[1])
        elif inside and line.startswith("Private_Dirty:"):
            dirty += int(head[1])
    return rss / 1024, dirty / 1024


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def timed(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def baseline(client):
    client.hset("bench:one", mapping={"title": "x" * 80, "url": "https://x/" + "y" * 40})
    client.ping()
    print(f"baseline  Redis PING round trip          {fmt(timed(client.ping, 2000))}")
    print(f"baseline  Redis HGETALL of one record    "
          f"{fmt(timed(lambda: client.hgetall('bench:one'), 2000))}")
    client.delete("bench:one")


def catalogue_bench(client, url, n, queries, settings, site):
    client.flushall()
    rng = random.Random(n)
    topics = corpus.synthetic_topics(max(6, n // 500), rng)
    now = time.time()
    t = time.perf_counter()
    articles = corpus.make_corpus(n, seed=n, topics=topics, now=now, general_extra=5000,
                                  own_title=0.4, own_description=0.3, noise=0.1,
                                  foreign_tag=0.2)
    records = [normalize(a, site, "push") for a in articles]
    gen = time.perf_counter() - t
    t = time.perf_counter()
    store.save_articles(client, site.id, records)
    write = time.perf_counter() - t
    # recent shares for 2 % of the articles, over the last three days
    from datetime import datetime, timedelta

    today = datetime.now(site.tz).date()
    pipe = client.pipeline(transaction=False)
    for back in range(3):
        day = (today - timedelta(days=back)).strftime("%Y%m%d")
        shared = rng.sample(records, max(1, n // 50))
        for r in shared:
            aid = keyspace.article_id(r["url"])
            pipe.zadd(keyspace.top_day(site.id, keyspace.shard_of(aid), day),
                      {aid: rng.randint(1, 500)})
    pipe.execute()

    snapshots = tempfile.mkdtemp(prefix="bench-snap-")
    rec = Recommender(settings, cache_size=0, snapshot_dir=snapshots)
    before = rss_mb()
    t, c = time.perf_counter(), time.process_time()
    rec.recommend(client, site, records[0]["url"], 5)   # full load (+ snapshot written)
    load, load_cpu = time.perf_counter() - t, time.process_time() - c
    grown = rss_mb() - before
    t = time.perf_counter()
    restarted = Recommender(settings, cache_size=0, snapshot_dir=snapshots)
    restarted.recommend(client, site, records[1]["url"], 5)  # a restarted worker
    from_snapshot = time.perf_counter() - t
    del restarted
    picks = [rng.choice(records)["url"] for _ in range(queries)]
    engine, engine_cpu = [], []
    for target in picks:
        t, c = time.perf_counter(), time.process_time()
        answer = rec.recommend(client, site, target, 5)
        engine.append(time.perf_counter() - t)
        engine_cpu.append(time.process_time() - c)
        assert len(answer["items"]) == 5 and not answer["fallback"]
    # incremental: 100 new articles arrive, the next request syncs them
    fresh = corpus.make_corpus(100, seed=n + 1, topics=topics, now=now, general_extra=0)
    for i, a in enumerate(fresh):
        a["url"] = f"https://{HOST}/new/{n}-{i}.html"
    store.save_articles(client, site.id, [normalize(a, site, "push") for a in fresh])
    t = time.perf_counter()
    rec.recommend(client, site, picks[0], 5)
    sync = time.perf_counter() - t
    assert len(rec.indexes[site.id]) == n + 100

    # the HTTP view (Flask test client): URL validation, site, JSON
    app = create_app({"REDIS_URL": url, "ALLOWED_HOSTS": [HOST], "TESTING": True,
                      "SECRET_KEY": "bench", "INSTANCE_PATH": tempfile.mkdtemp()})
    app.extensions["recommender"] = rec
    rec.cache_size = 0
    http_times = http_latencies(app, picks[: max(100, queries // 2)])
    print(f"{n:>7,} articles: generated {gen:5.1f} s, written {write:5.1f} s "
          f"({n / write:,.0f}/s); index memory ~{grown:4.0f} MB")
    print(f"{n:>7,}   first request of a new worker (full load): {load:5.2f} s "
          f"(CPU {load_cpu:5.2f} s); of a restarted worker (snapshot): {from_snapshot:5.2f} s")
    print(f"{n:>7,}   engine  {fmt(engine)}   ({queries} random articles)")
    print(f"{n:>7,}   engine  CPU of this process per request: {fmt(engine_cpu)}")
    print(f"{n:>7,}   HTTP    {fmt(http_times)}   ({len(http_times)} requests, test client)")
    print(f"{n:>7,}   +100 new articles synced by the next request in {sync * 1000:.1f} ms")
    semantic = semantic_bench(client, app, settings, site, records + [
        normalize(a, site, "push") for a in fresh], articles + fresh, picks, queries, rng)
    return pct(engine, 95), pct(http_times, 95), pct(engine_cpu, 95), semantic


def store_synthetic_vectors(client, site_id, records, topics, rng) -> float:
    """One unit vector per article, near its topic's centre (cosines within a topic ~0.4,
    across ~0.1, as the model's), written like the embedder writes them. Seconds taken."""
    dim = 512
    gen = np.random.default_rng(len(records))
    centres = {t: gen.standard_normal(dim).astype(np.float32) for t in topics}
    t = time.perf_counter()
    for start in range(0, len(records), 500):
        chunk = records[start:start + 500]
        rows = np.stack([centres[r["_topic"]] for r in chunk]) + 1.2 * gen.standard_normal(
            (len(chunk), dim)).astype(np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        blobs = vectors.pack_many(rows, [b"\0" * 8] * len(chunk))
        args = ["bench", 0, "bench"]
        for r, blob in zip(chunk, blobs, strict=True):
            args += [keyspace.article_id(r["url"]), blob]
        vectors.SAVE(client, keys=[keyspace.vectors(site_id, MODEL_ID),
                                   keyspace.vector_seq(site_id, MODEL_ID),
                                   keyspace.vector_changes(site_id, MODEL_ID)], args=args)
    return time.perf_counter() - t


def semantic_bench(client, app, settings, site, records, articles, picks, queries, rng):
    n = len(records)
    topic_of = {r["url"]: a["topic"] for r, a in zip(records, articles, strict=False)}
    for r in records:
        r["_topic"] = topic_of.get(r["url"], "t0")
    written = store_synthetic_vectors(client, site.id, records, sorted(set(topic_of.values())),
                                      rng)
    rec = Recommender(settings, cache_size=0)
    before = rss_mb()
    t = time.perf_counter()
    first = rec.recommend(client, site, picks[0], 5)
    load = time.perf_counter() - t
    grown = rss_mb() - before
    assert first["method"] == "semantic", first["method"]
    mat = rec.indexes[site.id].vectors
    # interleaved with the words engine: the same worker, index and articles, its vectors
    # ignored (coverage required above 100 %) every other request
    coverage = rec.min_coverage
    sem_t, word_t, sem_cpu = [], [], []
    for target in picks:
        rec.min_coverage = coverage
        t, c = time.perf_counter(), time.process_time()
        answer = rec.recommend(client, site, target, 5)
        sem_t.append(time.perf_counter() - t)
        sem_cpu.append(time.process_time() - c)
        assert answer["method"] == "semantic" and len(answer["items"]) == 5
        rec.min_coverage = 2.0
        t = time.perf_counter()
        answer = rec.recommend(client, site, target, 5)
        word_t.append(time.perf_counter() - t)
        assert answer["method"] == "words"
    rec.min_coverage = coverage
    app.extensions["recommender"] = rec
    http_times = http_latencies(app, picks[: max(100, queries // 2)], method="semantic")
    recall = ""
    if mat.proj is not None:  # the projected search against an exact scan of the same rows
        idx = rec.indexes[site.id]
        allowed = idx.allowed(float(int(time.time() // 60) * 60), site.max_age_days)
        found = total = 0
        for target in picks[:100]:
            slot = idx.slot_of[keyspace.article_id(target)]
            mask = allowed.copy()
            mask[slot] = False
            got, _ = mat.similar(slot, mask, 10)
            cand = np.flatnonzero(mask & mat.has[: len(mask)])
            exact = cand[np.argsort(-mat.cosines(slot, cand), kind="stable")[:10]]
            found += len(set(got) & set(exact.tolist()))
            total += 10
        recall = f"; recall@10 of the projected search against the exact scan {found / total:.3f}"
    print(f"{n:>7,}   semantic: {n:,} vectors written in {written:4.1f} s; a fresh worker loads "
          f"index + vectors in {load:5.2f} s; matrix {mat.mode}, {mat.nbytes() / 1e6:.0f} MB "
          f"(worker RSS +{grown:.0f} MB with the index){recall}")
    print(f"{n:>7,}   semantic engine {fmt(sem_t)}   words engine {fmt(word_t)} (interleaved)"
          f"  ratio p50 {pct(sem_t, 50) / pct(word_t, 50):.2f}")
    # a restarted worker: index and matrix from the snapshot, the matrix mapped copy-on-write
    snapshots = tempfile.mkdtemp(prefix="bench-snap-")
    rec.indexes[site.id].save_snapshot(str(Path(snapshots) / f"{site.id}.index"))
    t = time.perf_counter()
    restarted = Recommender(settings, cache_size=0, snapshot_dir=snapshots)
    assert restarted.recommend(client, site, picks[1], 5)["method"] == "semantic"
    for target in picks[:50]:
        restarted.recommend(client, site, target, 5)
    from_snapshot = time.perf_counter() - t
    resident, dirty = mapped_npy_mb()
    mapped = isinstance(restarted.indexes[site.id].vectors.dense, np.memmap)
    del restarted
    print(f"{n:>7,}   semantic engine CPU of this process per request: {fmt(sem_cpu)}")
    print(f"{n:>7,}   a restarted worker (snapshot, matrix {'mapped' if mapped else 'read'}): "
          f"first request and 50 more in {from_snapshot:.2f} s; mapped matrix resident "
          f"{resident:.0f} MB, of which written privately {dirty:.0f} MB (the rest is shared "
          f"by every worker mapping the snapshot)")
    print(f"{n:>7,}   semantic HTTP   {fmt(http_times)}")
    return pct(sem_t, 95), pct(http_times, 95), mat.nbytes()


def embedder_bench() -> Embedder:
    model = Embedder()
    t = time.perf_counter()
    assert model.load(), model.failure
    load = time.perf_counter() - t
    texts = []
    for name in quality.HARD + quality.CONTROL:
        texts += [article_text(a["title"], a["description"])
                  for a in quality.load(name)["articles"]]
    texts = (texts * 2)[:512]
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        model.encode(texts[:256])
        model.encode(texts[256:])
        runs.append((time.perf_counter() - t) / len(texts))
    single = timed(lambda: model.encode([texts[7]]), 30)
    print(f"embedder  model load {load:.1f} s; batches of 256: "
          f"{statistics.median(runs) * 1000:.1f} ms per article (median of 3, "
          f"{1 / statistics.median(runs):,.0f} articles/s); one at a time {fmt(single)}")
    return model


def quality_bench(client, model) -> dict:
    rows = {}
    gen = corpus.make_corpus(240, seed=11, now=quality.NOW, own_title=0.3, own_description=0.2,
                             noise=0.1, foreign_tag=0.33)
    generated = {"name": "generated", "description": "bench/corpus.py, 6 topics",
                 "articles": [dict(a, story=a["topic"]) for a in gen]}
    cats = [(name, quality.load(name)) for name in quality.HARD + quality.CONTROL]
    cats.append(("generated", generated))
    print("quality   precision@5, every article a query (random would score ~0.09 on the "
          "hand-written ones):")
    print(f"          {'catalogue':22} {'n':>4} {'words':>6} {'blend':>6} "
          f"{'vectors f32':>11} {'int8':>6}  method of the blend's answers")
    for name, cat in cats:
        client.flushall()
        records = quality.store_catalogue(client, cat)
        words = quality.precision_at_5(client, cat, records, semantic=False)
        quality.embed(client, model)
        blend = quality.precision_at_5(client, cat, records, semantic=True)
        alone = quality.vectors_alone(cat, model)
        rows[name] = (words["p5"], blend["p5"], alone["float32"], alone["int8"])
        print(f"          {name:22} {len(records):4} {words['p5']:6.3f} {blend['p5']:6.3f} "
              f"{alone['float32']:11.3f} {alone['int8']:6.3f}  {blend['methods']}")
    hard = [rows[n] for n in quality.HARD]
    print(f"          {'mean of the 5 hard':22} {'':4} "
          + " ".join(f"{np.mean([r[i] for r in hard]):6.3f}" for i in range(2))
          + f" {np.mean([r[2] for r in hard]):11.3f} {np.mean([r[3] for r in hard]):6.3f}")
    return rows


def rss_feed(items) -> bytes:
    from email.utils import formatdate
    from xml.sax.saxutils import escape

    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
             'xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Bench</title>'
             '<language>fr</language>']
    for a in items:
        cats = "".join(f"<category>{escape(t)}</category>" for t in [a["section"], *a["tags"]])
        parts.append(
            f"<item><title>{escape(a['title'])}</title><link>{escape(a['url'])}</link>"
            f"<description>{escape('<p>' + a['description'] + '</p>')}</description>{cats}"
            f"<pubDate>{formatdate(a['published'])}</pubDate>"
            f"<media:content url=\"{escape(a['image'])}\" medium=\"image\" width=\"1200\" "
            f"height=\"675\"/></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def ingestion_bench(client, items):
    settings = load_settings({"ALLOWED_HOSTS": ["127.0.0.1", HOST], "CATALOGUE_FETCH_ALLOW_PRIVATE": True,
                              "CATALOGUE_FETCH_MAX_BYTES": 64 * 1024 * 1024})
    site = settings["SITES"]["default"]
    folder = tempfile.mkdtemp()
    articles = corpus.make_corpus(items, seed=99, general_extra=2000)
    Path(folder, "feed.xml").write_bytes(rss_feed(articles))
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/feed.xml"
    rates, cpu_rates = [], []
    try:
        for _ in range(2):
            client.flushall()
            t, c = time.perf_counter(), time.process_time()
            report = ingest_url(client, settings, site, url)
            elapsed = time.perf_counter() - t
            cpu_rates.append(items / (time.process_time() - c))
            assert report.status == "ok" and report.changed == items, report
            rates.append(items / elapsed)
        t = time.perf_counter()
        again = ingest_url(client, settings, site, url)
        refresh = time.perf_counter() - t
        assert again.status == "not_modified"
    finally:
        server.shutdown()
        server.server_close()
    size = Path(folder, "feed.xml").stat().st_size
    print(f"ingestion  RSS feed of {items:,} items ({size / 1e6:.1f} MB) over 127.0.0.1: "
          f"{statistics.median(rates):,.0f} articles/s (runs: "
          f"{', '.join(f'{r:,.0f}' for r in rates)}); 304 refresh {refresh * 1000:.1f} ms")
    print(f"ingestion  per CPU-second of the ingesting process: "
          f"{statistics.median(cpu_rates):,.0f} articles (the HTTP server and Redis run beside it)")
    return max(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--feed-items", type=int, default=5000)
    parser.add_argument("--skip", default="", help="comma-separated: quality,latency,ingestion")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    skip = set(filter(None, args.skip.split(",")))

    single_threaded_blas()  # as a web worker (extensions.init_app)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f} (shared with other work)")
    folder = tempfile.mkdtemp(prefix="bench-redis-")
    server = embedded.EmbeddedRedis(folder, persistent=False).start()
    try:
        client = storage_client.from_url(server.url, socket_timeout=30)
        # the first request measures a full load in the request (no background loading)
        settings = load_settings({"ALLOWED_HOSTS": [HOST], "RECOMMEND_BACKGROUND_LOAD_MIN": 0})
        site = settings["SITES"]["default"]
        baseline(client)
        if "quality" not in skip:
            rows = quality_bench(client, embedder_bench())
        results = {} if "latency" in skip else {
            n: catalogue_bench(client, server.url, n, args.queries, settings, site)
            for n in sizes}
        rate = None if "ingestion" in skip else ingestion_bench(client, args.feed_items)
    finally:
        server.stop()
    if results:
        biggest = max(results)
        engine95, http95, cpu95, (sem95, sem_http95, sem_bytes) = results[biggest]
        print(f"target p95 <= 20 ms at {biggest:,}: words engine {engine95 * 1000:.2f} ms, "
              f"HTTP {http95 * 1000:.2f} ms -> {'OK' if http95 <= 0.020 else 'MISSED'} "
              f"(CPU p95 {cpu95 * 1000:.2f} ms); semantic engine {sem95 * 1000:.2f} ms, HTTP "
              f"{sem_http95 * 1000:.2f} ms -> {'OK' if sem_http95 <= 0.020 else 'MISSED'} "
              f"(wall-clock figures include waiting for a core: compare the baseline's p95 "
              f"with its p50)")
    if rate is not None:
        print(f"target >= 1,000 articles/s ingestion: {rate:,.0f}/s (best run) -> "
              f"{'OK' if rate >= 1000 else 'MISSED'}")
    if "quality" not in skip:
        weak = [n for n, r in rows.items() if r[1] < 0.8]
        print(f"target precision@5 >= 0.8 with the blend: "
              f"{'OK' if not weak else 'MISSED on ' + ', '.join(weak)}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
