"""Shared fixtures: a real redis-server started for the test session on a private unix socket
(never a running one, never port 6379), and the ``app``, ``client``, ``runner`` and ``redis``
fixtures built on it. Every test starts from an empty database."""

from __future__ import annotations

import os

import pytest

from share_service import create_app, db

# Test settings: the default site owns the article hosts the tests use.
TEST_HOSTS = ["localhost", "127.0.0.1", "www.lequotidien.example", "lequotidien.example"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = db.EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistent=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server):
    return redis_server.url


@pytest.fixture
def make_app(redis_url, tmp_path):
    """Build an app with extra overrides: ``make_app({"DEDUPE_WINDOW_SECONDS": 5})``."""
    apps = []

    def factory(overrides: dict | None = None):
        base = {
            "TESTING": True,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "ALLOWED_HOSTS": TEST_HOSTS,
            "FLUSH_INTERVAL_MS": 50,
            "SESSION_COOKIE_SECURE": False,
            "FETCH_ALLOW_PRIVATE": False,
        }
        base.update(overrides or {})
        app = create_app(base)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        recorder = app.extensions.get("recorder")
        if recorder is not None:
            recorder.close()


@pytest.fixture
def redis(redis_url):
    client = db.client_from_url(redis_url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def app(make_app, redis):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def pytest_report_header(config):
    return f"CI={os.environ.get('CI', '')}"
