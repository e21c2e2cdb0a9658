"""Dashboard users: e-mail, argon2id password hash, role and sites. Plain functions over a Redis
client (no Flask): the web layer, the CLI and the tests call them.

A user is the HASH ``keyspace.user(email)``; ``keyspace.users()`` lists them. Passwords are
hashed with argon2id (argon2-cffi); a login for an unknown address costs the same time.
"""

from __future__ import annotations

import json
import re
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import ApiError
from ..storage import fanout, keyspace
from .principals import Principal, check_role, check_sites, parse_sites, sites_field

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\Z")

_hasher = PasswordHasher()
# Verified against when the account does not exist, so that the answer takes as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise ApiError("bad_email", "Give a valid e-mail address.")
    return email


def create_user(r, email: str, password: str, role: str = "viewer", sites=None,
                known_sites=None, replace: bool = False) -> dict:
    """Create (or with ``replace`` overwrite) a user. Returns the stored record (no hash)."""
    email = normalize_email(email)
    check_role(role)
    check_sites(sites, known_sites)
    if len(password or "") < 8:
        raise ApiError("weak_password", "The password needs at least 8 characters.")
    if not replace and r.exists(keyspace.user(email)):
        raise ApiError("user_exists", f"A user {email} already exists.", 409)
    record = {
        "email": email,
        "password": _hasher.hash(password),
        "role": role,
        "sites": sites_field(sites),
        "created": str(int(time.time())),
        "last_login": "",
    }
    # The index first: on a cluster the user and the index may live on two masters, and a
    # failure in between must leave at most a listed address without a record (listed as
    # nothing, created again by a retry), never a user that cannot be listed or deleted.
    r.sadd(keyspace.users(), email)
    flat = [item for pair in record.items() for item in pair]
    fanout.run(r, [fanout.command("DEL", keyspace.user(email)),
                   fanout.command("HSET", keyspace.user(email), *flat)])
    return public_user(record)


def public_user(record: dict) -> dict:
    return {
        "email": record["email"],
        "role": record["role"],
        "sites": sorted(parse_sites(record.get("sites")) or []) or None,
        "created": int(record.get("created") or 0),
        "last_login": int(record["last_login"]) if record.get("last_login") else None,
    }


def get_user(r, email: str) -> dict | None:
    record = r.hgetall(keyspace.user((email or "").strip().lower()))
    return record or None


def list_users(r) -> list[dict]:
    emails = sorted(r.smembers(keyspace.users()))
    replies = fanout.run(r, [fanout.command("HGETALL", keyspace.user(e)) for e in emails])
    return [public_user(rec) for rec in replies if rec.get("email")]


def delete_user(r, email: str) -> bool:
    """Delete a user and end every session they hold. True when the user existed."""
    email = (email or "").strip().lower()
    existed = r.delete(keyspace.user(email))  # the record first (see create_user)
    r.srem(keyspace.users(), email)
    if existed:
        # Sessions are keyed by a hash of their id; find this user's by scanning (rare: admin act).
        for key in r.scan_iter(match=keyspace.session("*"), count=500):
            raw = r.get(key)
            if raw and json.loads(raw).get("user") == email:
                r.delete(key)
    return bool(existed)


def set_password(r, email: str, password: str) -> None:
    if len(password or "") < 8:
        raise ApiError("weak_password", "The password needs at least 8 characters.")
    r.hset(keyspace.user(email.lower()), "password", _hasher.hash(password))


def user_principal(record: dict) -> Principal:
    return Principal(record["role"], parse_sites(record.get("sites")), record["email"], "user")


def verify_password(r, email: str, password: str) -> dict | None:
    """The user record when ``password`` is right, else None (same cost either way)."""
    record = get_user(r, email) if email else None
    stored = record.get("password") if record else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if record is None:
        return None
    if _hasher.check_needs_rehash(stored):
        r.hset(keyspace.user(record["email"]), "password", _hasher.hash(password))
    return record


def note_login(r, email: str) -> None:
    """Record the time of a successful login."""
    r.hset(keyspace.user(email.lower()), "last_login", str(int(time.time())))
