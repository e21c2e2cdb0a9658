"""gunicorn settings for share_service (``gunicorn -c gunicorn.conf.py wsgi:app``).

Environment: BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (workers, default 2),
GUNICORN_WORKER_CLASS (default sync), GUNICORN_THREADS (default 1), GUNICORN_ACCESSLOG (a path,
or - for stdout), FORWARDED_ALLOW_IPS (default 127.0.0.1), GUNICORN_CONTROL_SOCKET (the path of
gunicorn's control socket for gunicornc; unset: none — its default, ~/.gunicorn/gunicorn.ctl, is
not writable in the image and would be shared by every server of one user).

* Redis: when no Redis is configured (neither REDIS_URL nor REDIS_CLUSTER_NODES, in the
  environment or the settings file), the master starts the embedded redis-server before forking
  workers (they inherit REDIS_URL pointing at its socket) and stops it, saved, on exit.
* Metrics: PROMETHEUS_MULTIPROC_DIR (default INSTANCE_PATH/metrics) is set here, before any
  worker imports prometheus_client, and emptied when the master starts; a dead worker's live
  gauges are removed (its counters stay in the totals). /metrics sums every worker's files.
* Workers: each starts its recorder at once (it replays events spooled by stopped workers
  without waiting for traffic) and applies its share of the per-worker rate limits; on exit it
  flushes its events (spooling them when Redis is unavailable) and its metrics.
* Logs: with LOG_FORMAT = "json" gunicorn's own log lines are JSON too.
"""

import os
from pathlib import Path

from share_service.config import instance_path, load_settings

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
graceful_timeout = 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or "gunicorn.ctl"
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")

_settings = load_settings()
_instance = instance_path(_settings)
METRICS_DIR = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                                         str(_instance / "metrics")))
METRICS_DIR.mkdir(parents=True, exist_ok=True)

if _settings["LOG_FORMAT"] == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "share_service.web.observability.json_formatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json",
                                 "stream": "ext://sys.stderr"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }

_embedded = None


CONFIGURED_REDIS = ("REDIS_URL", "REDIS_CLUSTER_NODES")


def on_starting(server):
    global _embedded
    for stale in METRICS_DIR.glob("*.db"):  # the previous master's workers
        stale.unlink()
    if any(os.environ.get(name) or os.environ.get("SHARE_SERVICE_" + name)
           for name in CONFIGURED_REDIS):
        return
    from share_service.storage import embedded

    if any(_settings.get(name) for name in CONFIGURED_REDIS):
        return
    _embedded = embedded.EmbeddedRedis(embedded.embedded_dir(_instance)).start()
    os.environ["REDIS_URL"] = _embedded.url
    server.log.info("embedded redis-server at %s", _embedded.url)


def on_exit(server):
    if _embedded is not None:
        _embedded.stop()


def _extensions(worker) -> dict:
    app = getattr(worker, "wsgi", None)
    return getattr(app, "extensions", {}) if app is not None else {}


def post_worker_init(worker):
    """Start the recorder (spool replay) and take this worker's share of the rate limits."""
    from share_service import metrics

    extensions = _extensions(worker)
    if "ratelimits" in extensions:
        extensions["ratelimits"].share_among(worker.cfg.workers)
    if "recorder" in extensions:
        extensions["recorder"].start()
    metrics.start()
    worker.log.info("worker %s ready: recorder started, rate limits shared among %d workers",
                    worker.pid, worker.cfg.workers)


def worker_exit(server, worker):
    """Flush the worker's write-behind buffer (spooled to disk if Redis is unavailable) so a
    normal shutdown loses nothing, then its metrics."""
    recorder = _extensions(worker).get("recorder")
    if recorder is not None:
        recorder.close()
    from share_service import metrics

    metrics.flush()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(METRICS_DIR))
