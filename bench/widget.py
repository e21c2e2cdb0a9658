"""The widget's serving path, in-process: GET /widget.js and /widget.css (gzip, 200), the same
revalidated (304), and GET /embed, against a bare Flask endpoint measured in the same run; plus
the one-time cost of building the assets and their gzipped size (the 8 KB budget).

    .venv/bin/python bench/widget.py [--requests 2000]

No Redis is needed (none of these touch it: /embed is measured with more=0, the bar alone; with
« Plus de contenu », read from Redis, see bench/more_content.py): REDIS_URL points at a dead
socket.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from inprocess import app_without_redis, bare_baseline, per_request

from share_service.web.widget import assets as widget_assets

ARTICLE = "https://www.lequotidien.example/politique/2026/11/26/l-ete-des-reformes?page=2"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    n = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as tmp:
        app = app_without_redis(tmp)
        base = bare_baseline(n)
        print(f"bare Flask endpoint              {base * 1e6:7.0f} µs/request (baseline)")

        rounds = 20
        start = time.perf_counter()
        for _ in range(rounds):
            widget_assets.build_js(app.config)
            widget_assets.build_css(app.config)
        build = (time.perf_counter() - start) / rounds
        print(f"build widget.js + widget.css     {build * 1e3:7.1f} ms once per process "
              f"({widget_assets.gzipped_size(app.config)} bytes gzipped, budget "
              f"{widget_assets.BUDGET_GZIP_BYTES})")

        client = app.test_client()
        gz = {"Accept-Encoding": "gzip, deflate, br"}
        for path in ("/widget.js", "/widget.css"):
            cost = per_request(client, path, n, headers=gz)
            etag = client.get(path, headers=gz).headers["ETag"]
            again = per_request(client, path, n, status=304, headers={**gz, "If-None-Match": etag})
            print(f"GET {path:11} gzip 200         {cost * 1e6:7.0f} µs/request  ratio to bare "
                  f"{base / cost:.2f}")
            print(f"GET {path:11} 304              {again * 1e6:7.0f} µs/request  ratio to bare "
                  f"{base / again:.2f}")
        # the bar alone (more=0); with « Plus de contenu » (Redis): bench/more_content.py
        cost = per_request(client, "/embed", n, query_string={"url": ARTICLE, "title": "Titre",
                                                              "more": "0"})
        print(f"GET /embed (more=0)              {cost * 1e6:7.0f} µs/request  ratio to bare "
              f"{base / cost:.2f}")


if __name__ == "__main__":
    main()
