"""CORS for the widget API: browsers on a site's own pages may call these endpoints.

Only the resolved site's origins (``Site.allowed_origins()``: its ``cors_origins``, else https://
and http:// of its allowed hosts — on any port for localhost, 127.0.0.1 and [::1], a publisher's
development server — plus ``CORS_ORIGINS`` for the default site) get
``Access-Control-Allow-Origin`` (the origin itself, never ``*``); an entry ``scheme://host:*``
matches that scheme and host on any port. Other origins get no CORS header at all, so their
scripts cannot read the answer. No
credentials are ever allowed (the widget API uses no cookie). Every answer of these paths carries
``Vary: Origin`` so shared caches keep one copy per origin.

The site is resolved from the ``site`` / ``url`` query parameters; where there are none (a
``POST /api/v1/events`` carries its URLs in the body, a preflight has no body), any configured
site's origin is accepted here — the events view still checks every URL's host against its site.

Preflight: ``OPTIONS`` with ``Access-Control-Request-Method`` answers 204 with the allowed method
(POST for events, GET for the others), ``Content-Type`` as the only allowed request header (JSON
bodies) and ``Access-Control-Max-Age``.
"""

from __future__ import annotations

from functools import lru_cache

from flask import request

from ...errors import ApiError
from ...sharing.articles import site_for_url

CORS_PATHS: dict[str, tuple[str, ...]] = {
    "/api/v1/share": ("GET",),
    "/api/v1/counts": ("GET",),
    "/api/v1/events": ("POST",),
    "/api/v1/recommendations": ("GET",),
}
ALLOWED_HEADERS = frozenset({"content-type"})
MAX_AGE = 86400  # seconds; browsers cap it lower (Chromium: 2 hours)
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


def origin_allowed(settings: dict, origin: str | None, site_id: str | None,
                   raw_url: str | None) -> bool:
    if not origin or origin == "null":
        return False
    origin = origin.strip().lower().rstrip("/")
    if site_id or raw_url:
        try:
            sites = [site_for_url(settings, site_id, raw_url)]
        except ApiError:
            return False
    else:
        sites = list(settings["SITES"].values())
    for site in sites:
        exact, any_port = _origins(site)
        if origin in exact or (any_port and _without_port(origin) in any_port):
            return True
    return False


@lru_cache(maxsize=256)
def _origins(site) -> tuple[frozenset[str], frozenset[str]]:
    """A site's allowed origins, normalized: (exact origins, "scheme://host" of the entries
    accepting any port). Site is frozen and hashable: cached per site."""
    exact, any_port = set(), set()
    for entry in site.allowed_origins():
        entry = entry.lower().rstrip("/")
        if entry.endswith(":*"):
            any_port.add(entry[:-2])
        else:
            exact.add(entry)
    return frozenset(exact), frozenset(any_port)


def _without_port(origin: str) -> str:
    """``http://localhost:3000`` -> ``http://localhost``; ``http://[::1]:3000`` -> ``http://[::1]``."""
    head, sep, port = origin.rpartition(":")
    if sep and port.isdigit() and "//" in head and not head.endswith(":"):
        return head
    return origin


def init_app(app) -> None:
    @app.before_request
    def cors_preflight():
        if request.method != "OPTIONS" or request.path not in CORS_PATHS:
            return None
        wanted = request.headers.get("Access-Control-Request-Method")
        if not wanted:
            return None  # a plain OPTIONS: Flask's automatic answer
        response = app.response_class(status=204)
        del response.headers["Content-Type"]
        response.headers["Vary"] = PREFLIGHT_VARY
        methods = CORS_PATHS[request.path]
        asked_headers = {
            h.strip().lower()
            for h in request.headers.get("Access-Control-Request-Headers", "").split(",")
            if h.strip()
        }
        origin = request.headers.get("Origin")
        if (
            wanted.upper() in methods
            and asked_headers <= ALLOWED_HEADERS
            and origin_allowed(app.config, origin, request.args.get("site"),
                               request.args.get("url"))
        ):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = str(MAX_AGE)
        return response

    # The decision depends on the origin and the request's site / url only, and the sites are
    # fixed at start-up: cached per app (an events POST then costs one dict lookup; hashing a
    # Site dataclass on every call did not).
    allowed = lru_cache(maxsize=4096)(
        lambda origin, site_id, raw_url: origin_allowed(app.config, origin, site_id, raw_url))

    @app.after_request
    def cors_headers(response):
        # The hot path (events): everything read from the environ, no werkzeug header parsing,
        # no query parsing without an Origin.
        environ = request.environ
        if environ.get("PATH_INFO") not in CORS_PATHS or environ["REQUEST_METHOD"] == "OPTIONS":
            return response
        headers = response.headers
        vary = headers.getlist("Vary")
        if not vary:
            headers.add("Vary", "Origin")
        elif "origin" not in ",".join(vary).lower():
            headers["Vary"] = ", ".join([*vary, "Origin"])
        origin = environ.get("HTTP_ORIGIN")
        if not origin:
            return response
        if environ.get("QUERY_STRING"):
            args = request.args
            site_id, raw_url = args.get("site"), args.get("url")
        else:
            site_id = raw_url = None
        if allowed(origin, site_id, raw_url):
            headers["Access-Control-Allow-Origin"] = origin
        return response
