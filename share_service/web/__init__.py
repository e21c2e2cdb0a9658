"""The web layer: one blueprint per capability. Views parse the request, call a plain function
of the domain, and shape the answer. A blueprint never imports another blueprint; what several
read from a request lives in ``inputs``, access control in ``guards``, dashboard sessions in
``sessions``.

* ``api/``: the HTTP API — links, redirect, events, counts, qr, catalogue (articles and
  recommendations), stats, meta (OpenAPI, favicon), ops (liveness, readiness, metrics), and
  CORS for the widget's calls;
* ``observability``: request metrics, request ids and logs (a WSGI middleware around the app);
* ``widget/``: widget.js and widget.css, /embed and the /demo article;
* ``dashboard/``: the marketing dashboard and its admin pages.
"""

from __future__ import annotations

# Pages for people (HTML): errors there are HTML pages, not JSON (errors.init_app).
HTML_PATHS = ("/dashboard", "/admin", "/login", "/logout")
# Only these paths open the server-side session (the dashboard's, and the stats API, which also
# accepts a logged-in dashboard session). Reader-facing endpoints never do: no cookie for readers
# and no session work on the hot path.
SESSION_PATHS = (*HTML_PATHS, "/api/v1/stats")


def init_app(app) -> None:
    """The session interface, every blueprint, and CORS for the widget API."""
    from . import observability
    from .api import catalogue, cors, counts, events, links, meta, ops, qr, redirect, stats
    from .dashboard import admin
    from .dashboard import views as dashboard
    from .sessions import RedisSessionInterface
    from .widget import views as widget

    app.session_interface = RedisSessionInterface(SESSION_PATHS)
    # No redirect the service did not mean: werkzeug would answer /s//x or /demo//x with a 308 to
    # the path with merged slashes; they are 404s like any other unknown path. (Set before the
    # rules are added: each rule takes the map's setting when it is bound.)
    app.url_map.merge_slashes = False
    for module in (meta, ops, links, redirect, events, counts, qr, widget, catalogue, stats,
                   dashboard, admin):
        app.register_blueprint(module.bp)
    cors.init_app(app)
    observability.init_app(app)
