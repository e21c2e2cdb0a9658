"""What several test modules share (plain values and functions; fixtures live in conftest.py)."""

from __future__ import annotations

import time

# The article page the widget and « Plus de contenu » tests share (an allowed host of the tests).
CANONICAL = "https://www.lequotidien.example/2026/11/26/la-brenne-a-l-air-libre.html"

# A reader's browser. The service does not count bots, and headless Chromium announces itself as
# HeadlessChrome (on the crawler lists): browser tests and traffic helpers present this agent.
BROWSER_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")


def flush_recorder(app) -> int:
    """Write the app's buffered events now (the write-behind flush, synchronous); returns how
    many were counted. Tests use the ``flush`` fixture; helpers given an app call this."""
    return app.extensions["recorder"].flush()


class PageServer:
    """A publisher's pages on their own origin (another port of 127.0.0.1, also reachable as
    http://localhost:<port>): ``add(path, html)``; stop() when done."""

    def __init__(self):
        import threading

        from werkzeug.serving import make_server
        from werkzeug.wrappers import Request, Response

        self.pages: dict[str, str] = {}

        @Request.application
        def wsgi(request):
            return Response(self.pages.get(request.path, "not found"), mimetype="text/html",
                            status=200 if request.path in self.pages else 404)

        self.server = make_server("127.0.0.1", 0, wsgi, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, html: str) -> None:
        self.pages[path] = html

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


def seed_catalogue(service, redis, n=5, image=None):
    """Put CANONICAL and ``n`` (at most 5) related articles in the default site's catalogue.
    ``service``: a live server (``.app``, ``.url``) or an app; each related article has an
    image of 640x360, ``image`` (required with an app) or the live server's own
    /static/demo-lead.svg (which a strict-CSP page allowing only the service may load)."""
    from share_service.catalogue import store
    from share_service.catalogue.records import normalize

    app = getattr(service, "app", service)
    image = image or f"{service.url}/static/demo-lead.svg"
    site = app.config["SITES"]["default"]
    now = int(time.time())
    raw = [{"url": CANONICAL, "title": "La Brenne à l'air libre", "section": "Environnement",
            "tags": ["rivière", "ville"], "published": now - 3600}]
    titles = [("Crues : le nouveau plan de prévention de la Loire", "Environnement"),
              ("Des saules sur les berges pour rafraîchir la ville", "Sciences"),
              ("Le festival du conte s'installe au bord de l'eau", "Culture"),
              ("Canoë : une section pour les 8-12 ans sur la rivière", "Sport"),
              ("Une navette gratuite entre le parking relais et la gare", "Transports")]
    for i, (title, section) in enumerate(titles[:n]):
        raw.append({
            "url": f"https://www.lequotidien.example/2026/11/2{i}/article-{i}.html",
            "title": title, "section": section,
            "image": image,
            "image_width": 640, "image_height": 360,
            "description": "La rivière revient en ville.", "tags": ["rivière", "ville"],
            "published": now - 86400 * (i + 1),
        })
    store.save_articles(redis, site.id, [normalize(r, site, "push") for r in raw])


def all_keys(redis, pattern: str = "*") -> list[str]:
    """Every key matching ``pattern``, on one Redis or on every master of a cluster (KEYS and
    DBSIZE ask one node of a cluster only)."""
    return list(redis.scan_iter(match=pattern, count=1000))


def key_count(redis) -> int:
    """The number of keys in the store (one Redis, or all masters of a cluster)."""
    return len(all_keys(redis))


def command_calls(redis) -> dict[str, int]:
    """Calls per command since the last ``reset_command_stats`` (summed over a cluster's
    masters): {"evalsha": 2, "set": 6, ...}."""
    from share_service.storage import client as storage_client

    if storage_client.is_cluster(redis):
        from redis.cluster import RedisCluster

        per_node = redis.info("commandstats", target_nodes=RedisCluster.PRIMARIES).values()
    else:
        per_node = [redis.info("commandstats")]
    calls: dict[str, int] = {}
    for info in per_node:
        for name, value in info.items():
            calls[name.removeprefix("cmdstat_")] = calls.get(name.removeprefix("cmdstat_"), 0) \
                + value["calls"]
    return calls


def reset_command_stats(redis) -> None:
    from share_service.storage import client as storage_client

    if storage_client.is_cluster(redis):
        from redis.cluster import RedisCluster

        redis.config_resetstat(target_nodes=RedisCluster.PRIMARIES)
    else:
        redis.config_resetstat()


def add_shares(redis, site: str, day: str, shares: dict[str, float]) -> None:
    """Score articles (id -> shares) in the site's top set of ``day``, each in its shard (as
    the counting script does), without counting anything else."""
    from share_service.storage import keyspace

    for aid, n in shares.items():
        redis.zadd(keyspace.top_day(site, keyspace.shard_of(aid), day), {aid: n})
