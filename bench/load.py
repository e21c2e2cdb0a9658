"""Load proof: N events sent concurrently to gunicorn + Redis, counted exactly once, also when Redis
is killed, frozen, or (on a three-master cluster) one master restarts in the middle of the run.

One command, everything private (its own Redis or cluster, its own gunicorn on a free loopback
port), bounded in count and time::

    .venv/bin/python bench/load.py                           # every scenario, 100,000 events each
    .venv/bin/python bench/load.py --scenario redis-kill --events 20000
    .venv/bin/python bench/load.py --scenario cluster-restart

Scenarios:
  steady           nothing happens to Redis;
  redis-kill       Redis is killed (SIGKILL) a third of the way through and restarted 3 s later
                   from its append-only file;
  redis-freeze     Redis is frozen (SIGSTOP) a third of the way through, thawed 5 s later: it
                   accepts connections but answers nothing meanwhile;
  cluster-restart  the service runs on a local three-master Redis Cluster; one master is stopped
                   a third of the way through and started again 3 s later.

Traffic: every request is ``POST /api/v1/events`` with one ``share`` event, on a new connection
from one of --clients loopback source addresses (127.0.0.0/8: many client addresses without
leaving the machine; no proxy header is trusted), each with its own browser user agent, over
--articles articles x 6 networks. A known number of events (--duplicates) repeat an earlier
(reader, article, network) exactly, inside the dedupe window: those must be deduplicated. The
events limit (RATELIMIT_EVENTS, 120 a minute per client by default) stays on: each client sends
far fewer.

Then it reads every article's counts through ``GET /api/v1/counts`` (whatever the key layout)
until they stop moving, and checks the total is exactly N minus the duplicates, article by
article. It also measures the bare endpoint (``GET /bench/bare``) with the same client and
concurrency in the same run, and prints throughput as a ratio to it, and p50 / p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from share_service.storage import embedded  # noqa: E402

HOST = "www.lequotidien.example"
NETWORKS = ["facebook", "x", "linkedin", "whatsapp", "bluesky", "email"]
SCENARIOS = ("steady", "redis-kill", "redis-freeze", "cluster-restart")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_address(i: int) -> str:
    """The i-th loopback client address: 127.1.x.y (never 127.0.0.1, the server's)."""
    return f"127.{1 + i // 65536}.{(i // 256) % 256}.{1 + i % 254}"


def user_agent(i: int) -> str:
    return (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{100 + i % 40}.0.{i % 5000}.0 Safari/537.36")


def plan_events(args, rng: random.Random) -> tuple[list[tuple[int, bytes]], Counter]:
    """[(client index, request body)] in sending order, and the expected share count per URL.
    Each unique event is (client, article, network) never repeated, except for --duplicates
    exact repeats of an earlier event (deduplicated by the service)."""
    urls = [f"https://{HOST}/{rng.choice(['politique', 'sport', 'culture'])}/article-{a}"
            for a in range(args.articles)]
    unique = args.events - args.duplicates
    seen: set[tuple[int, int, int]] = set()
    events: list[tuple[int, int, int]] = []
    while len(events) < unique:
        key = (rng.randrange(args.clients), int(rng.paretovariate(1.2)) % args.articles,
               rng.randrange(len(NETWORKS)))
        if key not in seen:
            seen.add(key)
            events.append(key)
    expected = Counter(urls[a] for _c, a, _n in events)
    for _ in range(args.duplicates):  # repeats, placed after their original
        pos = rng.randrange(len(events))
        events.insert(rng.randrange(pos + 1, len(events) + 1), events[pos])
    out = []
    for c, a, n in events:
        body = json.dumps({"type": "share", "url": urls[a], "network": NETWORKS[n]}).encode()
        out.append((c, body))
    return out, expected


async def request(port: int, local: str, raw: bytes, timeout: float = 30.0) -> tuple[int, float]:
    """One HTTP/1.1 request on a new connection from ``local``; (status, seconds)."""
    started = time.perf_counter()
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, local_addr=(local, 0)), timeout)
    try:
        writer.write(raw)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        status = int(line.split()[1])
        await asyncio.wait_for(reader.read(), timeout)  # sync workers close after the response
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return status, time.perf_counter() - started


