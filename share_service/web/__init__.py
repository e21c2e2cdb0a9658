"""The web layer: one blueprint per capability. Views parse the request, call a plain function
of the domain, and shape the answer. A blueprint never imports another blueprint."""

from __future__ import annotations


def register_blueprints(app) -> None:
    from . import (
        admin,
        catalogue,
        counts,
        dashboard,
        events,
        links,
        meta,
        qr,
        redirect,
        stats,
        widget,
    )

    for module in (meta, links, redirect, events, counts, qr, widget, catalogue, stats, dashboard, admin):
        app.register_blueprint(module.bp)

    from . import cors  # CORS for the widget API (share, counts, events, recommendations)

    cors.init_app(app)
