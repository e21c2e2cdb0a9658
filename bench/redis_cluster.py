"""A throw-away local Redis Cluster (3 masters, no replicas, no persistence) for the benchmarks
that compare a cluster against one Redis (bench/hotpath.py --ratelimit-storage cluster).

Formation without redis-cli: start the servers, CLUSTER ADDSLOTS a third of the slots on each,
a distinct SET-CONFIG-EPOCH, MEET every pair, wait for ``cluster_state:ok`` everywhere (a master
waits 2 s before it says ok: about 2.1 s in all). Private ports of 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis

from share_service.storage.embedded import redis_server_binary

SLOTS = 16384


def _free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + 10000 < 65536:
            with socket.socket() as bus:
                try:
                    bus.bind(("127.0.0.1", port + 10000))  # the cluster bus port
                except OSError:
                    continue
            return port


class LocalCluster:
    def __init__(self, directory: Path, masters: int = 3):
        self.directory = Path(directory)
        self.ports = [_free_port() for _ in range(masters)]
        self.processes: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        """The cluster as the ``limits`` library spells it."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def start(self, timeout: float = 20.0) -> LocalCluster:
        for i, port in enumerate(self.ports):
            folder = self.directory / f"node{i}"
            folder.mkdir(parents=True, exist_ok=True)
            self.processes.append(subprocess.Popen(
                [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
                 "--cluster-enabled", "yes", "--cluster-config-file", str(folder / "nodes.conf"),
                 "--cluster-node-timeout", "2000", "--dir", str(folder), "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--logfile", str(folder / "log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        nodes = [redis.Redis(port=p, socket_timeout=2) for p in self.ports]
        deadline = time.monotonic() + timeout
        for node in nodes:
            while True:
                try:
                    node.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        share = SLOTS // len(nodes)
        for i, node in enumerate(nodes):
            low, high = i * share, SLOTS if i == len(nodes) - 1 else (i + 1) * share
            for start in range(low, high, 2000):
                node.execute_command("CLUSTER", "ADDSLOTS", *range(start, min(start + 2000, high)))
            node.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        for node in nodes:
            for port in self.ports:
                node.execute_command("CLUSTER", "MEET", "127.0.0.1", port)
        while not all("cluster_state:ok" in n.execute_command("CLUSTER", "INFO").decode()
                      for n in nodes):
            if time.monotonic() > deadline:
                raise RuntimeError("the local cluster did not form")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        for proc in self.processes:
            proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.processes = []
