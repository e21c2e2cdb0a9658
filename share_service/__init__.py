"""share_service: self-hosted, privacy-first share links, counting and « Plus de contenu »."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

from .config import ROOT, load_settings

__all__ = ["create_app"]

# Only these paths use the (server-side, Redis) session: dashboard, admin, login, and the stats
# API (which also accepts a logged-in dashboard session). Reader-facing endpoints never open it:
# no cookie for readers, and no session work on the hot path. See web/sessions.py.
SESSION_PATHS = ("/dashboard", "/admin", "/login", "/logout", "/api/v1/stats")


def _secret_key(instance: Path) -> str:
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        instance.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: settings (defaults < file < environment < ``overrides``), extensions,
    error handlers, blueprints and CLI commands."""
    settings = load_settings(overrides)
    instance = Path(settings["INSTANCE_PATH"])
    if not instance.is_absolute():
        instance = ROOT / instance
    settings["INSTANCE_PATH"] = str(instance)

    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
        static_url_path="/static",
    )
    app.config.update(settings)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key(instance)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "ss_session"
    from .web.sessions import RedisSessionInterface

    app.session_interface = RedisSessionInterface()
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from . import errors, extensions

    extensions.init_app(app)
    errors.init_app(app)

    from .web import register_blueprints

    register_blueprints(app)

    from . import cli

    cli.init_app(app)
    return app
