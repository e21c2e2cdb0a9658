"""Benchmark: the stats API over 90 days on a store of 10,000 articles with 90 days of counters.

One command:  .venv/bin/python bench/stats.py [--articles 10000] [--days 90] [--runs 200]

1. Starts a private redis-server (share_service.embedded.EmbeddedRedis, unix socket in a temp dir).
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
Prints p50 / p95 in milliseconds and the ratio to the PING round trip. Target: p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from share_service import create_app
from share_service.accounts import api_keys
from share_service.counting.events import Event  # noqa: E402
from share_service.stats import params
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=10000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="ss-bench-stats-") as tmp:
        server = embedded.EmbeddedRedis(Path(tmp) / "redis", persistent=False).start()
        try:
            app = create_app({"REDIS_URL": server.url, "SECRET_KEY": "bench",
                              "INSTANCE_PATH": str(Path(tmp) / "instance"),
                              "REDIS_SOCKET_TIMEOUT": 10.0, "COUNTING_DEDUPE_WINDOW_SECONDS": 1})
            r = app.extensions["storage"].client
            site = app.config["SITES"][app.config["DEFAULT_SITE"]]
            print(f"filling: {args.articles} articles x {args.days} days through the recorder (record.lua) ...",
                  flush=True)
            counts = fill(app, r, site, args.articles, args.days)
            info = r.info("memory")
            n_keys = r.dbsize()
            today = params.today(site)
            rng = params.Range(today - timedelta(days=args.days - 1), today)
            top_sizes = [r.zcard(keyspace.top_day(site.id, params.day_id(d))) for d in rng.dates()]
            print(f"store: {counts['events']:,} events ({counts['shares']:,} shares) in "
                  f"{counts['fill_seconds']:.1f} s; {n_keys:,} keys; "
                  f"{info['used_memory'] / 2**20:.0f} MiB; articles per daily top set: "
                  f"median {int(statistics.median(top_sizes))}, max {max(top_sizes)}")

            raw, _ = api_keys.create_api_key(r, "bench", "viewer")
            client = app.test_client()
            headers = {"X-Api-Key": raw}
            q = {"from": rng.start.isoformat(), "to": rng.end.isoformat()}

            def call(path, **extra):
                def run():
                    resp = client.get(path, query_string={**q, **extra}, headers=headers)
                    assert resp.status_code == 200, resp.get_data(as_text=True)
                return run

            ping = measure(r.ping, args.runs * 5)
            summary = call("/api/v1/stats/summary")
            check = client.get("/api/v1/stats/summary", query_string=q, headers=headers).json
            print(f"check: summary total over {args.days} days = {check['current']['total']:,} "
                  f"(shares written: {counts['shares']:,})")
            results = {}
            for name, fn in (("summary (warm)", summary),
                             ("timeseries (warm)", call("/api/v1/stats/timeseries")),
                             ("top (warm)", call("/api/v1/stats/top", limit=10)),
                             ("top, network=facebook (warm)", call("/api/v1/stats/top", limit=10,
                                                            network="facebook"))):
                fn()  # one warm-up (builds the closed-day cache for top)
                results[name] = measure(fn, args.runs)

            def cold(fn):
                def run():
                    for pattern in (keyspace.stats_top_cache(site.id, "*"),
                                    keyspace.stats_sum_cache(site.id, "*"),
                                    keyspace.stats_hll_cache(site.id, "*"),
                                    keyspace.stats_series_cache(site.id, "*", "*")):
                        for k in r.keys(pattern):
                            r.delete(k)
                    t = time.perf_counter()
                    fn()
                    return (time.perf_counter() - t) * 1000
                return run

            n_cold = max(10, args.runs // 10)
            for name, path, extra in (("summary", "/api/v1/stats/summary", {}),
                                      ("timeseries", "/api/v1/stats/timeseries", {}),
                                      ("top", "/api/v1/stats/top", {"limit": 10})):
                run = cold(call(path, **extra))
                results[f"{name} (cold: caches rebuilt)"] = [run() for _ in range(n_cold)]

            base50, base95 = pct(ping, 50), pct(ping, 95)
            print(f"\nbaseline: Redis PING round trip p50 {base50:.3f} ms, p95 {base95:.3f} ms "
                  f"({len(ping)} runs)")
            print(f"{'query (' + str(args.days) + ' days)':34} {'p50 ms':>8} {'p95 ms':>8} "
                  f"{'p95/PING':>9}  target p95 <= 100 ms")
            ok = True
            for name, values in results.items():
                p50, p95 = pct(values, 50), pct(values, 95)
                verdict = "ok" if p95 <= 100 else "OVER"
                ok &= p95 <= 100
                print(f"{name:34} {p50:8.2f} {p95:8.2f} {p95 / base95:9.0f}  {verdict}")
            return 0 if ok else 1
        finally:
            server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
