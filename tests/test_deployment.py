"""Deployment files: the Dockerfile, docker-compose.yml (one Redis) and docker-compose.cluster.yml
(a three-master Redis Cluster). No Docker engine runs here, so:

* both compose files are validated by Debian's ``docker-compose config -q`` (skipped, saying so,
  when docker-compose is missing outside CI; CI must run it: .ci/run installs it);
* what they say is checked against what the service really does: the web command is the
  Dockerfile's (gunicorn with gunicorn.conf.py), health checks probe real routes (the check's own
  command is run against a live server), every environment variable is an option of
  config/defaults.toml or a name the loader or gunicorn.conf.py reads, Redis is durable, every
  long-running service restarts, web waits for its store;
* the image's layout is rebuilt from the Dockerfile (its COPY, ENV, USER, CMD and HEALTHCHECK)
  in a temporary directory and served from there by gunicorn as an unprivileged user, the tree
  owned by root and only instance/ writable, as in the image;
* the cluster file's nodes and its one-shot cluster-init script are run for real on local
  redis-servers: the script forms the cluster, and a second run leaves it as it is.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from share_service import config
from share_service.storage import embedded

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILES = ["docker-compose.yml", "docker-compose.cluster.yml"]
GUNICORN_CMD = ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
# Development-only paths that must never be part of the image.
DEV_PATHS = ("tests", "bench", "docs", "scripts", ".ci", ".git", ".venv", "instance",
             "test-artifacts", ".hypothesis")
# Names other branches teach the loader; the check of their use waits for them.
AWAITED = {"REDIS_CLUSTER_NODES": "the Redis Cluster support (branch `cluster`)"}


# --- reading the files ------------------------------------------------------------------------
def compose(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    out, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        op, _, rest = (current + line).partition(" ")
        out.append((op.upper(), rest.strip()))
        current = ""
    return out


def instruction(name: str) -> list[str]:
    return [rest for op, rest in dockerfile() if op == name]


def dockerfile_env() -> dict[str, str]:
    env = {}
    for rest in instruction("ENV"):
        for word in shlex.split(rest):
            key, _, value = word.partition("=")
            env[key] = value
    return env


def dockerfile_healthcheck() -> list[str]:
    (rest,) = instruction("HEALTHCHECK")
    return json.loads(rest.split(" CMD ", 1)[1])


def dockerfile_cmd() -> list[str]:
    (rest,) = instruction("CMD")
    return json.loads(rest)


def unset_interpolation(value: str) -> str:
    """A value as compose reads it when the variables it names are unset: ``${X:-default}`` is
    the default, ``${X}`` empty."""
    return re.sub(r"\$\{[A-Z_]+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)


def documented_names(name: str) -> set[str]:
    """Variables a compose file shows in comments (``# SHARE_SERVICE_X: ...``): advice that
    must be true as well."""
    text = (ROOT / name).read_text(encoding="utf-8")
    return set(re.findall(r"^\s*#\s*([A-Z][A-Z0-9_]+):", text, re.M))


def gunicorn_names() -> set[str]:
    return set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', (ROOT / "gunicorn.conf.py").read_text()))


def known_names() -> set[str]:
    defaults = config._read_toml(config.DEFAULTS_FILE)
    options = {config.ENV_PREFIX + k for k, v in defaults.items() if not isinstance(v, dict)}
    return options | set(config.BARE_ENV) | set(config.ENV_ONLY) | gunicorn_names()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    for _ in range(100):
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


# --- docker-compose config -q ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def docker_compose():
    found = shutil.which("docker-compose")
    if not found:
        message = "the compose files are validated by Debian's docker-compose (apt-get install docker-compose)"
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must run it", pytrace=False)
        pytest.skip(message)
    return found


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_is_valid(docker_compose, name):
    done = subprocess.run([docker_compose, "-f", name, "config", "-q"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SECRET_KEY": "", "SHARE_SERVICE_ALLOWED_HOSTS": ""})
    assert done.returncode == 0, done.stderr


# --- what the compose files say ----------------------------------------------------------------------
@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_web_is_the_image_running_gunicorn_with_its_config(name):
    web = compose(name)["services"]["web"]
    assert web["build"] == "."
    assert web["command"] == GUNICORN_CMD == dockerfile_cmd()
    assert (ROOT / "gunicorn.conf.py").is_file() and (ROOT / "wsgi.py").is_file()
    port = web["environment"]["BIND"].rsplit(":", 1)[1]
    assert web["ports"] == [f"{port}:{port}"]
    assert "instance:/app/instance" in web["volumes"]


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_health_checks_probe_real_routes(app, name):
    services = compose(name)["services"]
    test = services["web"]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1:] == dockerfile_healthcheck()
    paths = re.findall(r"http://127\.0\.0\.1:\{port\}(/[a-z/]+)", test[-1])
    assert paths == ["/healthz"]
    rules = {r.rule for r in app.url_map.iter_rules() if "GET" in r.methods}
    assert set(paths) <= rules
    for service_name, service in services.items():
        if service_name.startswith("redis"):
            assert service["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def run_healthcheck(port: int) -> int:
    env = {"PATH": os.environ["PATH"], **dockerfile_env(), "BIND": f"0.0.0.0:{port}"}
    command = dockerfile_healthcheck()
    command[0] = sys.executable if command[0] == "python" else command[0]
    return subprocess.run(command, env=env, capture_output=True, timeout=30).returncode


def test_the_health_check_command_tells_up_from_down(live_server):
    assert run_healthcheck(live_server.port) == 0
    port = live_server.port
    live_server.stop()
    assert run_healthcheck(port) != 0


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_environment_names_are_real_options(name, caplog):
    known = known_names()
    env = compose(name)["services"]["web"]["environment"]
    used = set(env) | documented_names(name)
    unknown = sorted(n for n in used if n not in known and n not in AWAITED)
    assert unknown == [], f"{name}: not options of config/defaults.toml nor read by the loader " \
                          f"or gunicorn.conf.py: {unknown}"
    settings_env = {k: unset_interpolation(v) for k, v in env.items()
                    if k not in gunicorn_names() - set(config.BARE_ENV)}
    with caplog.at_level("WARNING", logger="share_service.config"):
        settings = config.load_settings(environ=settings_env)
    assert not [r for r in caplog.records if "not an option" in r.getMessage()]
    assert settings["SITES"]["default"].allowed_hosts == ("localhost", "127.0.0.1")
    pending = sorted(n for n in used if n in AWAITED and n not in known)
    if pending:
        pytest.skip(", ".join(f"{n} awaits {AWAITED[n]}" for n in pending))


def test_cluster_file_gives_the_loader_the_three_nodes():
    env = compose("docker-compose.cluster.yml")["services"]["web"]["environment"]
    if "REDIS_CLUSTER_NODES" not in known_names():
        pytest.skip("REDIS_CLUSTER_NODES awaits " + AWAITED["REDIS_CLUSTER_NODES"])
    settings = config.load_settings(environ={k: unset_interpolation(v) for k, v in env.items()})
    nodes = settings["REDIS_CLUSTER_NODES"]
    assert [str(n) if isinstance(n, str) else f"{n[0]}:{n[1]}" for n in nodes] == \
        ["redis-1:6379", "redis-2:6379", "redis-3:6379"]


def redis_args(command: list[str]) -> dict[str, str]:
    return {command[i][2:]: command[i + 1] for i in range(1, len(command) - 1)
            if command[i].startswith("--")}


def test_redis_is_durable():
    services = compose("docker-compose.yml")["services"]
    cluster = compose("docker-compose.cluster.yml")["services"]
    nodes = [services["redis"]] + [cluster[f"redis-{i}"] for i in (1, 2, 3)]
    for node in nodes:
        args = redis_args(node["command"])
        assert args["appendonly"] == "yes" and args["appendfsync"] == "everysec"
        assert any(volume.endswith(":/data") for volume in node["volumes"])
    for i in (1, 2, 3):
        assert redis_args(cluster[f"redis-{i}"]["command"])["cluster-enabled"] == "yes"
    volumes = [cluster[f"redis-{i}"]["volumes"][0] for i in (1, 2, 3)]
    assert len(set(volumes)) == 3, "each node keeps its own data and nodes.conf"


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_long_running_services_restart_and_web_waits_for_its_store(name):
    services = compose(name)["services"]
    for service_name, service in services.items():
        if service_name == "cluster-init":
            assert service["restart"] == "no"
        else:
            assert service["restart"] in ("unless-stopped", "always"), service_name
    waits = services["web"]["depends_on"]
    if name == "docker-compose.yml":
        assert waits == {"redis": {"condition": "service_healthy"}}
        assert services["web"]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    else:
        assert waits == {"cluster-init": {"condition": "service_completed_successfully"}}
        assert services["cluster-init"]["depends_on"] == {
            f"redis-{i}": {"condition": "service_healthy"} for i in (1, 2, 3)}
        assert "REDIS_URL" not in services["web"]["environment"]


def test_cluster_file_names_the_same_three_masters_everywhere():
    doc = compose("docker-compose.cluster.yml")
    services = doc["services"]
    nodes = sorted(n for n in services if n.startswith("redis-"))
    assert nodes == ["redis-1", "redis-2", "redis-3"]
    listed = services["web"]["environment"]["REDIS_CLUSTER_NODES"].split(",")
    assert listed == [f"{n}:{redis_args(services[n]['command'])['port']}" for n in nodes]
    script = services["cluster-init"]["command"][-1]
    create = re.search(r"redis-cli --cluster create (.*)", script).group(1).split()
    assert create[:3] == listed and "--cluster-yes" in create
    assert create[create.index("--cluster-replicas") + 1] == "0"
    subnet = doc["networks"]["cluster"]["ipam"]["config"][0]["subnet"]
    addresses = [services[n]["networks"]["cluster"]["ipv4_address"] for n in nodes]
    assert len(set(addresses)) == 3
    assert all(a.rsplit(".", 1)[0] == subnet.rsplit(".", 1)[0] for a in addresses)


# --- the cluster, for real -----------------------------------------------------------------------------
def redis_binaries() -> tuple[str, str]:
    server = embedded.redis_server_binary()
    cli = Path(server).with_name("redis-cli")
    return server, str(cli if cli.exists() else shutil.which("redis-cli"))


@pytest.fixture
def cluster_nodes(tmp_path):
    """The three nodes of docker-compose.cluster.yml, each started with its own command from
    the file, on a local port instead of 6379 and a temporary directory instead of /data."""
    services = compose("docker-compose.cluster.yml")["services"]
    server, _cli = redis_binaries()
    started, ports = [], {}
    try:
        for name in ("redis-1", "redis-2", "redis-3"):
            port = free_cluster_port()
            workdir = tmp_path / name
            workdir.mkdir()
            command = [server, *services[name]["command"][1:], "--port", str(port),
                       "--bind", "127.0.0.1", "--dir", str(workdir), "--save", ""]
            started.append(subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
            ports[name] = port
        yield ports
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(10)


def cluster_info(port: int) -> dict[str, str]:
    _server, cli = redis_binaries()
    out = subprocess.run([cli, "-p", str(port), "cluster", "info"], capture_output=True,
                         text=True, timeout=10).stdout
    return dict(line.strip().split(":", 1) for line in out.splitlines() if ":" in line)


def run_cluster_init(ports: dict[str, int]) -> subprocess.CompletedProcess:
    script = compose("docker-compose.cluster.yml")["services"]["cluster-init"]["command"]
    assert script[:2] == ["sh", "-ec"]
    text = script[2]
    for name, port in ports.items():
        text = text.replace(f"{name}:6379", f"127.0.0.1:{port}")
    assert "redis-" not in text.replace("redis-cli", "")
    _server, cli = redis_binaries()
    env = {**os.environ, "PATH": f"{Path(cli).parent}:{os.environ['PATH']}"}
    return subprocess.run(["sh", "-ec", text], env=env, capture_output=True, text=True,
                          timeout=120)


def test_cluster_init_forms_the_cluster_once(cluster_nodes):
    deadline = time.monotonic() + 20
    while not all(cluster_info(p) for p in cluster_nodes.values()):
        assert time.monotonic() < deadline, "the nodes did not start"
        time.sleep(0.2)
    first = run_cluster_init(cluster_nodes)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "cluster ready" in first.stdout
    for port in cluster_nodes.values():
        info = cluster_info(port)
        assert info["cluster_state"] == "ok" and info["cluster_known_nodes"] == "3"
        assert info["cluster_slots_assigned"] == "16384" and info["cluster_size"] == "3"
    epoch = cluster_info(cluster_nodes["redis-1"])["cluster_current_epoch"]
    again = run_cluster_init(cluster_nodes)  # a restart of the whole file runs it again
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already form a cluster" in again.stdout
    assert cluster_info(cluster_nodes["redis-1"])["cluster_current_epoch"] == epoch


# --- the Dockerfile ---------------------------------------------------------------------------------
def test_image_runs_as_an_unprivileged_user():
    users = instruction("USER")
    assert users, "no USER: the service would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and user.isdigit(), "a numeric, non-root user"
    (run,) = instruction("RUN")
    assert f"--uid {user}" in run and "chown share:share /app/instance" in run


def test_image_holds_only_what_runs_and_pip_keeps_no_cache():
    sources = []
    for rest in instruction("COPY"):
        words = [w for w in shlex.split(rest) if not w.startswith("--")]
        sources += words[:-1]
    assert sources, "nothing copied"
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source.strip("./").split("/")[0] not in DEV_PATHS, source
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", "tests", "instance", "**/__pycache__", "bench"):
        assert path in ignored, path
    assert dockerfile_env().get("PIP_NO_CACHE_DIR") == "1"
    for run in instruction("RUN"):
        for pip in re.findall(r"pip install[^&]*", run):
            assert "--no-cache-dir" in pip, pip


def copy_image_tree(target: Path) -> None:
    """Lay out /app as the Dockerfile's COPY instructions do."""
    skip = shutil.ignore_patterns("__pycache__", "*.py[cod]")
    for rest in instruction("COPY"):
        words = [w for w in shlex.split(rest) if not w.startswith("--")]
        *sources, dest = words
        for source in sources:
            src = ROOT / source
            out = target / dest if not dest.endswith("/") else target / dest / src.name
            if len(sources) > 1 or dest.endswith("/"):
                out = target / dest / src.name
            if src.is_dir():
                shutil.copytree(src, out, ignore=skip)
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, out)


def tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


SETPRIV = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def unprivileged_user_runs_this_python() -> bool:
    """As root with setpriv, the test runs the service as nobody (65534) — if nobody can run
    this interpreter (a virtualenv over a Python under /root cannot: then as the current user,
    and only the "writes under instance/ only" part of the test holds)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return False
    done = subprocess.run([*SETPRIV, sys.executable, "-c", "import sys; print(sys.version)"],
                          capture_output=True, text=True, timeout=30, check=False)
    return done.returncode == 0 and done.stdout.strip() == sys.version


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read()
    except OSError:
        return 0, b""


def test_the_image_layout_serves_as_an_unprivileged_user():
    """The tree the Dockerfile builds, owned by root with only instance/ writable by the
    service's user, served by the Dockerfile's CMD with its ENV, no REDIS_URL (the embedded
    Redis goes under instance/): it answers, writes only under instance/, and stops cleanly."""
    unprivileged = unprivileged_user_runs_this_python()
    base = Path(tempfile.mkdtemp(prefix="share-image-"))
    app_dir = base / "app"
    try:
        base.chmod(0o755)
        copy_image_tree(app_dir)
        instance = app_dir / "instance"
        instance.mkdir()
        if unprivileged:
            os.chown(instance, 65534, 65534)
        before = tree(app_dir)
        embedded_redis = embedded.EmbeddedRedis(embedded.embedded_dir(instance))
        port = free_port()
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(app_dir),
               "LANG": "C.UTF-8", **dockerfile_env(), "BIND": f"127.0.0.1:{port}"}
        probe = subprocess.run([sys.executable, "-c", "import share_service, wsgi; "
                                "print(share_service.__file__)"], cwd=app_dir, env=env,
                               capture_output=True, text=True, timeout=60)
        assert probe.stdout.strip() == str(app_dir / "share_service" / "__init__.py"), probe
        prefix = SETPRIV if unprivileged else []
        server = subprocess.Popen([*prefix, *dockerfile_cmd()], cwd=app_dir, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while get(port, "/healthz")[0] != 200:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "no answer on /healthz"
                time.sleep(0.3)
            assert json.loads(get(port, "/healthz")[1]) == {"status": "ok"}
            ready = json.loads(get(port, "/readyz")[1])  # its embedded Redis answers
            assert (ready["status"], ready["redis"]) == ("ready", "ok")
            for path in ("/demo", "/widget.js", "/api/v1/openapi.json",
                         "/api/v1/share?url=http%3A%2F%2Flocalhost%2Fa"):
                assert get(port, path)[0] == 200, path
            assert run_healthcheck(port) == 0
            written = tree(app_dir) - before
            assert written and all(p.startswith("instance/") for p in written), sorted(written)
            assert (instance / "secret_key").exists() and (instance / "redis").is_dir()
            if unprivileged:
                assert (instance / "secret_key").stat().st_uid == 65534
            redis_pid = int(embedded_redis.pidfile.read_text())
            os.killpg(server.pid, signal.SIGTERM)
            assert server.wait(40) == 0, server.stdout.read().decode()
            assert not alive(redis_pid), "gunicorn left its embedded redis-server running"
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)
            if embedded_redis.pidfile.exists():  # its own session: stopped by its pid
                pid = int(embedded_redis.pidfile.read_text() or 0)
                if pid and alive(pid):
                    os.kill(pid, signal.SIGKILL)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")
