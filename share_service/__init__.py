"""share_service: self-hosted, privacy-first share links, counting and « Plus de contenu ».

:func:`create_app` is the only place that wires things: settings (config.py), the error
handlers (errors.py), the extensions (extensions.py), the web layer (web/) and the CLI (cli/).
The layers and the direction of their imports: docs/architecture.md.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

from .config import ROOT, instance_path, load_settings

__all__ = ["create_app"]


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
    """Build the app: settings (defaults < file < environment < ``overrides``), error handlers,
    extensions, blueprints and CLI commands."""
    settings = load_settings(overrides)
    instance = instance_path(settings)
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
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from . import cli, errors, extensions, web

    errors.init_app(app, html_paths=web.HTML_PATHS)
    extensions.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app
