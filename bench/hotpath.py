"""Hot-path benchmark: tracked redirect and events endpoint against a bare Flask endpoint.

One command, everything private and bounded in time::

    .venv/bin/python bench/hotpath.py                # 10 rounds x 3 s per endpoint, 2 sync workers
    .venv/bin/python bench/hotpath.py --rounds 6 --duration 10 --connections 16
    .venv/bin/python bench/hotpath.py --ratelimit-storage redis,cluster   # + limits in Redis
    .venv/bin/python bench/hotpath.py --skip-http    # only the Redis memory measurement

What it does:
  1. starts its own redis-server (share_service.embedded.EmbeddedRedis, temp dir, unix socket);
  2. serves ``bench.bench_wsgi:app`` (the real app + ``GET /bench/bare``) under gunicorn with
     gunicorn.conf.py (default 2 sync workers; --workers / --worker-class apply to all
     endpoints alike), TRUSTED_PROXIES=1 so X-Forwarded-For gives each request its visitor —
     once per configuration, all side by side: "limits on" (the defaults: rate limits in each
     worker's memory, metrics on) and "limits off" (RATELIMIT_ENABLED=0, metrics still on),
     plus, with --ratelimit-storage, the limits kept in the bench's Redis ("redis") and/or in a
     local 3-master Redis Cluster ("cluster", bench/redis_cluster.py). Every request comes from
     another X-Forwarded-For address, so no limit is ever reached: what is measured is what
     checking the limits costs;
  3. drives them with wrk on 127.0.0.1 (a Lua script per endpoint rotating user agents from a pool
     of browser strings, X-Forwarded-For over 16 M addresses, and article URLs drawn from a
     Zipf-like popularity over --articles articles x 6 networks): a warm-up run per endpoint,
     then --rounds rounds of bare / redirect / events slices of --duration seconds for every
     configuration, the order rotated every round so that changes in the machine's load hit
     every endpoint and configuration alike;
  4. prints, per configuration, requests/s, the ratios redirect/bare and events/bare (median and
     quartiles over the rounds, each ratio taken against the same configuration's bare endpoint
     in the same round), the service's CPU time per request (gunicorn master + workers + Redis,
     from /proc) and its ratio, and checks that the counted shares in Redis match the requests
     made (a few more may be counted: requests still in flight when a wrk run stops);
  5. measures Redis memory per million counted shares: INFO used_memory before/after recording
     --memory-events synthetic shares (realistic spread: articles, networks, hours, new visitors)
     through the real Recorder and record.lua, with and without the short-lived dedupe keys.

Caveat: wrk, gunicorn, Redis and (on a shared machine) other jobs all compete for the same cores;
ratios are measured side by side in the same run, which cancels most but not all of that noise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from share_service.counting import reads  # noqa: E402
from share_service.storage import client as storage_client  # noqa: E402
from share_service.storage import embedded, keyspace  # noqa: E402

HOST = "www.lequotidien.example"
NETWORKS = [("facebook", 40), ("whatsapp", 20), ("x", 14), ("linkedin", 10), ("email", 6),
            ("bluesky", 5), ("telegram", 3), ("threads", 2)]
SECTIONS = ["politique", "economie", "international", "societe", "sport", "culture", "sciences"]


def article_urls(n: int, rng: random.Random) -> list[str]:
    return [f"https://{HOST}/{rng.choice(SECTIONS)}/2026/11/{rng.randint(1, 26):02d}/"
            f"article-{i}-{rng.randint(1000, 9999)}" + ("?page=2" if i % 17 == 0 else "")
            for i in range(n)]


def zipf_indices(n: int, size: int, rng: random.Random, s: float = 1.1) -> list[int]:
    weights = [1 / (i + 1) ** s for i in range(n)]
    return rng.choices(range(n), weights=weights, k=size)


def weighted_networks(size: int, rng: random.Random) -> list[str]:
    names, weights = zip(*NETWORKS, strict=True)
    return rng.choices(names, weights=weights, k=size)


def lua_list(items: list[str]) -> str:
    return "{" + ",".join(json.dumps(x) for x in items) + "}"


LUA = """
local items = %(items)s
local uas = %(uas)s
local method = "%(method)s"
local counter = 0
function setup(thread)
  thread:set("seed", tostring(math.random(1, 1000000)))
