"""Shared fixtures: a real redis-server started for the test session on a private unix socket
(never a running one, never port 6379), and the ``app``, ``client``, ``runner`` and ``redis``
fixtures built on it. Every test starts from an empty database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from support import flush_recorder

from share_service import create_app
from share_service.storage import client as storage_client
from share_service.storage import embedded

# Property tests (hypothesis): the suite's profile is deterministic (derandomized: the same
# examples on every run and in CI) and moderate; `--hypothesis-profile long` (or
# HYPOTHESIS_PROFILE=long) explores far more, randomly, keeping failures in .hypothesis/.
# The apps and Redis of the function-scoped fixtures are shared by a test's examples on purpose
# (each example checks its own answer and its own Redis writes).
_QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
          HealthCheck.filter_too_much]
settings.register_profile("suite", max_examples=150, derandomize=True, database=None,
                          deadline=None, suppress_health_check=_QUIET, print_blob=True)
settings.register_profile("long", max_examples=3000, derandomize=False, deadline=None,
                          suppress_health_check=_QUIET, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

# Test settings: the default site owns the article hosts the tests use.
TEST_HOSTS = ["localhost", "127.0.0.1", "www.lequotidien.example", "lequotidien.example"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = embedded.EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistent=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server):
    return redis_server.url


@pytest.fixture
def make_app(redis_url, tmp_path):
    """Build an app with extra overrides: ``make_app({"COUNTING_DEDUPE_WINDOW_SECONDS": 5})``."""
    apps = []

    def factory(overrides: dict | None = None):
        base = {
            "TESTING": True,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "ALLOWED_HOSTS": TEST_HOSTS,
            "COUNTING_FLUSH_INTERVAL_MS": 50,
            "SESSION_COOKIE_SECURE": False,
            "CATALOGUE_FETCH_ALLOW_PRIVATE": False,
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
    client = storage_client.from_url(redis_url)
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


# --- live server and real headless Chromium (browser tests) ---------------------------------------
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


class LiveServer:
    """The app served by werkzeug in a thread on an OS-chosen port of 127.0.0.1."""

    def __init__(self, app):
        import threading

        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app):
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _playwright():
    if not Path(CHROMIUM).exists():
        message = (
            f"browser tests need Debian's chromium at {CHROMIUM} "
            "(apt-get install chromium, or set CHROMIUM_PATH)"
        )
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must run them", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
    )
    yield browser
    browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page; clipboard permissions granted for 127.0.0.1."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1100, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.page_errors = errors
    yield pg
    context.close()


@pytest.fixture
def artifacts_dir():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTIFACTS)


@pytest.fixture
def flush(app):
    """``flush()`` writes the app's buffered events now (``flush(other_app)`` another app's);
    returns how many were counted."""
    return lambda target=None: flush_recorder(target or app)
