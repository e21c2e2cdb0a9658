"""What the in-process benchmarks share (bench/links.py, bench/widget.py): the app under test
with no Redis (these paths never touch it), a bare Flask endpoint as the baseline, and a timer."""

from __future__ import annotations

import time

from flask import Flask

from share_service import create_app


def app_without_redis(tmp: str):
    """The real app; REDIS_URL points at a dead socket, so any Redis use would show."""
    return create_app({
        "REDIS_URL": f"unix://{tmp}/none.sock", "SECRET_KEY": "bench", "INSTANCE_PATH": tmp,
        "ALLOWED_HOSTS": ["www.lequotidien.example"],
    })


def per_request(client, path, n, status=200, **kwargs) -> float:
    """Seconds per GET of ``path`` over ``n`` requests, after one warm-up request."""
    client.get(path, **kwargs)  # warm caches
    start = time.perf_counter()
    for _ in range(n):
        response = client.get(path, **kwargs)
    assert response.status_code == status, response.status_code
    return (time.perf_counter() - start) / n


def bare_baseline(n: int) -> float:
    """Seconds per request of a bare Flask endpoint, measured now (the same run's baseline)."""
    bare = Flask("bare")
    bare.get("/bare")(lambda: "ok")
    return per_request(bare.test_client(), "/bare", n)