end
function init(args)
  math.randomseed(tonumber(seed or "1") + os.time())
end
function request()
  local item = items[math.random(#items)]
  local headers = {
    ["User-Agent"] = uas[math.random(#uas)],
    ["X-Forwarded-For"] = string.format("10.%%d.%%d.%%d", math.random(0, 255), math.random(0, 255), math.random(1, 254)),
    ["Origin"] = "https://%(host)s",
  }
  if method == "POST" then
    headers["Content-Type"] = "text/plain;charset=UTF-8"
    return wrk.format("POST", "/api/v1/events", headers, item)
  end
  return wrk.format("GET", item, headers)
end
"""


def write_scripts(workdir: Path, args, rng: random.Random) -> dict[str, Path]:
    import ua_samples

    uas = ua_samples.browser_agents(rng, args.user_agents)
    arts = article_urls(args.articles, rng)
    picks = zipf_indices(len(arts), 4000, rng)
    nets = weighted_networks(len(picks), rng)
    titles = ["L’été des réformes : « tout reste à faire »", "Ligue 1 : le match en direct",
              "Budget 2027 : ce qui change pour vous", ""]
    redirect_paths = []
    event_bodies = []
    for idx, net in zip(picks, nets, strict=True):
        url, title = arts[idx], titles[idx % len(titles)]
        query = "url=" + quote(url, safe="") + ("&title=" + quote(title, safe="") if title else "")
        redirect_paths.append(f"/s/{net}?{query}")
        event_bodies.append(json.dumps({"type": "share", "url": url, "network": net}))
    bare_paths = ["/bench/bare"] * 16
    scripts = {}
    for name, method, items in (("bare", "GET", bare_paths), ("redirect", "GET", redirect_paths),
                                ("events", "POST", event_bodies)):
        path = workdir / f"{name}.lua"
        path.write_text(LUA % {"items": lua_list(items), "uas": lua_list(uas), "method": method,
                               "host": HOST})
        scripts[name] = path
    return scripts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"GET /bench/bare HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1."):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer")


TICK = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            for child in children:
                pids += process_tree(int(child))
    except OSError:
        pass
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (threads included), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / TICK


def run_wrk(port: int, script: Path, duration: float, args, cpu_pids=None) -> dict:
    before = cpu_seconds(cpu_pids()) if cpu_pids else 0.0
    redis_before = cpu_seconds(cpu_pids()[-1:]) if cpu_pids else 0.0
    cmd = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{duration:g}s",
           "-s", str(script), f"http://127.0.0.1:{port}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    cpu = (cpu_seconds(cpu_pids()) - before) if cpu_pids else 0.0
    redis_cpu = (cpu_seconds(cpu_pids()[-1:]) - redis_before) if cpu_pids else 0.0
    return {"rps": rps, "requests": total, "non_2xx_3xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else "",
            "cpu_us_per_request": cpu / max(total, 1) * 1e6,
            "redis_cpu_us_per_request": redis_cpu / max(total, 1) * 1e6}


def start_gunicorn(name: str, redis_url: str, workdir: Path, args, extra_env: dict):
    port = free_port()
    env = dict(os.environ)
    env.update({
        "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(args.workers),
        "GUNICORN_WORKER_CLASS": args.worker_class, "REDIS_URL": redis_url,
        "SECRET_KEY": "bench-secret",
        "SHARE_SERVICE_INSTANCE_PATH": str(workdir / f"instance-{name}"),
        "SHARE_SERVICE_ALLOWED_HOSTS": HOST, "SHARE_SERVICE_TRUSTED_PROXIES": "1",
        "PYTHONPATH": str(ROOT),
    })
    env.pop("GUNICORN_ACCESSLOG", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra_env)
    with (workdir / f"gunicorn-{name}.log").open("w") as log:  # the child keeps its own fd
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
             "bench.bench_wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )
    return proc, port


def stop_gunicorn(proc) -> None:
    proc.send_signal(signal.SIGTERM)  # graceful: each worker flushes its recorder
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def configurations(args, redis_url: str, cluster) -> dict[str, dict]:
    """name -> environment of its gunicorn. Metrics are always on."""
    configs = {"limits on": {"RATELIMIT_ENABLED": "1"},
               "limits off": {"RATELIMIT_ENABLED": "0"}}
    for storage in filter(None, args.ratelimit_storage.split(",")):
        if storage == "redis":
            configs["limits in Redis"] = {"RATELIMIT_ENABLED": "1",
                                          "SHARE_SERVICE_RATELIMIT_STORAGE_URI": "redis"}
        elif storage == "cluster":
            configs["limits in a cluster"] = {"RATELIMIT_ENABLED": "1",
                                              "SHARE_SERVICE_RATELIMIT_STORAGE_URI": cluster.url}
        else:
            configs[f"limits in {storage}"] = {"RATELIMIT_ENABLED": "1",
                                               "SHARE_SERVICE_RATELIMIT_STORAGE_URI": storage}
    return configs


def http_bench(redis_url: str, redis_pid: int, workdir: Path, args, cluster=None) -> dict:
    rng = random.Random(args.seed)
    scripts = write_scripts(workdir, args, rng)
    servers = {}
    results: dict[str, dict[str, list[dict]]] = {}
    extra_pids = cluster.pids if cluster is not None else []
    try:
        for name, env in configurations(args, redis_url, cluster).items():
            servers[name] = start_gunicorn(name.replace(" ", "-"), redis_url, workdir, args, env)
            results[name] = {"bare": [], "redirect": [], "events": []}
        for _proc, port in servers.values():
            wait_http(port)

        def cpu_pids_of(proc, name):
            def pids():  # gunicorn master + workers (+ the cluster) + the Redis server
                own = process_tree(proc.pid)
                if name == "limits in a cluster":
                    own += extra_pids
                return own + [redis_pid]
            return pids

        slices = [(name, endpoint) for name in servers for endpoint in ("bare", "redirect", "events")]
        for name, endpoint in slices:  # warm-up: caches, connections, salts
            proc, port = servers[name]
            results[name].setdefault("warmup_" + endpoint, []).append(
                run_wrk(port, scripts[endpoint], args.warmup, args, cpu_pids_of(proc, name)))
        for rnd in range(args.rounds):
            # short slices, the order rotated every round (and reversed every other): drift in
            # the machine's load then hits every endpoint and configuration alike
            k = rnd % len(slices)
            order = slices[k:] + slices[:k]
            if (rnd // len(slices)) % 2:
                order.reverse()
            for name, endpoint in order:
                proc, port = servers[name]
                res = run_wrk(port, scripts[endpoint], args.duration, args,
                              cpu_pids_of(proc, name))
                results[name][endpoint].append(res)
                print(f"  round {rnd + 1} {name:20s} {endpoint:8s} {res['rps']:9.1f} req/s "
                      f"{res['cpu_us_per_request']:7.0f} us CPU/request"
                      f"{'  non-2xx/3xx: ' + str(res['non_2xx_3xx']) if res['non_2xx_3xx'] else ''}",
                      flush=True)
    finally:
        for proc, _port in servers.values():
            stop_gunicorn(proc)
    return results


def summarize(all_results: dict, redis_url: str) -> dict:
    def stats(v):
        q = statistics.quantiles(v, n=4) if len(v) >= 2 else [v[0], v[0], v[0]]
        return {"median": statistics.median(v), "q1": q[0], "q3": q[2], "min": min(v),
                "max": max(v), "all": [round(x, 3) for x in v]}

    summary: dict = {"configs": {}}
    made = bad = 0
    for config, results in all_results.items():
        ratios = {"redirect": [], "events": []}
        cpu_ratios = {"redirect": [], "events": []}
        for i, bare in enumerate(results["bare"]):
            for name in ratios:
                ratios[name].append(results[name][i]["rps"] / bare["rps"])
                cpu_ratios[name].append(bare["cpu_us_per_request"]
                                        / results[name][i]["cpu_us_per_request"])
        part = {name: stats(v) for name, v in ratios.items()}
        part["cpu"] = {name: stats(v) for name, v in cpu_ratios.items()}
        summary["configs"][config] = part
        made += sum(r["requests"] for name in ("redirect", "events", "warmup_redirect",
                                               "warmup_events") for r in results.get(name, []))
        bad += sum(r["non_2xx_3xx"] for rs in results.values() for r in rs)
    client = storage_client.from_url(redis_url, socket_timeout=30)
    counted = sum(v for f, v in reads.site_total_counts(client, "default").items()
                  if f.startswith("share:"))
    summary["counted_shares"] = counted
    summary["share_requests"] = made
    summary["non_2xx_3xx"] = bad
    return summary


def memory_bench(redis_url: str, args) -> dict:
    """Redis memory per million counted shares, through the real recorder and script."""
    from share_service.config import load_settings
    from share_service.counting.events import Event
    from share_service.counting.recorder import Recorder

    client = storage_client.from_url(redis_url, socket_timeout=60)  # FLUSHALL of the HTTP run's keys
    client.flushall()
    settings = load_settings({"REDIS_URL": redis_url, "ALLOWED_HOSTS": [HOST],
                              "COUNTING_FLUSH_MAX_EVENTS": 1000})
    recorder = Recorder(client, settings)
    rng = random.Random(args.seed + 1)
    n = args.memory_events
    arts = article_urls(args.memory_articles, rng)
    aids = [keyspace.article_id(u) for u in arts]
    picks = zipf_indices(len(arts), n, rng)
    nets = weighted_networks(n, rng)
    day_start = time.time() - time.time() % 86400 - 3600  # one day, Paris
    before = client.info("memory")["used_memory"]
    for i in range(n):
        idx = picks[i]
        ev = Event("default", "share", nets[i], arts[idx], aids[idx],
                   visitor=f"{rng.getrandbits(128):032x}", ts=day_start + rng.random() * 86400)
        recorder.add(ev)
        if (i + 1) % 5000 == 0:
            recorder.flush()
    recorder.flush()
    recorder.close()
    after = client.info("memory")["used_memory"]
    dedupe = keyspace.dedupe_pattern("default")
    dedupe_keys = sum(1 for _ in client.scan_iter(dedupe, count=10000))
    while True:  # what stays once the dedupe window has passed
        batch = list(client.scan_iter(dedupe, count=10000))[:5000]
        if not batch:
            break
        client.delete(*batch)
    retained = client.info("memory")["used_memory"]
    counted = sum(v for f, v in reads.site_total_counts(client, "default").items()
                  if f.startswith("share:"))
    per_million = (after - before) / counted * 1e6
    per_million_retained = (retained - before) / counted * 1e6
    return {
        "events": n, "counted": counted, "articles": len(set(picks)),
        "dedupe_keys": dedupe_keys,
        "used_memory_before": before, "used_memory_after": after, "used_memory_retained": retained,
        "bytes_per_share_with_dedupe": (after - before) / counted,
        "mb_per_million_with_dedupe": per_million / 2**20,
        "mb_per_million_retained": per_million_retained / 2**20,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3, help="seconds per measured slice (3)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per endpoint (3)")
    parser.add_argument("--rounds", type=int, default=10,
                        help="rounds of bare/redirect/events slices (10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (sync)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--articles", type=int, default=500, help="articles in the HTTP load (500)")
    parser.add_argument("--user-agents", type=int, default=2000, help="distinct user agents (2000)")
    parser.add_argument("--memory-events", type=int, default=200_000,
                        help="synthetic shares for the memory measurement (200000)")
    parser.add_argument("--memory-articles", type=int, default=3000,
                        help="articles shared in the memory measurement's day (3000)")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--ratelimit-storage", default="",
                        help="also measure the limits kept in another storage: comma-separated "
                             "'redis' (the bench's Redis), 'cluster' (a local 3-master cluster) "
                             "or any limits URI")
    parser.add_argument("--skip-http", action="store_true", help="only measure Redis memory")
    parser.add_argument("--skip-memory", action="store_true", help="only measure throughput")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if not args.skip_http and not shutil.which("wrk"):
        print("wrk is required (apt-get install wrk)", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="hotpath-"))
    server = embedded.EmbeddedRedis(workdir / "redis", persistent=False).start()
    cluster = None
    report: dict = {"args": vars(args), "cpus": os.cpu_count(),
                    "loadavg_start": os.getloadavg()}
    try:
        if not args.skip_http:
            if "cluster" in args.ratelimit_storage.split(","):
                from bench.redis_cluster import LocalCluster

                cluster = LocalCluster(workdir / "cluster").start()
            print(f"HTTP: {args.workers} {args.worker_class} workers, wrk -t{args.wrk_threads} "
                  f"-c{args.connections}, {args.rounds} rounds x {args.duration:g} s", flush=True)
            results = http_bench(server.url, server.process.pid, workdir, args, cluster)
            summary = summarize(results, server.url)
            report["http"] = {"runs": results, "summary": summary}
            for config, runs_of in results.items():
                part = summary["configs"][config]
                print(f"\n[{config}]")
                print(f"{'endpoint':10s} {'median req/s':>12s} {'CPU us/req':>10s} "
                      f"{'of it Redis':>11s}   runs (req/s)")
                for name in ("bare", "redirect", "events"):
                    runs = [r["rps"] for r in runs_of[name]]
                    cpu = statistics.median(r["cpu_us_per_request"] for r in runs_of[name])
                    rcpu = statistics.median(r["redis_cpu_us_per_request"] for r in runs_of[name])
                    print(f"{name:10s} {statistics.median(runs):12.1f} {cpu:10.0f} {rcpu:11.0f}"
                          "   " + ", ".join(f"{x:.0f}" for x in runs))
                for name in ("redirect", "events"):
                    r = part[name]
                    print(f"throughput ratio {name}/bare: median {r['median']:.3f}  (quartiles "
                          f"{r['q1']:.3f}-{r['q3']:.3f}, min {r['min']:.3f}, max {r['max']:.3f})"
                          "  target >= 0.80")
                for name in ("redirect", "events"):
                    r = part["cpu"][name]
                    print(f"CPU-cost ratio   {name}/bare: median {r['median']:.3f}  (quartiles "
                          f"{r['q1']:.3f}-{r['q3']:.3f})  [service CPU (workers + Redis) per "
                          f"bare request / per {name} request]")
            print(f"\ncounted shares in Redis: {summary['counted_shares']} of "
                  f"{summary['share_requests']} share requests; non-2xx/3xx answers: "
                  f"{summary['non_2xx_3xx']}")
        if not args.skip_memory:
            print(f"\nRedis memory: recording {args.memory_events} synthetic shares ...", flush=True)
            mem = memory_bench(server.url, args)
            report["memory"] = mem
            print(f"  {mem['counted']} shares over {mem['articles']} articles in one day: "
                  f"+{(mem['used_memory_after'] - mem['used_memory_before']) / 2**20:.1f} MiB "
                  f"({mem['bytes_per_share_with_dedupe']:.0f} B/share with live dedupe keys)")
            print(f"  per million shares: {mem['mb_per_million_with_dedupe']:.0f} MiB while the "
                  f"dedupe keys live (DEDUPE_WINDOW), {mem['mb_per_million_retained']:.0f} MiB "
                  "retained after they expire")
        report["loadavg_end"] = os.getloadavg()
        print(f"\nload average at start {report['loadavg_start'][0]:.2f}, "
              f"at end {report['loadavg_end'][0]:.2f} on {report['cpus']} CPUs")
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
    finally:
        if cluster is not None:
            cluster.stop()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
