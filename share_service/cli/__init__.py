"""CLI commands, grouped under ``flask --app wsgi ...``: ingest, keys, users, redis."""

from __future__ import annotations


def init_app(app) -> None:
    """Register every command group. Each capability keeps its commands in its own module."""
    from . import auth as cli_auth  # users, keys (issue 6)

    cli_auth.init_app(app)

    from . import catalogue as cli_catalogue  # ingest (issue 4)

    cli_catalogue.init_app(app)
