"""Blueprint: admin pages — users, API keys (admins of every site) and site settings.

Every form posts with the session's CSRF token. A new API key is shown once, on the answer to
the form that created it, and never again (only its SHA-256 is stored).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from ...accounts import api_keys, users
from ...errors import ApiError
from ...extensions import redis_client
from ..guards import install_csrf, require_login
from . import formatting as dashfmt

bp = Blueprint("admin", __name__, url_prefix="/admin")
install_csrf(bp)
dashfmt.install(bp)


def _ctx(**extra):
    return {"t": g.t, "lang": g.lang, "principal": g.principal,
            "other_lang": "en" if g.lang == "fr" else "fr",
            "all_sites": list(current_app.config["SITES"].values()), **extra}


def _global_admin():
    if not g.principal.can_admin():
        abort(403)


def _sites_from_form() -> list[str]:
    return [s for s in request.form.getlist("site") if s]


@bp.route("/users", methods=["GET", "POST"], endpoint="users")
@require_login("admin")
def users_page():
    _global_admin()
    r = redis_client()
    message, error, status = None, None, 200
    if request.method == "POST":
        try:
            if request.form.get("action") == "delete":
                email = request.form.get("email", "")
                if email == g.principal.name:
                    raise ApiError("self_delete", "You cannot delete yourself.", 400)
                users.delete_user(r, email)
            else:
                users.create_user(r, request.form.get("email", ""), request.form.get("password", ""),
                                 request.form.get("role", "viewer"), _sites_from_form(),
                                 known_sites=current_app.config["SITES"])
            return redirect(url_for("admin.users", lang=g.lang, done=1), code=303)
        except ApiError as exc:
            error, status = exc.message, exc.status
    if request.args.get("done"):
        message = g.t("done")
    return render_template("dashboard/admin_users.html",
                           **_ctx(users=users.list_users(r), message=message, error=error)), status


@bp.route("/keys", methods=["GET", "POST"], endpoint="api_keys")
@require_login("admin")
def api_keys_page():
    _global_admin()
    r = redis_client()
    new_key, error, status = None, None, 200
    if request.method == "POST":
        try:
            if request.form.get("action") == "revoke":
                api_keys.revoke_api_key(r, request.form.get("id", ""))
                return redirect(url_for("admin.api_keys", lang=g.lang), code=303)
            raw_days = (request.form.get("expires") or "").strip()
            try:
                days = float(raw_days) if raw_days else None
            except ValueError as exc:
                raise ApiError("bad_expiry", "The expiry must be a number of days.") from exc
            new_key, _record = api_keys.create_api_key(
                r, request.form.get("name", ""), request.form.get("role", "viewer"),
                _sites_from_form(), days, known_sites=current_app.config["SITES"])
        except ApiError as exc:
            error, status = exc.message, exc.status
    return render_template("dashboard/admin_keys.html",
                           **_ctx(keys=api_keys.list_api_keys(r), new_key=new_key, error=error)), status


@bp.get("/sites")
@require_login("admin")
def sites():
    """The configured sites (read-only here: they live in the settings file)."""
    visible = [s for s in current_app.config["SITES"].values() if g.principal.can_admin(s.id)]
    if not visible:
        abort(403)
    return render_template("dashboard/admin_sites.html", **_ctx(sites=visible))
