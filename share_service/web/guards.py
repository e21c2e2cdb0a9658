"""Access guards for the stats API, the dashboard and the admin pages.

- ``@require_api_key(role="viewer")``: an API route. Accepts an ``X-Api-Key`` header or a
  logged-in dashboard session. Anonymous: 401 JSON; wrong role: 403 JSON.
- ``@require_login(role="viewer")``: a dashboard page. Anonymous: redirect to /login?next=...;
  wrong role: 403.
- ``authorize_site(site_id, admin=False)``: the site of the request, resolved from the
  configuration, and 403 when ``g.principal`` may not read (or administer) it.
- ``install_csrf(bp)``: every POST of a blueprint must carry the session's CSRF token (form
  field ``csrf_token`` or header ``X-CSRF-Token``); templates get ``csrf_token()``.

The principal goes on ``flask.g.principal`` (``principals.Principal``).
"""

from __future__ import annotations

import functools
import hmac
import secrets
from urllib.parse import quote

from flask import abort, current_app, g, redirect, request, session

from ..accounts import api_keys, principals, sessions
from ..errors import ApiError, StorageUnavailable
from ..extensions import redis_client
from ..sharing.articles import site_by_id


def _role_ok(principal: principals.Principal, role: str) -> bool:
    return role == "viewer" or principal.role == role


def session_principal() -> principals.Principal | None:
    """The logged-in user of this request's dashboard session, if any. A session that could
    not be read (Redis down) is StorageUnavailable, not "logged out"."""
    if getattr(session, "unavailable", False):
        raise StorageUnavailable()
    if not getattr(session, "get", None) or not session.get("user"):
        return None
    return sessions.session_principal(redis_client(), dict(session))


def require_api_key(role: str = "viewer"):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            raw = request.headers.get("X-Api-Key", "").strip()
            principal = (api_keys.authenticate_api_key(redis_client(), raw) if raw
                         else session_principal())
            if principal is None:
                error = ApiError(
                    "unauthorized",
                    "Send a valid API key in the X-Api-Key header." if raw
                    else "Authentication required: X-Api-Key header or a dashboard session.",
                    401,
                )
                raise error
            if not _role_ok(principal, role):
                raise ApiError("forbidden", f"This needs the {role} role.", 403)
            g.principal = principal
            return view(*args, **kwargs)

        return wrapper

    return decorator


def safe_next(target: str | None) -> str | None:
    """A local path to return to after login, never another host (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    return target


def login_redirect():
    nxt = request.full_path if request.query_string else request.path
    return redirect("/login?next=" + quote(nxt, safe="/"), code=302)


def require_login(role: str = "viewer"):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if getattr(session, "unavailable", False):
                return login_redirect()  # the login page says the store is down
            principal = session_principal()
            if principal is None:
                return login_redirect()
            if not _role_ok(principal, role):
                abort(403)
            g.principal = principal
            return view(*args, **kwargs)

        return wrapper

    return decorator


def authorize_site(site_id: str | None, admin: bool = False, api: bool = True):
    """The configured site named ``site_id`` (or the default one the principal may read) after
    checking ``g.principal`` may read (or administer) it. API: ApiError 403/404; pages: abort."""
    principal: principals.Principal = g.principal
    settings = current_app.config
    if not site_id:
        readable = principal.readable(settings["SITES"])
        default = settings["DEFAULT_SITE"]
        site_id = default if default in readable else (readable[0] if readable else default)
    try:
        site = site_by_id(settings, site_id)
    except ApiError:
        if api:
            raise
        abort(404)
    allowed = principal.can_admin(site.id) if admin else principal.can_read(site.id)
    if not allowed:
        if api:
            raise ApiError("forbidden", f"This principal may not read site {site.id!r}.", 403)
        abort(403)
    return site


# --- CSRF ---------------------------------------------------------------------------------------
def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session.get("csrf") if hasattr(session, "get") else None
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not expected or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="The form has expired or did not come from this site "
                               "(missing or wrong CSRF token). Reload the page and try again.")


def install_csrf(bp) -> None:
    bp.before_request(check_csrf)
    bp.context_processor(lambda: {"csrf_token": csrf_token})