def event_request(body: bytes, agent: str) -> bytes:
    return (f"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {agent}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body


def bare_request(agent: str) -> bytes:
    return (f"GET /bench/bare HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {agent}\r\n"
            f"Connection: close\r\n\r\n").encode()


async def drive(port: int, jobs: list[tuple[str, bytes]], concurrency: int, deadline: float,
                on_progress=None) -> dict:
    """Send ``jobs`` [(source address, raw request)] with ``concurrency`` in flight."""
    statuses: Counter = Counter()
    latencies: list[float] = []
    queue = iter(enumerate(jobs))
    done = 0

    async def worker():
        nonlocal done
        for _i, (local, raw) in queue:
            if time.monotonic() > deadline:
                statuses["not_sent_deadline"] += 1
                continue
            try:
                status, seconds = await request(port, local, raw)
            except (TimeoutError, OSError, ValueError, IndexError) as exc:
                statuses[f"error:{type(exc).__name__}"] += 1
                continue
            statuses[status] += 1
            latencies.append(seconds)
            done += 1
            if on_progress is not None:
                on_progress(done)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0

    return {"sent": len(jobs), "answered": len(latencies), "seconds": elapsed,
            "rps": len(latencies) / elapsed if elapsed else 0.0, "statuses": dict(statuses),
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0)}


class Service:
    """gunicorn serving bench.bench_wsgi:app against ``redis_env``."""

    def __init__(self, workdir: Path, redis_env: dict, args):
        self.port = free_port()
        env = dict(os.environ)
        env.update({"BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(args.workers),
                    "SECRET_KEY": "bench-secret",
                    "SHARE_SERVICE_INSTANCE_PATH": str(workdir / "instance"),
                    "SHARE_SERVICE_ALLOWED_HOSTS": HOST, "PYTHONPATH": str(ROOT), **redis_env})
        for name in ("REDIS_URL", "SHARE_SERVICE_REDIS_URL", "GUNICORN_ACCESSLOG"):
            if name not in redis_env:
                env.pop(name, None)
        with (workdir / "gunicorn.log").open("w") as log:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "-c",
                 str(ROOT / "gunicorn.conf.py"), "bench.bench_wsgi:app"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start: see {workdir / 'gunicorn.log'}")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)  # graceful: workers flush (or spool) their buffers
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


def read_counts(port: int, urls: list[str]) -> dict[str, int] | None:
    """Every article's share total through GET /api/v1/counts; None while Redis answers 503."""
    import http.client
    from urllib.parse import quote

    out = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for url in urls:
            conn.request("GET", "/api/v1/counts?url=" + quote(url, safe=""),
                         headers={"Connection": "keep-alive"})
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                return None
            out[url] = json.loads(data)["total"]
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    return out


def settle(port: int, expected: Counter, timeout: float) -> tuple[dict[str, int] | None, float]:
    """Poll the counts until they equal the expectation or stop moving for 10 s (or timeout)."""
    started = time.monotonic()
    last, last_change = None, time.monotonic()
    while time.monotonic() - started < timeout:
        counts = read_counts(port, list(expected))
        if counts is not None:
            if counts == dict(expected):
                return counts, time.monotonic() - started
            if counts != last:
                last, last_change = counts, time.monotonic()
            elif time.monotonic() - last_change > 10:
                break
        time.sleep(1)
    return last, time.monotonic() - started


