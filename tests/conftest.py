"""Shared fixtures: a real redis-server started for the test session on a private unix socket
(never a running one, never port 6379), and the ``app``, ``client``, ``runner`` and ``redis``
fixtures built on it. Every test starts from an empty database.

Two stores: one Redis, and a real local Redis Cluster of three masters (tests/redis_cluster.py,
formed once per session, only when a test asks for it). A test module marked
``pytestmark = pytest.mark.both_backends`` runs each test that uses the store (through
``redis``, ``make_app`` or ``app``) twice: ``[redis]`` and ``[cluster]`` (the app then gets
REDIS_CLUSTER_NODES); the ``backend`` fixture says which.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from redis_cluster import LocalCluster, free_ports
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
BACKENDS = ("redis", "cluster")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "both_backends: run the module's store tests on one Redis and on a cluster")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
            "both_backends"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request):
    """"redis" or "cluster": the store of this test (see the module docstring)."""
    return getattr(request, "param", "redis")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = embedded.EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistent=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server):
    return redis_server.url


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """A local Redis Cluster of three masters for the session (formed in about 2 s).
    ``cluster-require-full-coverage no``: a master down stops its own slots only."""
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster"), require_full_coverage=False)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def store_overrides(backend, request, redis_url):
    """The settings that point an app at this test's store."""
    if backend == "cluster":
        return {"REDIS_URL": "", "REDIS_CLUSTER_NODES": request.getfixturevalue("redis_cluster").nodes}
    return {"REDIS_URL": redis_url, "REDIS_CLUSTER_NODES": []}


@pytest.fixture
def dead_store(backend, tmp_path):
    """Settings pointing an app at a store that does not answer (of this test's kind)."""
    if backend == "cluster":
        return {"REDIS_URL": "", "REDIS_CLUSTER_NODES": [f"127.0.0.1:{free_ports(1)[0]}"]}
    return {"REDIS_URL": f"unix://{tmp_path}/no-redis-here.sock", "REDIS_CLUSTER_NODES": []}


@pytest.fixture
def dead_client(dead_store):
    """A client (of this test's kind) of a store that does not answer."""
    if dead_store["REDIS_CLUSTER_NODES"]:
        return storage_client.cluster_client(dead_store["REDIS_CLUSTER_NODES"], 0.2, 0.2)
    return storage_client.from_url(dead_store["REDIS_URL"], 0.2, 0.2)


@pytest.fixture
def raw_redis(redis, backend, request, redis_url):
    """A client of this test's store that leaves values as bytes (decode_responses=False)."""
    if backend == "cluster":
        client = storage_client.cluster_client(request.getfixturevalue("redis_cluster").nodes,
                                                decode_responses=False)
    else:
        client = storage_client.from_url(redis_url, decode_responses=False)
    yield client
    client.close()


@pytest.fixture
def make_app(store_overrides, tmp_path):
    """Build an app with extra overrides: ``make_app({"COUNTING_DEDUPE_WINDOW_SECONDS": 5})``."""
    apps = []

    def factory(overrides: dict | None = None):
        base = {
            "TESTING": True,
            **store_overrides,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "ALLOWED_HOSTS": TEST_HOSTS,
            "COUNTING_FLUSH_INTERVAL_MS": 50,
            "SESSION_COOKIE_SECURE": False,
            "CATALOGUE_FETCH_ALLOW_PRIVATE": False,
            # tests send many requests from one address: limits are tested on their own
            # (tests/test_web_ratelimits.py turns them on)
            "RATELIMIT_ENABLED": False,
        }
        if overrides and "REDIS_URL" in overrides:  # a store of the test's own
            base["REDIS_CLUSTER_NODES"] = []
        base.update(overrides or {})
        app = create_app(base)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        recorder = app.extensions.get("recorder")
        if recorder is not None:
            recorder.close()
        app.extensions["storage"].client.close()


class OwnRedis(embedded.EmbeddedRedis):
    """A private redis-server for one test, which the test may kill, restart and freeze
    (append-only file fsynced at every write: a SIGKILL loses nothing already answered)."""

    def kill(self) -> None:
        """SIGKILL: a crash."""
        proc, self.process = self.process, None
        proc.kill()
        proc.wait(10)

    def freeze(self) -> None:
        """SIGSTOP: still accepting connections (the kernel does), never answering."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def client(self):
        return storage_client.from_url(self.url, socket_timeout=5)


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test only (see OwnRedis), on a private socket."""
    server = OwnRedis(tmp_path / "own-redis", persistent=True, fsync="always").start()
    yield server
    if server.process is not None:
        with contextlib.suppress(ProcessLookupError):
            server.thaw()
        server.stop()


@pytest.fixture
def redis(backend, request, redis_url):
    """An empty store and a client of its own: the service's client type (a redis.Redis, or
    the lazily connected cluster client)."""
    if backend == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        cluster.flushall()
        client = storage_client.cluster_client(cluster.nodes)
    else:
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
