"""gunicorn settings for share_service (``gunicorn -c gunicorn.conf.py wsgi:app``).

Environment: BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (workers, default 2),
GUNICORN_WORKER_CLASS (default sync), GUNICORN_THREADS (default 1), GUNICORN_ACCESSLOG (a path,
or - for stdout), FORWARDED_ALLOW_IPS (default 127.0.0.1), GUNICORN_CONTROL_SOCKET (the path of
gunicorn's control socket for gunicornc; unset: none — its default, ~/.gunicorn/gunicorn.ctl, is
not writable in the image and would be shared by every server of one user).
When no Redis is configured (neither REDIS_URL nor REDIS_CLUSTER_NODES, in the environment or the
settings file), the master starts the embedded redis-server before forking workers (they inherit
REDIS_URL pointing at its socket) and stops it, saved, on exit.
"""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
graceful_timeout = 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or "gunicorn.ctl"
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")

_embedded = None


CONFIGURED_REDIS = ("REDIS_URL", "REDIS_CLUSTER_NODES")


def on_starting(server):
    global _embedded
    if any(os.environ.get(name) or os.environ.get("SHARE_SERVICE_" + name)
           for name in CONFIGURED_REDIS):
        return
    from share_service.config import instance_path, load_settings
    from share_service.storage import embedded

    settings = load_settings()
    if any(settings.get(name) for name in CONFIGURED_REDIS):
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
