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

from ...accounts import login_limits
from ...accounts import sessions as session_store
from ...errors import ApiError
from ...extensions import redis_client
from ...sharing import networks
from ...stats import params, queries
from .. import inputs, sessions
from ..guards import authorize_site, install_csrf, require_login, safe_next
from . import charts
from . import formatting as dashfmt

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
        outcome, record = login_limits.attempt_login(
            redis_client(), (request.form.get("email") or "").strip().lower()[:320],
            request.form.get("password") or "", request.remote_addr or "?",
            current_app.config["SECRET_KEY"], current_app.config["ACCOUNTS_LOGIN_MAX_ATTEMPTS"])
        if outcome == "ok":
            session.clear()
            session["user"] = record["email"]
            sessions.rotate(session)  # a new id: a planted session id is worthless
            session["csrf"] = session_store.new_session_id()
            return redirect(nxt, code=303)
        error, status = (g.t("too_many"), 429) if outcome == "blocked" else (g.t("bad_login"), 401)
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
        rng = params.parse_range(site, request.args.get("from"), request.args.get("to"))
    else:
        rng = params.preset_range(site, period)
    network = params.parse_network(request.args.get("network"))
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


@bp.get("/dashboard")
@require_login()
def overview():
    site = authorize_site(request.args.get("site") or None, api=False)
    g.site = site
    filters, rng, network = _filters(site)
    r = redis_client()
    summary = queries.summary(r, site, rng, network)
    series = queries.timeseries(r, site, rng, network)
    top = queries.top(r, site, rng, network, TOP_LIMIT)
    today = params.today(site)
    live = queries.summary(r, site, params.Range(today, today), network)

    cur = summary["current"]
    hourly = series["granularity"] == "hour"
    labels = [p["t"][11:16] if hourly and rng.days == 1 else
              (p["t"][5:10] + (" " + p["t"][11:13] + "h" if hourly else "")) for p in series["points"]]
    top_nets = list(cur["networks"])[:4]
    lines = [(g.t("total"), [p["total"] for p in series["points"]], "series-0")]
    if not network:
        lines += [(_net_label(n), [p["networks"].get(n, 0) for p in series["points"]],
                   charts.net_class(n)) for n in top_nets]
    lines.append((g.t("clickbacks"), [p["clickbacks"] for p in series["points"]], "series-1"))
    series_svg = charts.line_chart(
        labels, lines, g.t("series_title_hour" if hourly else "series_title"),
        f"{rng.start.isoformat()} – {rng.end.isoformat()}", chart_id="chart-series")
    net_items = [(_net_label(n), v, charts.net_class(n)) for n, v in cur["networks"].items()]
    networks_svg = charts.bar_chart(net_items, g.t("networks_title"), chart_id="chart-networks")
    cb_items = [(_net_label(s), v, charts.net_class(s))
                for s, v in cur["clickbacks_by_source"].items()]
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
    g.site = site
    filters, rng, _network = _filters(site)
    data = queries.article(redis_client(), site, inputs.article(site).canonical, rng)
    labels = [p["t"][5:] for p in data["series"]]
    nets = list(data["figures"]["networks"])[:4]
    lines = [(g.t("total"), [p["total"] for p in data["series"]], "series-0")]
    lines += [(_net_label(n), [p["networks"].get(n, 0) for p in data["series"]],
               charts.net_class(n)) for n in nets]
    lines.append((g.t("clickbacks"), [p["clickbacks"] for p in data["series"]], "series-1"))
    series_svg = charts.line_chart(labels, lines, g.t("series_title"),
                                   data["title"] or data["url"], chart_id="chart-article")
    net_items = [(_net_label(n), v, charts.net_class(n))
                 for n, v in data["figures"]["networks"].items()]
    networks_svg = charts.bar_chart(net_items, g.t("networks_title"), chart_id="chart-art-networks")
    export = "/api/v1/stats/article?" + urlencode(
        {"site": site.id, "from": filters["from"], "to": filters["to"], "url": data["url"],
         "format": "csv"})
    back = url_for("dashboard.overview", **{k: v for k, v in request.args.items() if k != "url"})
    return render_template(
        "dashboard/article.html",
        **_ctx(site=site, filters=filters, data=data, series_svg=series_svg,
               networks_svg=networks_svg, net_label=_net_label, export=export, back=back),
    )


@bp.get("/dashboard/networks.css")
def networks_css():
    """Each network's chart colour, from the registry (charts.network_css), light and dark."""
    response = current_app.response_class(charts.network_css(), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
