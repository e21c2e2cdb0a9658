"""One exception type for client errors, one for "the store is unavailable", and the one handler
that shapes every error answer.

Domain modules raise :class:`ApiError`; they never import Flask. The web layer turns it (and any
HTTP error Flask raises itself: 404, 405, 413, ...) into::

    {"error": {"code": "host_not_allowed", "message": "..."}}

with the error's status and headers. When Redis cannot answer (down, unreachable, timing out,
failing over: ``storage.client.UNAVAILABLE``), the request ends in :class:`StorageUnavailable`:
503, code ``unavailable``, ``Retry-After``, never cached. A blueprint that shows HTML pages
(the dashboard) registers its own handler for :class:`ApiError` and gets these too.
"""

from __future__ import annotations

import logging

log = logging.getLogger("share_service")


class ApiError(Exception):
    """A client error: a 4xx status (503 for :class:`StorageUnavailable`), a stable
    machine-readable code, a human message, optional response ``headers`` and extra body
    fields."""

    def __init__(self, code: str, message: str, status: int = 400,
                 headers: dict[str, str] | None = None, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = dict(headers or {})
        self.extra = extra

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        body.update(self.extra)
        return {"error": body}


class StorageUnavailable(ApiError):
    """The data store cannot answer now; the client may retry after ``retry_after`` seconds."""

    RETRY_AFTER = 5

    def __init__(self, message: str = "The data store is unavailable right now; try again "
                                      "in a few seconds.", retry_after: int = RETRY_AFTER):
        super().__init__("unavailable", message, 503,
                         {"Retry-After": str(retry_after), "Cache-Control": "no-store"})


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def init_app(app, html_paths: tuple[str, ...] = ()) -> None:
    """Register the handlers that give every error the same JSON shape. Under ``html_paths``
    (pages for people) a browser asking for HTML keeps Flask's HTML error pages."""
    from flask import jsonify, request
    from werkzeug.exceptions import HTTPException

    from .storage.client import UNAVAILABLE

    def wants_html() -> bool:
        # Browser pages of the dashboard keep HTML error pages; the API always answers JSON.
        best = request.accept_mimetypes.best_match(["application/json", "text/html"])
        return best == "text/html" and request.path.startswith(html_paths)

    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        response = jsonify(exc.to_dict())
        response.status_code = exc.status
        response.headers.update(exc.headers)
        return response

    def handle_unavailable(exc: Exception):
        log.warning("storage unavailable on %s %s: %s: %s", request.method, request.path,
                    type(exc).__name__, exc)
        # dispatched like any ApiError: a blueprint's own handler (HTML pages) comes first
        return app.handle_user_exception(StorageUnavailable())

    for cls in UNAVAILABLE:
        app.register_error_handler(cls, handle_unavailable)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        if wants_html():
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        if exc.code == 413:
            code = "body_too_large"
        response = jsonify(error_body(code, exc.description or exc.name))
        response.status_code = exc.code or 500
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        response = jsonify(error_body("internal_error", "The server could not complete the request."))
        response.status_code = 500
        return response
