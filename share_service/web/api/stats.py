"""Blueprint: the stats API (/api/v1/stats/...). API key (X-Api-Key) or dashboard session.

Each route: parse ``site``, ``from``, ``to``, ``network`` (+ ``limit``, ``url``) -> a query of
``share_service.stats.queries`` -> JSON, or CSV with ``format=csv`` (streamed line by line).
Redis unavailable: the one 503 answer (errors.py).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context

from ...errors import ApiError
from ...extensions import redis_client
from ...stats import csv as stats_csv
from ...stats import params, queries
from ..guards import authorize_site, require_api_key
from ..inputs import article

bp = Blueprint("stats", __name__, url_prefix="/api/v1/stats")


def _common():
    site = authorize_site(request.args.get("site") or None)
    rng = params.parse_range(site, request.args.get("from"), request.args.get("to"))
    network = params.parse_network(request.args.get("network"))
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError("bad_format", "'format' must be json or csv.")
    return site, rng, network, fmt


def _answer(data: dict, fmt: str, rows, name: str):
    if fmt == "csv":
        filename = f"{name}-{data['site']}-{data['from']}-{data['to']}.csv"
        response = Response(stream_with_context(stats_csv.csv_lines(rows(data))),
                            mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    else:
        response = jsonify(data)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/summary")
@require_api_key("viewer")
def summary():
    site, rng, network, fmt = _common()
    data = queries.summary(redis_client(), site, rng, network)
    return _answer(data, fmt, stats_csv.summary_rows, "summary")


@bp.get("/timeseries")
@require_api_key("viewer")
def timeseries():
    site, rng, network, fmt = _common()
    data = queries.timeseries(redis_client(), site, rng, network,
                              request.args.get("granularity") or None)
    return _answer(data, fmt, stats_csv.timeseries_rows, "timeseries")


@bp.get("/top")
@require_api_key("viewer")
def top():
    site, rng, network, fmt = _common()
    limit = params.parse_limit(request.args.get("limit"))
    data = queries.top(redis_client(), site, rng, network, limit)
    return _answer(data, fmt, stats_csv.top_rows, "top")


@bp.get("/article")
@require_api_key("viewer")
def article_stats():
    site, rng, _network, fmt = _common()
    data = queries.article(redis_client(), site, article(site).canonical, rng)
    return _answer(data, fmt, stats_csv.article_rows, "article")


@bp.get("/sites")
@require_api_key("viewer")
def sites():
    """The sites this principal may read (for dashboards and scripts)."""
    principal = g.principal
    out = [{"id": s.id, "name": s.name, "timezone": s.timezone}
           for s in current_app.config["SITES"].values() if principal.can_read(s.id)]
    return jsonify({"sites": out})
