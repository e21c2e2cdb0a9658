"""The README's run path: gunicorn with no REDIS_URL starts an embedded real Redis that persists
under the instance folder, stops with the service, and a restart at once finds its data."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(instance: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SHARE_SERVICE_REDIS_URL")}
    env.update(
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        SHARE_SERVICE_INSTANCE_PATH=str(instance),
    )
    return subprocess.Popen(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def _ready(port: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                return json.load(resp)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return out.decode(errors="replace")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_gunicorn_starts_embedded_redis_and_restarts_with_its_data(tmp_path):
    instance = tmp_path / "instance"
    port = _free_port()
    proc = _start(instance, port)
    try:
        assert _ready(port) == {"status": "ready", "redis": "ok", "pending_events": 0}
        sock = instance / "redis" / "redis.sock"
        assert sock.exists()
        redis.Redis(unix_socket_path=str(sock)).set("ss:test:persisted", "oui")
        server_pid = int((instance / "redis" / "redis.pid").read_text())
    finally:
        log = _stop(proc)
    assert proc.returncode == 0, log
    assert not _pid_alive(server_pid), "embedded redis-server outlived the service"
    assert (instance / "redis" / "appendonly.aof").exists()

    port = _free_port()
    proc = _start(instance, port)  # at once: the old server must not hold the files
    try:
        assert _ready(port)["redis"] == "ok"
        value = redis.Redis(unix_socket_path=str(sock)).get("ss:test:persisted")
        assert value == b"oui"
    finally:
        log = _stop(proc)
    assert proc.returncode == 0, log
