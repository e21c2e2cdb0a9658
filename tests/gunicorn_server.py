"""The service as it is deployed, for the tests that need real worker processes: gunicorn with
gunicorn.conf.py (its hooks: spool on worker exit, replay on worker start, metrics summed over
the workers), on a free port of 127.0.0.1, in front of a Redis the test chose."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from support import BROWSER_UA

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
HOSTS = "localhost,127.0.0.1,www.lequotidien.example,lequotidien.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``with Gunicorn(instance, redis_url) as server:`` — started and answering inside the
    block, stopped gracefully (SIGTERM: workers flush or spool) at its end; ``server.log`` then
    holds its output. X-Forwarded-For is trusted (one proxy), so ``get(..., ip=)`` picks the
    reader's address."""

    def __init__(self, instance: Path, redis_url: str, workers: int = 2, **settings: str):
        self.instance, self.redis_url, self.workers = Path(instance), redis_url, workers
        self.settings = settings
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = ""

    def __enter__(self) -> Gunicorn:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SHARE_SERVICE_") and k not in (
                   "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "RATELIMIT_ENABLED")}
        env.update({
            "BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(self.workers),
            "REDIS_URL": self.redis_url, "SECRET_KEY": "test-secret",
            "SHARE_SERVICE_INSTANCE_PATH": str(self.instance),
            "SHARE_SERVICE_ALLOWED_HOSTS": HOSTS, "SHARE_SERVICE_TRUSTED_PROXIES": "1",
            "SHARE_SERVICE_COUNTING_FLUSH_INTERVAL_MS": "50",
            "SHARE_SERVICE_REDIS_BREAKER_SECONDS": "0.2",
            "PYTHONPATH": str(ROOT),
        })
        env.update({f"SHARE_SERVICE_{k}": v for k, v in self.settings.items()})
        self.process = subprocess.Popen(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,),
                                        daemon=True)
        self._reader.start()
        # every worker booted: daily salts fetched, recorder started (gunicorn.conf.py)
        self.wait_until(lambda: len(self.ready_workers()) >= self.workers, timeout=60)
        self.wait_until(lambda: self.get("/healthz")[0] == 200, timeout=30)
        return self

    def _read(self, stream) -> None:
        for raw in stream:
            self._lines.append(raw.decode(errors="replace"))

    def ready_workers(self) -> set[int]:
        return {int(m.group(1)) for line in list(self._lines)
                if (m := re.search(r"worker (\d+) ready", line))}

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> str:
        proc, self.process = self.process, None
        if proc is None:
            return self.log
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self._reader.join(10)
        self.log = "".join(self._lines)
        assert proc.returncode == 0, self.log
        return self.log

    def request(self, method: str, path: str, body: bytes | None = None, ip: str | None = None,
                headers: dict | None = None) -> tuple[int, bytes, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            sent = {"User-Agent": BROWSER_UA, **(headers or {})}
            if ip:
                sent["X-Forwarded-For"] = ip
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            return response.status, response.read(), dict(response.getheaders())
        finally:
            conn.close()

    def get(self, path: str, ip: str | None = None, headers: dict | None = None):
        """(status, body) of a GET; (0, b"") when nothing answers."""
        try:
            status, body, _ = self.request("GET", path, ip=ip, headers=headers)
        except OSError:
            return 0, b""
        return status, body

    def wait_until(self, predicate, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError("gunicorn exited: " + "".join(self._lines))
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.05)