def run_scenario(name: str, args) -> dict:
    rng = random.Random(args.seed)
    events, expected = plan_events(args, rng)
    with tempfile.TemporaryDirectory(prefix=f"ss-load-{name}-") as tmp:
        workdir = Path(tmp)
        cluster = server = None
        if name == "cluster-restart":
            try:
                from redis_cluster import LocalCluster  # tests/redis_cluster.py
            except ImportError:
                return {"scenario": name, "skipped": "no tests/redis_cluster.py (cluster support)"}
            cluster = LocalCluster(workdir / "cluster")
            cluster.start()
            redis_env = {"SHARE_SERVICE_REDIS_CLUSTER_NODES": ",".join(cluster.nodes)}
        else:
            server = embedded.EmbeddedRedis(workdir / "redis", persistent=True).start()
            redis_env = {"REDIS_URL": server.url}
        service = Service(workdir, redis_env, args)
        chaos: dict = {}
        try:
            bare_jobs = [(client_address(i % args.clients), bare_request(user_agent(i)))
                         for i in range(args.bare)]
            deadline = time.monotonic() + args.max_seconds
            # warm-up (workers import lazily, caches fill), then the baseline
            asyncio.run(drive(service.port, bare_jobs[: len(bare_jobs) // 4], args.concurrency,
                              deadline))
            bare = asyncio.run(drive(service.port, bare_jobs, args.concurrency, deadline))
            trigger = len(events) // 3

            def on_progress(done):
                if done == trigger and not chaos:
                    chaos["at"] = done
                    chaos["thread"] = _chaos(name, server, cluster, workdir, chaos)

            jobs = [(client_address(c), event_request(body, user_agent(c)))
                    for c, body in events]
            sent = asyncio.run(drive(service.port, jobs, args.concurrency, deadline,
                                     on_progress))
            if "thread" in chaos:
                chaos["thread"].join()
            counts, settle_s = settle(service.port, expected, args.settle_seconds)
        finally:
            service.stop()
            if server is not None:
                server.stop()
            if cluster is not None:
                cluster.stop()
    counted = sum((counts or {}).values())
    wrong = {u: ((counts or {}).get(u), n) for u, n in expected.items()
             if (counts or {}).get(u) != n}
    return {"scenario": name, "events": len(events), "duplicates": args.duplicates,
            "expected": sum(expected.values()), "counted": counted,
            "exact": counts == dict(expected), "articles_wrong": len(wrong),
            "settle_seconds": round(settle_s, 1), "chaos": chaos.get("log", []),
            "bare": bare, "load": sent,
            "ratio_to_bare": sent["rps"] / bare["rps"] if bare["rps"] else 0.0}


def _chaos(name, server, cluster, workdir, chaos):
    import threading

    log = chaos.setdefault("log", [])

    def act():
        t0 = time.monotonic()
        if name == "redis-kill":
            server.process.kill()
            log.append("redis killed (SIGKILL)")
            time.sleep(3)
            restarted = embedded.EmbeddedRedis(workdir / "redis", persistent=True).start()
            server.process = restarted.process  # stop() at the end stops the new one
            log.append(f"redis restarted from its AOF after {time.monotonic() - t0:.1f} s")
        elif name == "redis-freeze":
            os.kill(server.process.pid, signal.SIGSTOP)
            log.append("redis frozen (SIGSTOP)")
            time.sleep(5)
            os.kill(server.process.pid, signal.SIGCONT)
            log.append(f"redis thawed (SIGCONT) after {time.monotonic() - t0:.1f} s")
        elif name == "cluster-restart":
            cluster.stop_node(0)
            log.append("cluster master 0 stopped")
            time.sleep(3)
            cluster.start_node(0)
            log.append(f"cluster master 0 restarted after {time.monotonic() - t0:.1f} s")

    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    return thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("all", *SCENARIOS), default="all")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--duplicates", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=4_000,
                        help="loopback client addresses (each sends far fewer than its limit)")
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--bare", type=int, default=10_000, help="bare requests for the baseline")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=600, help="bound on sending")
    parser.add_argument("--settle-seconds", type=float, default=180,
                        help="bound on waiting for replays to land")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    names = SCENARIOS if args.scenario == "all" else (args.scenario,)
    results = []
    for name in names:
        print(f"== {name}: {args.events:,} events ({args.duplicates:,} exact repeats), "
              f"{args.clients:,} client addresses, concurrency {args.concurrency}", flush=True)
        res = run_scenario(name, args)
        results.append(res)
        if res.get("skipped"):
            print(f"   skipped: {res['skipped']}")
            continue
        load, bare = res["load"], res["bare"]
        print(f"   bare {bare['rps']:8.0f} req/s   events {load['rps']:8.0f} req/s   "
              f"ratio {res['ratio_to_bare']:.2f}   p50 {load['p50_ms']:.1f} ms   "
              f"p99 {load['p99_ms']:.1f} ms   max {load['max_ms']:.0f} ms")
        print(f"   statuses {load['statuses']}   chaos: {'; '.join(res['chaos']) or 'none'}")
        print(f"   counted {res['counted']:,} of {res['expected']:,} expected "
              f"({res['events']:,} sent - {res['duplicates']:,} repeats): "
              f"{'EXACT' if res['exact'] else 'NOT EXACT'} "
              f"({res['articles_wrong']} articles off; settled in {res['settle_seconds']} s)",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    load_avg = os.getloadavg()
    print(f"load average {load_avg[0]:.1f} {load_avg[1]:.1f} {load_avg[2]:.1f} "
          f"on {os.cpu_count()} cores")
    if not all(r.get("exact") or r.get("skipped") for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
