"""One exception type for client errors, and the one handler that shapes every error answer.

Domain modules raise :class:`ApiError`; they never import Flask. The web layer turns it (and any
HTTP error Flask raises itself: 404, 405, 413, ...) into::

    {"error": {"code": "host_not_allowed", "message": "..."}}
"""

from __future__ import annotations


class ApiError(Exception):
    """A client error: a 4xx status, a stable machine-readable code and a human message."""

    def __init__(self, code: str, message: str, status: int = 400, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        body.update(self.extra)
        return {"error": body}


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def init_app(app) -> None:
    """Register the handlers that give every error the same JSON shape."""
    from flask import jsonify, request
    from werkzeug.exceptions import HTTPException

    def wants_html() -> bool:
        # Browser pages of the dashboard keep HTML error pages; the API always answers JSON.
        best = request.accept_mimetypes.best_match(["application/json", "text/html"])
        return request.path.startswith(("/dashboard", "/admin", "/login")) and best == "text/html"

    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        response = jsonify(exc.to_dict())
        response.status_code = exc.status
        return response

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
