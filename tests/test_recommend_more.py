"""recommend.more: the « Plus de contenu » items of server-rendered pages, against real Redis
(and against a Redis that is not there)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from support import CANONICAL, seed_catalogue

from share_service.recommend import Recommender
from share_service.recommend.more import DEFAULT_IMAGE_SIZE, image_origin, more_content
from share_service.storage import client as storage_client

CDN = "https://cdn.lequotidien.example/images/riviere.jpg"


@pytest.mark.parametrize(("url", "origin"), [
    (CDN, "https://cdn.lequotidien.example"),
    ("http://127.0.0.1:5000/static/a.svg", "http://127.0.0.1:5000"),
    ("https://CDN.Example.fr:8443/a.jpg?x=1", "https://cdn.example.fr:8443"),
    ("https://[2001:db8::1]/a.jpg", "https://[2001:db8::1]"),
    ("https://user:pw@cdn.example.fr/a.jpg", "https://cdn.example.fr"),
    ("data:image/png;base64,AAAA", None),
    ("javascript:alert(1)", None),
    ("https://cdn.example.fr;script-src:1/a.jpg", None),  # would break out of the CSP header
    ("https://cdn.example.fr:99999/a.jpg", None),
    ("", None),
    (None, None),
])
def test_image_origin_is_a_csp_source_or_nothing(url, origin):
    assert image_origin(url) == origin


def test_items_are_the_recommendations_shaped_for_html(app, redis):
    seed_catalogue(app, redis, n=5, image=CDN)
    site = app.config["SITES"]["default"]
    items = more_content(Recommender(app.config), redis, site, CANONICAL, 3)
    assert len(items) == 3
    for item in items:
        parts = urlsplit(item["url"])
        assert parse_qs(parts.query)["utm_source"] == ["more_content"]
        assert parts.netloc == "www.lequotidien.example" and not item["url"].startswith(CANONICAL)
        assert item["title"] and item["section"]
        assert (item["image"], item["image_origin"]) == (CDN, "https://cdn.lequotidien.example")
        assert (item["width"], item["height"]) == (640, 360)
    assert len({i["url"] for i in items}) == 3


def test_an_image_without_a_size_gets_the_widgets_default_box(app, redis):
    from share_service.catalogue import store
    from share_service.catalogue.records import normalize

    site = app.config["SITES"]["default"]
    raw = [{"url": CANONICAL, "title": "La Brenne à l'air libre"},
           {"url": "https://www.lequotidien.example/b", "title": "Les berges", "image": CDN},
           {"url": "https://www.lequotidien.example/c", "title": "Sans image"}]
    store.save_articles(redis, site.id, [normalize(r, site, "push") for r in raw])
    items = {i["title"]: i for i in more_content(Recommender(app.config), redis, site,
                                                  CANONICAL, 4)}
    assert set(items) == {"Les berges", "Sans image"}
    assert (items["Les berges"]["width"], items["Les berges"]["height"]) == DEFAULT_IMAGE_SIZE
    assert items["Sans image"]["image"] is None


def test_none_asked_or_an_empty_catalogue_gives_no_items(app, redis):
    site = app.config["SITES"]["default"]
    recommender = Recommender(app.config)
    assert more_content(recommender, redis, site, CANONICAL, 4) == []
    seed_catalogue(app, redis, image=CDN)
    assert more_content(recommender, redis, site, CANONICAL, 0) == []


def test_redis_unavailable_gives_none_never_an_exception(app, tmp_path, caplog):
    down = storage_client.from_url(f"unix://{tmp_path}/no-redis.sock", 0.2, 0.2)
    site = app.config["SITES"]["default"]
    with caplog.at_level("WARNING", logger="share_service.recommend"):
        assert more_content(Recommender(app.config), down, site, CANONICAL, 4) is None
    assert "store unavailable" in caplog.text


@pytest.fixture
def frozen_redis():
    """A server that accepts connections and never answers (a frozen or overloaded Redis)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_a_frozen_store_costs_one_timeout_then_pages_skip_the_block(app, frozen_redis,
                                                                     monkeypatch):
    import time

    from share_service.recommend import more

    frozen = storage_client.from_url(frozen_redis, socket_timeout=0.3, connect_timeout=0.3)
    site = app.config["SITES"]["default"]
    recommender = Recommender(app.config)
    monkeypatch.setattr(more, "PAUSE_SECONDS", 1.0)

    def timed():
        start = time.perf_counter()
        result = more_content(recommender, frozen, site, CANONICAL, 4)
        return result, time.perf_counter() - start

    assert timed()[0] is None
    result, took = timed()  # within the pause: not asked again
    assert result is None and took < 0.05
    time.sleep(1.0)
    result, took = timed()  # the pause is over: asked (and timed out) again
    assert result is None and took >= 0.25
    # another recommender (another app) is not paused by this one's failures
    assert more._paused.get(Recommender(app.config)) is None
