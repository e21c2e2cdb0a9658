"""Blueprint: the marketing dashboard (/dashboard), login and logout.

Server-rendered pages over ``share_service.stats``; charts are server-side SVG
(``share_service.charts``), each with a data table. The filters (site, period, from, to, network,
lang) live in the query string so a view can be bookmarked and shared. Today's figures refresh by
themselves: static/dashboard/dashboard.js polls the stats API (same session) every 30 s.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .. import auth, charts, networks, stats
from ..errors import ApiError
from ..extensions import redis_client
from . import dashfmt, sessions
from .guards import authorize_site, install_csrf, require_login, safe_next

bp = Blueprint("dashboard", __name__)
install_csrf(bp)
dashfmt.install(bp)

PERIODS = ("today", "7d", "30d", "90d", "custom")
TOP_LIMIT = 10


def _ctx(**extra):
    principal = getattr(g, "principal", None)
    return {"t": g.t, "lang": g.lang, "principal": principal,
            "other_lang": "en" if g.lang == "fr" else "fr", **extra}


# --- login / logout -----------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login():
    nxt = safe_next(request.values.get("next")) or url_for("dashboard.overview")
    error = None
    status = 200
    if getattr(session, "unavailable", False):
        error, status = g.t("store_down"), 503
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()[:320]
        password = request.form.get("password") or ""
        address = request.remote_addr or "?"
        secret = current_app.config["SECRET_KEY"]
        r = redis_client()
        try:
            if auth.login_blocked(r, email, address, secret, current_app.config["LOGIN_MAX_ATTEMPTS"]):
                error, status = g.t("too_many"), 429
            else:
                record = auth.verify_password(r, email, password)
                if record is None:
                    auth.record_login_failure(r, email, address, secret)
                    error, status = g.t("bad_login"), 401
                else:
                    auth.record_login_success(r, record["email"], secret)
                    session.clear()
                    session["user"] = record["email"]
                    sessions.rotate(session)  # a new id: a planted session id is worthless
                    session["csrf"] = auth.new_session_id()
                    return redirect(nxt, code=303)
        except Exception:  # noqa: BLE001 - Redis down
            current_app.logger.warning("login failed: Redis unavailable", exc_info=True)
            error, status = g.t("store_down"), 503
    return render_template("dashboard/login.html", **_ctx(error=error, next=nxt)), status


@bp.post("/logout")
def logout():
    sessions.destroy(session)
    return redirect(url_for("dashboard.login"), code=303)


# --- overview -----------------------------------------------------------------------------------
def _filters(site):
    """Parse the filters from the query string. Returns (filters dict, range, network)."""
    period = request.args.get("period") or "30d"
    if period not in PERIODS:
        raise ApiError("bad_range", f"Unknown period {period!r}.")
    if period == "custom":
        rng = stats.parse_range(site, request.args.get("from"), request.args.get("to"))
    else:
        rng = stats.preset_range(site, period)
    network = stats.parse_network(request.args.get("network"))
    return {"site": site.id, "period": period, "from": rng.start.isoformat(),
            "to": rng.end.isoformat(), "network": network or ""}, rng, network


def _api_url(name: str, filters: dict, **extra) -> str:
    params = {"site": filters["site"], "from": filters["from"], "to": filters["to"]}
    if filters.get("network"):
        params["network"] = filters["network"]
    params.update(extra)
    return f"/api/v1/stats/{name}?" + urlencode(params)


CHANNEL_LABELS = {"copy": "copies", "qr": "qr", "native": "native", "more_content": "more_content"}


def _net_label(net_id: str) -> str:
    """A network's name, or the page language's name of a channel (copy, qr, ...)."""
    if net_id in CHANNEL_LABELS:
        return g.t(CHANNEL_LABELS[net_id])
    net = networks.get(net_id)
    return net.name if net else net_id


def _render_error(exc: ApiError, site=None):
    return render_template("dashboard/error.html", **_ctx(error=exc, site=site)), exc.status


@bp.get("/dashboard")
@require_login()
def overview():
    site = authorize_site(request.args.get("site") or None, api=False)
    try:
        filters, rng, network = _filters(site)
        r = redis_client()
        summary = stats.summary(r, site, rng, network)
        series = stats.timeseries(r, site, rng, network)
        top = stats.top(r, site, rng, network, TOP_LIMIT)
        today = stats.today(site)
        live = stats.summary(r, site, stats.Range(today, today), network)
    except ApiError as exc:
        return _render_error(exc, site)
    except Exception:  # noqa: BLE001 - Redis down: say so, don't crash
        return _render_error(ApiError("unavailable", g.t("store_down"), 503), site)

    cur = summary["current"]
    hourly = series["granularity"] == "hour"
    labels = [p["t"][11:16] if hourly and rng.days == 1 else
              (p["t"][5:10] + (" " + p["t"][11:13] + "h" if hourly else "")) for p in series["points"]]
    top_nets = list(cur["networks"])[:4]
    lines = [(g.t("total"), [p["total"] for p in series["points"]])]
    if not network:
        lines += [(_net_label(n), [p["networks"].get(n, 0) for p in series["points"]]) for n in top_nets]
    lines.append((g.t("clickbacks"), [p["clickbacks"] for p in series["points"]]))
    series_svg = charts.line_chart(
        labels, lines, g.t("series_title_hour" if hourly else "series_title"),
        f"{rng.start.isoformat()} – {rng.end.isoformat()}", chart_id="chart-series")
    net_items = [(_net_label(n), v) for n, v in cur["networks"].items()]
    networks_svg = charts.bar_chart(net_items, g.t("networks_title"), chart_id="chart-networks",
                                    offset=0 if network else 1)
    cb_items = [(_net_label(s), v) for s, v in cur["clickbacks_by_source"].items()]
    clickbacks_svg = charts.bar_chart(cb_items, g.t("clickbacks_title"), chart_id="chart-clickbacks")

    sites = [s for s in current_app.config["SITES"].values() if g.principal.can_read(s.id)]
    site_networks = sorted(set(site.networks) | set(cur["networks"]),
                           key=lambda n: (site.networks.index(n) if n in site.networks else 99, n))
    exports = {
        "summary": _api_url("summary", filters, format="csv"),
        "timeseries": _api_url("timeseries", filters, format="csv"),
        "top": _api_url("top", filters, format="csv", limit=100),
    }
    live_url = _api_url("summary", {**filters, "from": today.isoformat(), "to": today.isoformat()})
    return render_template(
        "dashboard/overview.html",
        **_ctx(site=site, sites=sites, filters=filters, rng=rng, summary=summary, series=series,
               top=top, live=live, series_svg=series_svg, networks_svg=networks_svg,
               clickbacks_svg=clickbacks_svg, site_networks=site_networks,
               net_label=_net_label, exports=exports, live_url=live_url,
               live_refresh=current_app.config["DASHBOARD_REFRESH_SECONDS"], periods=PERIODS, now=int(time.time())),
    )


@bp.get("/dashboard/article")
@require_login()
def article():
    site = authorize_site(request.args.get("site") or None, api=False)
    try:
        filters, rng, _network = _filters(site)
        from .. import urls

        _clean, canonical = urls.article_from_request(
            request.args.get("url"), site, current_app.config["MAX_URL_LENGTH"])
        data = stats.article(redis_client(), site, canonical, rng)
    except ApiError as exc:
        return _render_error(exc, site)
    except Exception:  # noqa: BLE001
        return _render_error(ApiError("unavailable", g.t("store_down"), 503), site)
    labels = [p["t"][5:] for p in data["series"]]
    nets = list(data["figures"]["networks"])[:4]
    lines = [(g.t("total"), [p["total"] for p in data["series"]])]
    lines += [(_net_label(n), [p["networks"].get(n, 0) for p in data["series"]]) for n in nets]
    lines.append((g.t("clickbacks"), [p["clickbacks"] for p in data["series"]]))
    series_svg = charts.line_chart(labels, lines, g.t("series_title"),
                                   data["title"] or data["url"], chart_id="chart-article")
    net_items = [(_net_label(n), v) for n, v in data["figures"]["networks"].items()]
    networks_svg = charts.bar_chart(net_items, g.t("networks_title"), chart_id="chart-art-networks",
                                    offset=1)
    export = "/api/v1/stats/article?" + urlencode(
        {"site": site.id, "from": filters["from"], "to": filters["to"], "url": data["url"],
         "format": "csv"})
    back = url_for("dashboard.overview", **{k: v for k, v in request.args.items() if k != "url"})
    return render_template(
        "dashboard/article.html",
        **_ctx(site=site, filters=filters, data=data, series_svg=series_svg,
               networks_svg=networks_svg, net_label=_net_label, export=export, back=back),
    )
