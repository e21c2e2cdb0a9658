"""Blueprint: the tracked redirect ``GET /s/<network>?url=&title=&text=&image=``.

Counts one ``share`` (unless the user agent is a known bot, or the client is past
RATELIMIT_REDIRECTS: then the reader is still redirected, the share is not counted) and answers
302 to the network's share endpoint. Redis is never asked: the redirect answers the same when
it is down or frozen. This is the hot path, so it is built by hand: the plan (site, canonical URL,
Location) is cached per (network, raw query string), the bot check is cached per user agent,
the event goes to the write-behind recorder (no Redis round trip), and the 302 is a bare
Response with pre-built headers. No session, no cookie.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, request

from ... import metrics
from ...counting import bots
from ...counting.events import Event
from ...counting.planner import RedirectPlanner

bp = Blueprint("redirect", __name__)


class _Redirect(Response):
    """A 302 whose headers are sent as built (a subclass of Flask's Response, so Flask keeps
    it as is instead of converting it). werkzeug's get_wsgi_headers would run the
    Location through iri_to_uri (about 30 µs); ours is ASCII already, every value
    percent-encoded by the network registry, and absolute."""

    def get_wsgi_headers(self, environ):
        return self.headers


@bp.record_once
def _setup(state) -> None:
    state.app.extensions["redirect_planner"] = RedirectPlanner(state.app.extensions["articles"])


@bp.get("/s/<network>")
def tracked_redirect(network: str):
    app = current_app._get_current_object()  # noqa: SLF001 - one lookup instead of several
    environ = request.environ
    plan = app.extensions["redirect_planner"].plan(network, environ.get("QUERY_STRING", ""))
    agent = environ.get("HTTP_USER_AGENT", "")
    if app.config["COUNTING_COUNT_BOTS"] or not bots.is_bot(agent):
        ip = environ.get("REMOTE_ADDR", "")
        if app.extensions["ratelimits"].hit("redirect", ip):  # over it: redirect, don't count
            app.extensions["recorder"].add(
                Event(plan.site, "share", plan.network, plan.url, plan.aid, ts=time.time()),
                ip, agent)
    else:
        metrics.EVENTS.inc("bot")
    # body [] and, below, Content-Length: 0; the content type given, werkzeug's default one,
    # spares a "content-type" in headers test that raises and catches an exception (~3 µs)
    response = _Redirect(status=302, content_type="text/html; charset=utf-8")
    # The header values are safe as they are (ASCII, percent-encoded, no line breaks: built by
    # the registry and checked by the planner), so they skip werkzeug's per-value validation
    # (about 11 µs for these three).
    response.headers._list.extend(plan.headers)  # noqa: SLF001
    return response
