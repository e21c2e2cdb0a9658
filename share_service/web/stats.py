"""Blueprint: the stats API (/api/v1/stats/...). API key (X-Api-Key) or dashboard session.

Each route: parse ``site``, ``from``, ``to``, ``network`` (+ ``limit``, ``url``) -> a query of
``share_service.stats`` -> JSON, or CSV with ``format=csv`` (streamed line by line).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context

from .. import stats, urls
from ..errors import ApiError
from ..extensions import redis_client
from .guards import authorize_site, require_api_key

bp = Blueprint("stats", __name__, url_prefix="/api/v1/stats")


def _common():
    site = authorize_site(request.args.get("site") or None)
    rng = stats.parse_range(site, request.args.get("from"), request.args.get("to"))
    network = stats.parse_network(request.args.get("network"))
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError("bad_format", "'format' must be json or csv.")
    return site, rng, network, fmt


def _answer(data: dict, fmt: str, rows, name: str):
    if fmt == "csv":
        filename = f"{name}-{data['site']}-{data['from']}-{data['to']}.csv"
        response = Response(stream_with_context(stats.csv_lines(rows(data))),
                            mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    else:
        response = jsonify(data)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _query(fn, *args, **kwargs):
    try:
        return fn(redis_client(), *args, **kwargs)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - Redis errors: a clear 503, never a 500
        current_app.logger.warning("stats query failed: %s", exc)
        raise ApiError("unavailable", "The statistics store is unavailable.", 503) from exc


@bp.get("/summary")
@require_api_key("viewer")
def summary():
    site, rng, network, fmt = _common()
    data = _query(stats.summary, site, rng, network)
    return _answer(data, fmt, stats.summary_rows, "summary")


@bp.get("/timeseries")
@require_api_key("viewer")
def timeseries():
    site, rng, network, fmt = _common()
    data = _query(stats.timeseries, site, rng, network, request.args.get("granularity") or None)
    return _answer(data, fmt, stats.timeseries_rows, "timeseries")


@bp.get("/top")
@require_api_key("viewer")
def top():
    site, rng, network, fmt = _common()
    limit = stats.parse_limit(request.args.get("limit"))
    data = _query(stats.top, site, rng, network, limit)
    return _answer(data, fmt, stats.top_rows, "top")


@bp.get("/article")
@require_api_key("viewer")
def article():
    site, rng, _network, fmt = _common()
    _clean, canonical = urls.article_from_request(request.args.get("url"), site,
                                                  current_app.config["MAX_URL_LENGTH"])
    data = _query(stats.article, site, canonical, rng)
    return _answer(data, fmt, stats.article_rows, "article")


@bp.get("/sites")
@require_api_key("viewer")
def sites():
    """The sites this principal may read (for dashboards and scripts)."""
    principal = g.principal
    out = [{"id": s.id, "name": s.name, "timezone": s.timezone}
           for s in current_app.config["SITES"].values() if principal.can_read(s.id)]
    return jsonify({"sites": out})
