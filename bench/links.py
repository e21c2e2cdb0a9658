"""Share links and QR codes, in-process: cost of GET /api/v1/share (JSON and HTML) against a bare
Flask endpoint measured in the same run, and of QR rendering (uncached, then cached).

    .venv/bin/python bench/links.py [--requests 2000]

No Redis is needed (the share links and /qr never touch it; the HTML is measured with more=0,
without « Plus de contenu », which bench/more_content.py measures): REDIS_URL points at a dead
socket.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from inprocess import app_without_redis, bare_baseline, per_request

from share_service.sharing import qr

QUERY = {
    "url": "https://www.lequotidien.example/politique/2026/11/26/l-ete-des-reformes?page=2",
    "title": "L’été des réformes : « tout reste à faire »",
    "text": "À lire : le bilan 😀",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    n = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as tmp:
        app = app_without_redis(tmp)
        base = bare_baseline(n)
        client = app.test_client()
        print(f"bare Flask endpoint        {base * 1e6:8.0f} µs/request (baseline)")
        for fmt in ("json", "html"):
            cost = per_request(client, "/api/v1/share", n,
                               query_string={**QUERY, "format": fmt, "more": "0"})
            print(f"GET /api/v1/share {fmt:4}     {cost * 1e6:8.0f} µs/request  "
                  f"ratio to bare {base / cost:.2f}")
        cached = per_request(client, "/qr", n, query_string={"url": QUERY["url"], "format": "png"})
        print(f"GET /qr (image cached)     {cached * 1e6:8.0f} µs/request  ratio to bare {base / cached:.2f}")
        text = QUERY["url"] + "&utm_source=qr&utm_medium=social&utm_campaign=share"
        for fmt, size in (("png", 256), ("png", 1024), ("svg", 256)):
            params = qr.QrParams(fmt=fmt, size=size)
            rounds = 20
            start = time.perf_counter()
            for _ in range(rounds):
                qr.render.cache_clear()
                body = qr.render(text, params)
            cost = (time.perf_counter() - start) / rounds
            print(f"QR render {fmt} {size:4} px uncached {cost * 1e3:6.1f} ms  ({len(body)} bytes)")


if __name__ == "__main__":
    main()
