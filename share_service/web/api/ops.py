"""Blueprint: operations — ``/healthz`` (liveness), ``/readyz`` (readiness), ``/metrics``.

* ``GET /healthz``: 200 while the process lives and answers. It never asks Redis: a load
  balancer or compose must not restart a healthy worker because Redis is down (the service
  degrades instead: links, pages, QR codes and the widget keep working, events wait).
* ``GET /readyz``: 200 when Redis answers a PING within one second (on a cluster: at least one
  master; ``"redis": "degraded"`` and the masters up when not all), else 503 (the one
  ``unavailable`` JSON error, with ``Retry-After``), with what this worker's recorder holds.
  A frozen Redis cannot hold it longer than the budget.
* ``GET /metrics``: Prometheus text (share_service.metrics), summed over the gunicorn workers.
  Only for clients in METRICS_ALLOW (addresses or CIDR networks) or bearing METRICS_TOKEN;
  others get 403 (401 with ``WWW-Authenticate`` when they sent a wrong token).
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from flask import Blueprint, Response, current_app, jsonify, request

from ... import metrics
from ...errors import ApiError, StorageUnavailable

bp = Blueprint("ops", __name__)

READY_BUDGET = 1.0  # seconds


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers."""
    response = jsonify({"status": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/readyz")
def readyz():
    """Readiness: Redis answers within READY_BUDGET (on a cluster: every master, or some:
    "degraded", still ready — the other shards count and answer)."""
    app = current_app
    recorder = app.extensions["recorder"]
    state = app.extensions["storage"].health(READY_BUDGET)
    if state["redis"] == "down":
        error = StorageUnavailable("Redis does not answer: counts and statistics are unavailable "
                                   "(links, pages and the widget still work; events wait).")
        error.extra = {**state, "pending_events": recorder.pending()}
        raise error
    response = jsonify({"status": "ready", **state, "pending_events": recorder.pending()})
    response.headers["Cache-Control"] = "no-store"
    return response


@lru_cache(maxsize=64)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _allowed(address: str | None, entries: tuple[str, ...]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in _networks(entries))


@bp.get("/metrics")
def metrics_view():
    config = current_app.config
    token = config["METRICS_TOKEN"]
    auth = request.headers.get("Authorization", "")
    if auth:
        scheme, _, sent = auth.partition(" ")
        if not token or scheme.lower() != "bearer" or not hmac.compare_digest(
                sent.strip().encode(), token.encode()):
            raise ApiError("unauthorized", "Invalid metrics token.", 401,
                           {"WWW-Authenticate": 'Bearer realm="metrics"'})
    elif not _allowed(request.remote_addr, tuple(config["METRICS_ALLOW"])):
        raise ApiError("forbidden", "Metrics are readable only from the configured addresses "
                                    "(METRICS_ALLOW) or with the metrics token.", 403)
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
