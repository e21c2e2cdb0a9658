"""Blueprint: health, the OpenAPI description and the favicon."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, send_from_directory

from ...extensions import redis_client
from ...storage import fanout
from . import openapi

bp = Blueprint("meta", __name__)


@bp.get("/healthz")
def health():
    """Liveness and Redis reachability. 200 while the service answers; redis: ok|down (and
    degraded, with the masters up, on a cluster)."""
    return jsonify({"status": "ok", **fanout.health(redis_client())})


@bp.get("/api/v1/openapi.json")
def openapi_json():
    response = jsonify(openapi.spec())
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/favicon.ico")
def favicon():
    """The service's icon (browsers ask for it on every page of the dashboard and the demo)."""
    response = send_from_directory(current_app.static_folder, "favicon.ico",
                                   mimetype="image/vnd.microsoft.icon", max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
