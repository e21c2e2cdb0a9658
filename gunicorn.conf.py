"""gunicorn settings for share_service (``gunicorn -c gunicorn.conf.py wsgi:app``).

Environment: BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (workers, default 2),
GUNICORN_WORKER_CLASS (default sync), GUNICORN_THREADS (default 1).
When neither REDIS_URL nor REDIS_CLUSTER_NODES is set, the master starts the embedded
redis-server before forking workers (they inherit REDIS_URL pointing at its socket) and stops
it, saved, on exit.
"""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
graceful_timeout = 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

_embedded = None


def on_starting(server):
    global _embedded
    if any(os.environ.get(name) for name in (
            "REDIS_URL", "SHARE_SERVICE_REDIS_URL",
            "REDIS_CLUSTER_NODES", "SHARE_SERVICE_REDIS_CLUSTER_NODES")):
        return
    from share_service.config import instance_path, load_settings
    from share_service.storage import embedded

    settings = load_settings()
    if settings["REDIS_URL"] or settings["REDIS_CLUSTER_NODES"]:
        return
    _embedded = embedded.EmbeddedRedis(embedded.embedded_dir(instance_path(settings))).start()
    os.environ["REDIS_URL"] = _embedded.url
    server.log.info("embedded redis-server at %s", _embedded.url)


def on_exit(server):
    if _embedded is not None:
        _embedded.stop()


def worker_exit(server, worker):
    """Flush the worker's write-behind buffer so a normal shutdown loses nothing."""
    app = getattr(worker, "wsgi", None)
    recorder = getattr(app, "extensions", {}).get("recorder") if app else None
    if recorder is not None:
        recorder.close()
