"""The whole reader-facing surface while Redis is frozen (SIGSTOP: connections accepted, never
answered): pages, links, QR codes, /embed and the widget answer; redirects and events at once;
API reads answer the one 503 with Retry-After, quickly (the breaker), never a 500."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from support import BROWSER_UA

A1 = "https://www.lequotidien.example/politique/2026/11/26/reformes"
Q = quote(A1, safe="")

WORKING = [
    ("GET", f"/s/facebook?url={Q}", 302),
    ("POST", "/api/v1/events", 204),
    ("GET", f"/api/v1/share?url={Q}", 200),
    ("GET", f"/api/v1/share?url={Q}&format=html", 200),
    ("GET", f"/qr?url={Q}&format=svg", 200),
    ("GET", f"/qr?url={Q}&format=png", 200),
    ("GET", f"/embed?url={Q}", 200),
    ("GET", "/widget.js", 200),
    ("GET", "/widget.css", 200),
    ("GET", "/demo", 200),
    ("GET", "/api/v1/openapi.json", 200),
    ("GET", "/healthz", 200),
]
UNAVAILABLE = [
    f"/api/v1/counts?url={Q}",
    "/readyz",
]


@pytest.fixture
def frozen(make_app, own_redis):
    # a long pause: on a loaded machine this walk takes longer than the default 1 s, and the
    # breaker would rightly try Redis again once per pause
    app = make_app({"REDIS_URL": own_redis.url, "REDIS_BREAKER_SECONDS": 30.0})
    client = app.test_client()
    assert client.get(f"/api/v1/counts?url={Q}").status_code == 200  # connected, warm
    for method, path, _status in WORKING:  # built once per process (widget files are zopfli'd)
        call(client, method, path)
    own_redis.freeze()
    yield app, client
    own_redis.thaw()


def call(client, method: str, path: str):
    headers = {"User-Agent": BROWSER_UA}
    if method == "POST":
        return client.post(path, data=f'{{"type": "copy", "url": "{A1}"}}',
                           headers={**headers, "Content-Type": "text/plain"})
    return client.get(path, headers=headers)


def test_reader_surface_answers_while_redis_is_frozen(frozen):
    _app, client = frozen
    slow = []
    for method, path, status in WORKING:
        started = time.monotonic()
        response = call(client, method, path)
        elapsed = time.monotonic() - started
        assert response.status_code == status, (path, response.status_code)
        if elapsed > 0.5:
            slow.append((path, round(elapsed, 2)))
    # The first page that asks the store (the « Plus de contenu » block of the share HTML or
    # /embed, the demo seeding its sample catalogue) may pay one socket timeout (0.5 s); the
    # breaker then answers at once: no other request waits for Redis.
    store_pages = {f"/api/v1/share?url={Q}&format=html", f"/embed?url={Q}", "/demo"}
    assert len(slow) <= 1, slow
    assert all(path in store_pages and seconds < 1.0 for path, seconds in slow), slow


def test_api_reads_answer_503_quickly_while_redis_is_frozen(frozen):
    _app, client = frozen
    timings = []
    for _ in range(3):
        for path in UNAVAILABLE:
            started = time.monotonic()
            response = client.get(path)
            timings.append(time.monotonic() - started)
            assert response.status_code == 503, path
            assert response.get_json()["error"]["code"] == "unavailable"
            assert int(response.headers["Retry-After"]) >= 1
    assert max(timings) < 1.5
    # one socket timeout opens the breaker; the counts calls after it do not wait
    assert sorted(timings)[len(timings) // 2] < 0.6
