"""« Plus de contenu » rendered on the server: what the block costs GET /embed and
GET /api/v1/share?format=html, in-process.

    .venv/bin/python bench/more_content.py [--articles 10000] [--rounds 15] [--requests 100]

A private redis-server (EmbeddedRedis, unix socket, temporary folder) holds a generated
catalogue (bench/corpus.py). Measured in the same run, in interleaved rounds (the order of the
variants shuffled each round), medians of the per-round means:

* baseline: a bare Flask endpoint, and each page without the block (``more=0``: the bar alone,
  which reads nothing from Redis);
* each page with the block (``more=4``, the site's default), for one article asked again and
  again (the worker's answer cache: the usual case, popular articles) and for a random article
  of the catalogue each time (the engine at work);
* the page while Redis is down (a dead socket): the block left out, how much the failed
  attempt costs.

Printed: µs per request and the ratio of each page with the block to the same page without it.
The machine may be shared: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpus  # noqa: E402
from inprocess import bare_baseline, per_request  # noqa: E402

from share_service import create_app  # noqa: E402
from share_service.catalogue import store  # noqa: E402
from share_service.catalogue.records import normalize  # noqa: E402
from share_service.storage import client as storage_client  # noqa: E402
from share_service.storage import embedded  # noqa: E402

HOST = "www.lequotidien.example"


def make_app(tmp: str, redis_url: str):
    return create_app({"REDIS_URL": redis_url, "SECRET_KEY": "bench", "INSTANCE_PATH": tmp,
                       "ALLOWED_HOSTS": [HOST], "REDIS_SOCKET_TIMEOUT": 0.5,
                       "REDIS_CONNECT_TIMEOUT": 0.5})


def fill(redis_url: str, app, n: int) -> list[str]:
    client = storage_client.from_url(redis_url)
    site = app.config["SITES"]["default"]
    articles = corpus.make_corpus(n, seed=n, now=time.time(), max_age_days=200,
                                  topics=corpus.synthetic_topics(max(6, n // 500),
                                                                 random.Random(n)))
    records = [normalize(a, site, "push") for a in articles]
    for start in range(0, len(records), 500):
        store.save_articles(client, site.id, records[start:start + 500])
    client.close()
    return [r["url"] for r in records]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    n = args.requests
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        server = embedded.EmbeddedRedis(Path(tmp) / "redis", persistent=False).start()
        try:
            app = make_app(tmp, server.url)
            started = time.perf_counter()
            urls = fill(server.url, app, args.articles)
            print(f"catalogue: {len(urls)} articles written in {time.perf_counter() - started:.1f} s")
            client = app.test_client()
            rng = random.Random(1)
            one = urls[0]
            started = time.perf_counter()
            first = client.get("/embed", query_string={"url": one})
            assert first.status_code == 200 and "ssw-more" in first.get_data(as_text=True)
            print(f"first /embed of the worker (index load): {time.perf_counter() - started:.2f} s")

            def page(path, more, fixed=True, fmt=None):
                def run():
                    query = {"url": one if fixed else rng.choice(urls), "more": more}
                    if fmt:
                        query["format"] = fmt
                    response = client.get(path, query_string=query)
                    assert response.status_code == 200, response.status_code
                return run

            variants = {
                "/embed more=0 (baseline)": page("/embed", "0"),
                "/embed more=4, one article": page("/embed", "4"),
                "/embed more=4, random articles": page("/embed", "4", fixed=False),
                "share html more=0 (baseline)": page("/api/v1/share", "0", fmt="html"),
                "share html more=4, one article": page("/api/v1/share", "4", fmt="html"),
                "share html more=4, random articles": page("/api/v1/share", "4", fixed=False,
                                                           fmt="html"),
            }
            for run in variants.values():  # warm every path once
                run()
            samples: dict[str, list[float]] = {name: [] for name in variants}
            samples["bare Flask endpoint"] = []
            for _ in range(args.rounds):
                order = list(variants) + ["bare Flask endpoint"]
                rng.shuffle(order)
                for name in order:
                    if name == "bare Flask endpoint":
                        samples[name].append(bare_baseline(n))
                        continue
                    run = variants[name]
                    start = time.perf_counter()
                    for _ in range(n):
                        run()
                    samples[name].append((time.perf_counter() - start) / n)
        finally:
            server.stop()
        med = {name: statistics.median(values) for name, values in samples.items()}
        quart = {name: statistics.quantiles(values, n=4) for name, values in samples.items()}
        print(f"\n{args.rounds} interleaved rounds of {n} requests; median (quartiles) µs/request")
        for name, value in med.items():
            q1, _, q3 = quart[name]
            line = f"  {name:36} {value * 1e6:7.0f}  ({q1 * 1e6:.0f}–{q3 * 1e6:.0f})"
            base = ("/embed more=0 (baseline)" if name.startswith("/embed") else
                    "share html more=0 (baseline)" if name.startswith("share") else None)
            if base and base != name:
                line += f"   x{value / med[base]:.2f} of the page without the block"
            print(line)

        down = make_app(tmp, f"unix://{tmp}/no-redis.sock")
        down_client = down.test_client()
        import logging

        logging.getLogger("share_service.recommend").setLevel(logging.ERROR)  # one warning each
        without = per_request(down_client, "/embed", n, query_string={"url": one, "more": "0"})
        degraded = per_request(down_client, "/embed", n, query_string={"url": one, "more": "4"})
        print(f"\nRedis down: /embed more=0 {without * 1e6:.0f} µs, more=4 {degraded * 1e6:.0f} µs "
              f"(block left out; x{degraded / without:.2f})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
