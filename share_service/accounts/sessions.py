"""Dashboard sessions in Redis: the cookie holds a random id; Redis holds the session under the
id's SHA-256, so a copy of the database gives no usable session. The id is replaced at login (no
fixation) and the record deleted at logout (``web.sessions`` drives this)."""

from __future__ import annotations

import hashlib
import json
import secrets

from ..storage import keyspace
from .principals import Principal
from .users import get_user, user_principal


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def _sid_key(sid: str) -> str:
    return keyspace.session(hashlib.sha256(sid.encode()).hexdigest())


def load_session(r, sid: str) -> dict | None:
    if not sid or len(sid) > 128:
        return None
    raw = r.get(_sid_key(sid))
    return json.loads(raw) if raw else None


def save_session(r, sid: str, data: dict, ttl_seconds: int) -> None:
    r.set(_sid_key(sid), json.dumps(data, separators=(",", ":")), ex=max(1, int(ttl_seconds)))


def delete_session(r, sid: str) -> None:
    if sid:
        r.delete(_sid_key(sid))


def session_principal(r, data: dict | None) -> Principal | None:
    """The user a session belongs to, re-read from Redis (a deleted or changed user takes
    effect at once)."""
    if not data or not data.get("user"):
        return None
    record = get_user(r, data["user"])
    return user_principal(record) if record else None
