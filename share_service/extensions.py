"""Every extension is wired here, with ``init_app``, and nowhere else.

``app.extensions`` then holds:

* ``storage``: the Redis connection (``storage.client.Connection``: client, embedded server);
* ``articles``: the one (site, article) resolver with its bounded cache (``sharing.articles``);
* ``recorder``: the write-behind share counter of this worker (``counting.recorder``), which
  keeps, retries and spools events while Redis is unavailable;
* ``ratelimits``: the per-client limits of the hot paths (``storage.ratelimits``);
* ``recommender``: « Plus de contenu » with this worker's in-memory index (``recommend``), its
  snapshots under INSTANCE_PATH/recommend.
"""

from __future__ import annotations

from pathlib import Path

import redis

from .counting.recorder import Recorder
from .recommend import Recommender
from .recommend.matrix import single_threaded_blas
from .sharing.articles import Articles
from .storage import client as storage_client
from .storage.ratelimits import RateLimits


def init_app(app) -> None:
    # One of each per app: two apps in one process (tests) must not share the last one's.
    storage = storage_client.connect(app.config, app.instance_path)
    app.extensions["storage"] = storage
    app.extensions["articles"] = Articles(app.config)
    app.extensions["recorder"] = Recorder(storage.client, app.config)
    single_threaded_blas()
    app.extensions["ratelimits"] = RateLimits(app.config, storage.url)
    app.extensions["recommender"] = Recommender(
        app.config, snapshot_dir=str(Path(app.instance_path) / "recommend"))


def redis_client(app=None) -> redis.Redis:
    """The Redis client of the current (or given) app."""
    if app is None:
        from flask import current_app

        app = current_app
    return app.extensions["storage"].client
