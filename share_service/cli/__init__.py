"""CLI commands, grouped under ``flask --app wsgi ...``: ``ingest`` (catalogue.py), ``users`` and
``keys`` (API keys; auth.py), ``recommend embed|status`` (recommend.py), ``storage`` (info,
migrate; storage.py). Each capability keeps its commands in its own module."""

from __future__ import annotations


def init_app(app) -> None:
    """Register every command group."""
    from . import auth, catalogue, recommend, storage

    auth.init_app(app)
    catalogue.init_app(app)
    recommend.init_app(app)
    storage.init_app(app)
