"""Every extension is wired here, with ``init_app``, and nowhere else."""

from __future__ import annotations

import redis

from . import db, keys


class RedisStore:
    """The app's Redis client (``app.extensions['redis']``)."""

    def __init__(self):
        self.client: redis.Redis | None = None
        self.embedded: db.EmbeddedRedis | None = None

    def init_app(self, app) -> None:
        settings = app.config
        keys.configure(settings["REDIS_KEY_PREFIX"])
        url = settings["REDIS_URL"]
        if not url:
            # No REDIS_URL: start (or reuse) the embedded server; this process then owns it.
            self.embedded = db.EmbeddedRedis(db.embedded_dir(settings)).start().stop_at_exit()
            url = self.embedded.url
            settings["REDIS_URL"] = url
        self.client = db.client_from_url(
            url, settings["REDIS_SOCKET_TIMEOUT"], settings["REDIS_CONNECT_TIMEOUT"]
        )
        app.extensions["redis"] = self


store = RedisStore()


def init_app(app) -> None:
    # One store per app: two apps in one process (tests) must not share the last one's client.
    app_store = RedisStore()
    app_store.init_app(app)
    # Write-behind share counting (counting/recorder.py): app.extensions["recorder"].
    from .counting.recorder import Recorder

    app.extensions["recorder"] = Recorder(app_store.client, app.config)


def redis_client(app=None) -> redis.Redis:
    """The Redis client of the current (or given) app."""
    if app is None:
        from flask import current_app

        app = current_app
    return app.extensions["redis"].client
