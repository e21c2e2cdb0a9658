"""Benchmark: the stats API over 90 days on a store of 10,000 articles with 90 days of counters.

One command:  .venv/bin/python bench/stats.py [--articles 10000] [--days 90] [--runs 200]
              .venv/bin/python bench/stats.py --cluster     on a local Redis Cluster of 3 masters
              .venv/bin/python bench/stats.py --both        one Redis and the cluster, side by side

1. Starts a private redis-server (share_service.embedded.EmbeddedRedis, unix socket in a temp dir),
   or a local Redis Cluster of three masters on loopback TCP (tests/redis_cluster.py, the same
   binary), or both (filled with the same traffic, queries measured in interleaved rounds).
2. Writes the counters through the REAL counting path: events (with explicit timestamps and
   visitor hashes) go to the app's write-behind recorder (``app.extensions["recorder"]``), which
   batches them and runs the real Lua batch script (``counting/record.lua``) — so the keys,
   fields, TTLs, top sets and HyperLogLogs are exactly what production writes. Traffic model: 10,000 articles published over the 90 days; each day
   every article published in the last 10 days is shared (decaying with age) and a long tail
   of older articles gets occasional shares; shares spread over 6 networks, plus copies, QR,
   native shares, clickbacks (with UTM), recommendation impressions / clicks; 40,000 visitors.
3. Measures, in the same run: a Redis PING round trip (the baseline), then summary, timeseries
   and top (limit 10) over the last 90 days (today included) through the real Flask app with an
   API key (in-process WSGI: routing, key check, query, JSON). Each is measured warm (the
   closed-day caches exist: the steady state) and cold (every stats cache deleted before each
   call: the first query of a range on a new day).
Prints p50 / p95 in milliseconds per store, the PING round trip of each, and (--both) the
cluster / one-Redis ratio of the p95s. Target: p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the LocalCluster

from redis_cluster import LocalCluster

from share_service import create_app
from share_service.accounts import api_keys
from share_service.counting import reads
from share_service.counting.events import Event
from share_service.stats import params
from share_service.storage import client as storage_client
from share_service.storage import embedded, keyspace

NETWORKS = ["facebook", "x", "linkedin", "whatsapp", "bluesky", "email"]
NET_WEIGHTS = [30, 20, 15, 20, 10, 5]
BATCH = 2000  # events handed to the recorder between two synchronous flushes


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def fill(app, r, site, n_articles: int, days: int, seed: int = 42) -> dict:
    rnd = random.Random(seed)
    recorder = app.extensions["recorder"]
    tz = site.tz
    today = datetime.now(tz).date()
    first_day = today - timedelta(days=days - 1)
    urls = [f"https://www.lequotidien.example/actualite/article-{i}.html" for i in range(n_articles)]
    aids = [keyspace.article_id(u) for u in urls]
    published = sorted(rnd.randrange(days) for _ in range(n_articles))  # day index of publication
    pipe = r.pipeline(transaction=False)
    for i, aid in enumerate(aids):
        pipe.hset(keyspace.article(site.id, aid), mapping={"url": urls[i], "title": f"Article n° {i} — « titre »"})
    pipe.execute()
    visitors = [f"{rnd.getrandbits(64):016x}" for _ in range(40000)]
    counts = {"events": 0, "shares": 0}
    buffer: list[Event] = []
    seen: set = set()

    def who(aid: str, kind: str, net: str) -> str:
        """A visitor that has not done this yet: nothing is deduplicated, counts stay exact."""
        while True:
            v = rnd.choice(visitors)
            if (v, aid, kind, net) not in seen:
                seen.add((v, aid, kind, net))
                return v

    def flush():
        # The real write path: the write-behind recorder batches the events and runs the
        # counting Lua script (record.lua), exactly as the events endpoint does.
        for ev in buffer:
            recorder.add(ev)
        recorder.flush()
        buffer.clear()

    by_day: dict[int, list[int]] = {}
    for idx, d in enumerate(published):
        by_day.setdefault(d, []).append(idx)
    t0 = time.perf_counter()
    for day_index in range(days):
        day = first_day + timedelta(days=day_index)
        start = datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
        span = 86400 if day != today else max(60, time.time() - start - 1)
        active = []
        for back in range(10):  # fresh articles: heavy, decaying with age
            active += [(a, 6.0 / (1 + back)) for a in by_day.get(day_index - back, [])]
        older = [a for d in range(max(0, day_index - 90), max(0, day_index - 10))
                 for a in by_day.get(d, [])]
        active += [(a, 0.6) for a in rnd.sample(older, min(len(older), 1500))]
        for aid_index, rate in active:
            url, aid = urls[aid_index], aids[aid_index]
            n = max(0, int(rnd.expovariate(1 / rate)))
            for _ in range(n):
                ts = start + rnd.random() * span
                net = rnd.choices(NETWORKS, NET_WEIGHTS)[0]
                buffer.append(Event(site.id, "share", net, url, aid, who(aid, "share", net), ts))
                counts["shares"] += 1
                roll = rnd.random()
                if roll < 0.15:
                    kind = rnd.choice(("copy", "qr", "native"))
                    buffer.append(Event(site.id, kind, "", url, aid, who(aid, kind, ""), ts))
                if roll < 0.4:
                    src = rnd.choice(NETWORKS + ["copy"])
                    buffer.append(Event(site.id, "visit", src, url, aid, who(aid, "visit", src), ts,
                                        utm=(src, "social", "share")))
                if roll < 0.3:
                    buffer.append(Event(site.id, "rec_impression", "", url, aid,
                                        who(aid, "rec_impression", ""), ts))
                if len(buffer) >= BATCH:
                    counts["events"] += len(buffer)
                    flush()
    counts["events"] += len(buffer)
    flush()
    counts["fill_seconds"] = time.perf_counter() - t0
    return counts


def measure(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


class Store:
    """One store under test: its app (real Flask app, API key), filled with the same traffic."""

    def __init__(self, name: str, overrides: dict, tmp: Path):
        self.name = name
        self.app = create_app({"SECRET_KEY": "bench", "INSTANCE_PATH": str(tmp / name),
                               "REDIS_SOCKET_TIMEOUT": 10.0, "COUNTING_DEDUPE_WINDOW_SECONDS": 1,
                               **overrides})
        self.r = self.app.extensions["storage"].client
        self.site = self.app.config["SITES"][self.app.config["DEFAULT_SITE"]]
        self.client = self.app.test_client()
        self.headers: dict = {}

    def memory_and_keys(self) -> tuple[int, int]:
        if storage_client.is_cluster(self.r):
            from redis.cluster import RedisCluster

            infos = self.r.info("memory", target_nodes=RedisCluster.PRIMARIES).values()
            sizes = self.r.dbsize(target_nodes=RedisCluster.PRIMARIES)
            keys = sum(sizes.values()) if isinstance(sizes, dict) else int(sizes)
            return sum(i["used_memory"] for i in infos), keys
        return self.r.info("memory")["used_memory"], self.r.dbsize()

    def call(self, q: dict, path: str, **extra):
        def run():
            resp = self.client.get(path, query_string={**q, **extra}, headers=self.headers)
            assert resp.status_code == 200, resp.get_data(as_text=True)
        return run

    def cache_keys(self) -> list[str]:
        """Every stats cache key of the site (KEYS on every master: fine for a bench)."""
        patterns = keyspace.stats_cache_patterns(self.site.id).values()
        if storage_client.is_cluster(self.r):
            from redis.cluster import RedisCluster

            return [k for pattern in patterns
                    for k in self.r.keys(pattern, target_nodes=RedisCluster.PRIMARIES)]
        return [k for pattern in patterns for k in self.r.keys(pattern)]

    def cold(self, fn):
        def run():
            for k in self.cache_keys():
                self.r.delete(k)
            t = time.perf_counter()
            fn()
            return (time.perf_counter() - t) * 1000
        return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=10000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--runs", type=int, default=200)
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--cluster", action="store_true",
                       help="on a local Redis Cluster of 3 masters instead of one Redis")
    where.add_argument("--both", action="store_true",
                       help="one Redis and the cluster, same traffic, measured interleaved")
    args = ap.parse_args()
    names = ["redis", "cluster"] if args.both else ["cluster"] if args.cluster else ["redis"]

    with tempfile.TemporaryDirectory(prefix="ss-bench-stats-") as tmp_name:
        tmp = Path(tmp_name)
        servers, stores = [], []
        try:
            for name in names:
                if name == "redis":
                    server = embedded.EmbeddedRedis(tmp / "redis", persistent=False).start()
                    servers.append(server)
                    stores.append(Store(name, {"REDIS_URL": server.url}, tmp))
                else:
                    cluster = LocalCluster(tmp / "cluster", masters=3).start()
                    servers.append(cluster)
                    stores.append(Store(name, {"REDIS_CLUSTER_NODES": cluster.nodes}, tmp))
                    print(f"cluster: 3 masters {cluster.nodes}, formed in "
                          f"{cluster.formation_seconds:.1f} s", flush=True)
            return run(stores, args)
        finally:
            for store in stores:
                store.app.extensions["recorder"].close()
            for server in servers:
                server.stop()


def run(stores: list[Store], args) -> int:
    for store in stores:
        print(f"[{store.name}] filling: {args.articles} articles x {args.days} days through the "
              f"recorder (record.lua) ...", flush=True)
        counts = fill(store.app, store.r, store.site, args.articles, args.days)
        memory, n_keys = store.memory_and_keys()
        today = params.today(store.site)
        rng = params.Range(today - timedelta(days=args.days - 1), today)
        top_sizes = [len(reads.top_articles(store.r, store.site.id, params.day_id(d),
                                            limit=100000)) for d in rng.dates()[-10:]]
        print(f"[{store.name}] store: {counts['events']:,} events ({counts['shares']:,} shares) "
              f"in {counts['fill_seconds']:.1f} s; {n_keys:,} keys; {memory / 2**20:.0f} MiB; "
              f"articles per daily top set (last 10 days): median "
              f"{int(statistics.median(top_sizes))}, max {max(top_sizes)}")
        raw, _ = api_keys.create_api_key(store.r, "bench", "viewer")
        store.headers = {"X-Api-Key": raw}
        store.q = {"from": rng.start.isoformat(), "to": rng.end.isoformat()}
        check = store.client.get("/api/v1/stats/summary", query_string=store.q,
                                 headers=store.headers).json
        print(f"[{store.name}] check: summary total over {args.days} days = "
              f"{check['current']['total']:,} (shares written: {counts['shares']:,}); "
              f"unique sharers {check['current']['uniques']:,}")
        store.counts = counts

    results: dict[str, dict[str, list[float]]] = {}
    pings = {s.name: [] for s in stores}
    queries = [("summary (warm)", "/api/v1/stats/summary", {}),
               ("timeseries (warm)", "/api/v1/stats/timeseries", {}),
               ("top (warm)", "/api/v1/stats/top", {"limit": 10}),
               ("top, network=facebook (warm)", "/api/v1/stats/top",
                {"limit": 10, "network": "facebook"})]
    for name, path, extra in queries:
        fns = {s.name: s.call(s.q, path, **extra) for s in stores}
        for fn in fns.values():
            fn()  # one warm-up (builds the closed-day caches)
        results[name] = {s.name: [] for s in stores}
        # interleaved rounds (the order alternates) so that both stores see the same load
        for i in range(args.runs):
            order = stores if i % 2 == 0 else stores[::-1]
            for store in order:
                results[name][store.name] += measure(fns[store.name], 1)
                pings[store.name] += measure(store.r.ping, 5)
    n_cold = max(10, args.runs // 10)
    for label, path, extra in (("summary", "/api/v1/stats/summary", {}),
                               ("timeseries", "/api/v1/stats/timeseries", {}),
                               ("top", "/api/v1/stats/top", {"limit": 10})):
        name = f"{label} (cold: caches rebuilt)"
        fns = {s.name: s.cold(s.call(s.q, path, **extra)) for s in stores}
        results[name] = {s.name: [] for s in stores}
        for i in range(n_cold):
            for store in stores if i % 2 == 0 else stores[::-1]:
                results[name][store.name].append(fns[store.name]())

    print()
    for store in stores:
        print(f"baseline [{store.name}]: Redis PING round trip p50 {pct(pings[store.name], 50):.3f} ms, "
              f"p95 {pct(pings[store.name], 95):.3f} ms ({len(pings[store.name])} runs)")
    head = f"{'query (' + str(args.days) + ' days)':34}"
    for store in stores:
        head += f" {store.name + ' p50':>12} {store.name + ' p95':>12}"
    print(head + "   target p95 <= 100 ms")
    ok = True
    for name, by_store in results.items():
        line = f"{name:34}"
        for store in stores:
            values = by_store[store.name]
            p95 = pct(values, 95)
            ok &= p95 <= 100
            line += f" {pct(values, 50):12.2f} {p95:12.2f}"
        worst = max(pct(v, 95) for v in by_store.values())
        if len(stores) == 2:
            line += f"   cluster/redis p95 {pct(by_store['cluster'], 95) / pct(by_store['redis'], 95):.2f}"
        print(line + ("   ok" if worst <= 100 else "   OVER"))
    print(f"load average during the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
