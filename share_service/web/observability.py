"""What the service tells its operators about each request: metrics, a request id, logs.

:class:`Observer` wraps the whole WSGI app (outside ProxyFix and Flask), so it costs a few
microseconds per request and sees every answer, errors included:

* metrics: ``share_service_http_requests_total{endpoint,status}`` and
  ``share_service_http_request_duration_seconds{endpoint}`` (share_service.metrics), where
  ``endpoint`` is the Flask endpoint that answered (``unmatched`` when none did: a bounded set);
* request id: the ``X-Request-Id`` the proxy sent (1-128 characters of ``A-Za-z0-9._:-``), else
  a new random one; echoed in the answer's ``X-Request-Id`` header and in every log line of the
  request (``request_id``);
* with LOG_REQUESTS, one log line per request: method, path, endpoint, status, duration and
  request id. Never the client's address, user agent or query string (the privacy policy: no
  raw IPs stored, and a query string holds the shared article).

:func:`configure_logging` sets up LOG_FORMAT ("json": one JSON object per line, through
python-json-logger) and LOG_LEVEL for the service's loggers.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
from random import getrandbits

from flask import Request

from .. import metrics

log = logging.getLogger("share_service.requests")

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                         default=None)
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
ENVIRON_KEY = "share_service.request_id"
REQUEST_KEY = "share_service.request"


class ObservedRequest(Request):
    """Flask's request, leaving itself in the environ: Flask clears ``werkzeug.request`` when
    the request context ends, before the middleware can read which endpoint answered."""

    def __init__(self, environ, populate_request: bool = True, shallow: bool = False):
        super().__init__(environ, populate_request, shallow)
        environ[REQUEST_KEY] = self


def request_id() -> str | None:
    """The id of the request being answered (None outside a request)."""
    return REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class Observer:
    """WSGI middleware: request metrics, request id, optional request log line."""

    def __init__(self, wsgi_app, log_requests: bool = False):
        self.wsgi_app = wsgi_app
        self.log_requests = log_requests

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        rid = environ.get("HTTP_X_REQUEST_ID")
        if not rid or not VALID_ID.fullmatch(rid):
            rid = "%016x" % getrandbits(64)  # noqa: UP031 - the fastest spelling; not a secret
        environ[ENVIRON_KEY] = rid
        token = REQUEST_ID.set(rid)
        seen = []

        def start(status, headers, exc_info=None):
            seen.append(status)
            headers.append(("X-Request-Id", rid))
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            elapsed = time.perf_counter() - started
            request = environ.pop(REQUEST_KEY, None)
            rule = getattr(request, "url_rule", None)
            endpoint = rule.endpoint if rule is not None else "unmatched"
            status = seen[0][:3] if seen else "500"
            metrics.HTTP_REQUESTS.inc(endpoint, status)
            metrics.HTTP_LATENCY.observe(elapsed, endpoint)
            if self.log_requests:
                log.info("%s %s %s %.1f ms", environ.get("REQUEST_METHOD"),
                         environ.get("PATH_INFO"), status, elapsed * 1000,
                         extra={"method": environ.get("REQUEST_METHOD"),
                                "path": environ.get("PATH_INFO"), "endpoint": endpoint,
                                "status": int(status), "duration_ms": round(elapsed * 1000, 2)})
            REQUEST_ID.reset(token)


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter("{levelname}{name}{message}", style="{", timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger"})


def configure_logging(app) -> None:
    """LOG_FORMAT and LOG_LEVEL for the service's loggers (``share_service.*``, Flask's app
    logger). In "json", each record is one JSON object with its request_id; the handlers are
    replaced, not added to, so building several apps in one process never doubles lines."""
    level = logging.getLevelName(str(app.config["LOG_LEVEL"]).upper())
    if not isinstance(level, int):
        level = logging.INFO
    service = logging.getLogger("share_service")
    service.setLevel(level)
    app.logger.setLevel(level)
    if app.config["LOG_FORMAT"] != "json":
        return
    handler = logging.StreamHandler()  # stderr, where gunicorn's own log goes
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    for logger in (service, app.logger):
        logger.handlers[:] = [handler]
        logger.propagate = False


def init_app(app) -> None:
    configure_logging(app)
    app.request_class = ObservedRequest
    app.wsgi_app = Observer(app.wsgi_app, bool(app.config["LOG_REQUESTS"]))
    metrics.start()
