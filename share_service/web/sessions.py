"""Server-side dashboard sessions in Redis.

The cookie (``SESSION_COOKIE_NAME``, HttpOnly, SameSite=Lax, Secure per SESSION_COOKIE_SECURE)
holds only a random id; the session lives in Redis (``share_service.auth``) with an absolute
lifetime of ACCOUNTS_SESSION_LIFETIME_HOURS from its creation. Only the paths given to the interface (``web.SESSION_PATHS``)
open a session: readers never get a cookie and the hot path does no session work.

``rotate(session)`` gives the session a new id on the next save (login: no fixation);
``destroy(session)`` deletes it from Redis and expires the cookie (logout).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from ..accounts import sessions as session_store
from ..storage.client import UNAVAILABLE


class RedisSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, sid: str | None = None):
        def on_update(_self):
            _self.modified = True

        super().__init__(initial, on_update)
        self.sid = sid
        self.new = sid is None
        self.modified = False
        self.rotate = False
        self.destroyed = False
        self.unavailable = False  # Redis could not be read: behave as logged out


def rotate(session) -> None:
    session.rotate = True
    session.modified = True


def destroy(session) -> None:
    session.destroyed = True


class RedisSessionInterface(SessionInterface):
    def __init__(self, paths: tuple[str, ...]):
        self.paths = paths  # only requests under these open a session

    def _redis(self, app):
        return app.extensions["storage"].client

    def _lifetime(self, app) -> int:
        return int(float(app.config["ACCOUNTS_SESSION_LIFETIME_HOURS"]) * 3600)

    def open_session(self, app, request):
        if not request.path.startswith(self.paths):
            return self.null_session_class()
        sid = request.cookies.get(self.get_cookie_name(app))
        if not sid:
            return RedisSession()
        try:
            data = session_store.load_session(self._redis(app), sid)
        except UNAVAILABLE:  # Redis down: an empty session, the login page says so
            session = RedisSession()
            session.unavailable = True
            return session
        if data is None:
            return RedisSession()  # unknown or expired id: never adopted (a new id is minted)
        return RedisSession(data, sid)

    def save_session(self, app, session, response):
        if not isinstance(session, RedisSession):
            return
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        r = self._redis(app)
        try:
            if session.destroyed:
                if session.sid:
                    session_store.delete_session(r, session.sid)
                response.delete_cookie(name, domain=domain, path=path,
                                       secure=self.get_cookie_secure(app),
                                       httponly=True, samesite=self.get_cookie_samesite(app))
                return
            if not session.modified and not session.rotate:
                return
            if not dict(session):
                return
            if session.rotate and session.sid:
                session_store.delete_session(r, session.sid)
                session.sid = None
            if session.rotate or "created" not in session:
                session["created"] = int(time.time())
            if session.sid is None:
                session.sid = session_store.new_session_id()
            remaining = session["created"] + self._lifetime(app) - int(time.time())
            if remaining <= 0:
                session_store.delete_session(r, session.sid)
                return
            session_store.save_session(r, session.sid, dict(session), remaining)
        except UNAVAILABLE:  # Redis down: no session is kept; the page still answers
            app.logger.warning("session not saved: Redis unavailable")
            return
        response.set_cookie(
            name,
            session.sid,
            expires=datetime.fromtimestamp(session["created"] + self._lifetime(app), UTC),
            httponly=True,
            domain=domain,
            path=path,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app) or "Lax",
        )
        response.vary.add("Cookie")
        return
