"""Access control: dashboard users, server-side sessions, API keys, roles and login limits.

Plain functions over a Redis client (no Flask): the web layer (``web/guards.py``,
``web/sessions.py``), the CLI and the tests call them.

Model
-----
- Roles: ``viewer`` reads the statistics of its sites; ``admin`` also manages users, API keys and
  site settings. A user or key with no sites covers every site (``sites is None``).
- Users: HASH ``keys.user(email)``; the password is hashed with argon2id (argon2-cffi).
- API keys: ``ssk_`` + 43 random URL-safe characters (256 bits). Only the SHA-256 of the key is
  stored (a fast hash is right for a random secret of that size); each key has a name, role,
  sites, creation time, optional expiry, last-used time (written at most once a minute) and a
  revoked flag. The key id (12 hex characters of the digest) names a key in lists and revocation.
- Sessions: the cookie holds a random id; Redis holds the session under the id's SHA-256, so a
  copy of the database gives no usable session. The id is replaced at login (no fixation) and
  the record deleted at logout.
- Login limits: failed logins are counted per account and per client-address hash for
  15 minutes; at ``LOGIN_MAX_ATTEMPTS`` further attempts are refused before any password check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import keys
from .errors import ApiError

ROLES = ("viewer", "admin")
KEY_PREFIX = "ssk_"
LOGIN_WINDOW_SECONDS = 15 * 60
LAST_USED_GRANULARITY = 60  # seconds: last_used is rewritten at most this often per key
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")

_hasher = PasswordHasher()
# Verified against when the account does not exist, so that the answer takes as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


# --- principals ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """Who is asking: a user (kind "user", name = e-mail) or an API key (kind "key")."""

    role: str
    sites: frozenset[str] | None  # None: every site
    name: str
    kind: str = "key"

    def can_read(self, site: str) -> bool:
        return self.role in ROLES and (self.sites is None or site in self.sites)

    def can_admin(self, site: str | None = None) -> bool:
        """Admin of ``site``; with no site: admin of every site (users and keys pages)."""
        if self.role != "admin":
            return False
        if site is None:
            return self.sites is None
        return self.sites is None or site in self.sites

    def readable(self, site_ids) -> list[str]:
        return [s for s in site_ids if self.can_read(s)]


def _sites_field(sites) -> str:
    return json.dumps(sorted(set(sites))) if sites else ""


def _parse_sites(raw: str | None) -> frozenset[str] | None:
    if not raw:
        return None
    return frozenset(json.loads(raw))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ApiError("bad_role", f"Role must be one of {', '.join(ROLES)}.")


def _check_sites(sites, known_sites) -> None:
    if known_sites is None:
        return
    for site in sites or ():
        if site not in known_sites:
            raise ApiError("unknown_site", f"No site is configured with id {site!r}.", 404)


# --- users --------------------------------------------------------------------------------------
def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise ApiError("bad_email", "Give a valid e-mail address.")
    return email


def create_user(r, email: str, password: str, role: str = "viewer", sites=None,
                known_sites=None, replace: bool = False) -> dict:
    """Create (or with ``replace`` overwrite) a user. Returns the stored record (no hash)."""
    email = normalize_email(email)
    _check_role(role)
    _check_sites(sites, known_sites)
    if len(password or "") < 8:
        raise ApiError("weak_password", "The password needs at least 8 characters.")
    if not replace and r.exists(keys.user(email)):
        raise ApiError("user_exists", f"A user {email} already exists.", 409)
    record = {
        "email": email,
        "password": _hasher.hash(password),
        "role": role,
        "sites": _sites_field(sites),
        "created": str(int(time.time())),
        "last_login": "",
    }
    pipe = r.pipeline()
    pipe.delete(keys.user(email))
    pipe.hset(keys.user(email), mapping=record)
    pipe.sadd(keys.users(), email)
    pipe.execute()
    return public_user(record)


def public_user(record: dict) -> dict:
    return {
        "email": record["email"],
        "role": record["role"],
        "sites": sorted(_parse_sites(record.get("sites")) or []) or None,
        "created": int(record.get("created") or 0),
        "last_login": int(record["last_login"]) if record.get("last_login") else None,
    }


def get_user(r, email: str) -> dict | None:
    record = r.hgetall(keys.user((email or "").strip().lower()))
    return record or None


def list_users(r) -> list[dict]:
    emails = sorted(r.smembers(keys.users()))
    pipe = r.pipeline()
    for email in emails:
        pipe.hgetall(keys.user(email))
    return [public_user(rec) for rec in pipe.execute() if rec]


def delete_user(r, email: str) -> bool:
    """Delete a user and end every session they hold. True when the user existed."""
    email = (email or "").strip().lower()
    pipe = r.pipeline()
    pipe.delete(keys.user(email))
    pipe.srem(keys.users(), email)
    existed, _ = pipe.execute()
    if existed:
        # Sessions are keyed by a hash of their id; find this user's by scanning (rare: admin act).
        for key in r.scan_iter(match=keys.session("*"), count=500):
            raw = r.get(key)
            if raw and json.loads(raw).get("user") == email:
                r.delete(key)
    return bool(existed)


def set_password(r, email: str, password: str) -> None:
    if len(password or "") < 8:
        raise ApiError("weak_password", "The password needs at least 8 characters.")
    r.hset(keys.user(email.lower()), "password", _hasher.hash(password))


def user_principal(record: dict) -> Principal:
    return Principal(record["role"], _parse_sites(record.get("sites")), record["email"], "user")


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
        r.hset(keys.user(record["email"]), "password", _hasher.hash(password))
    return record


# --- login rate limiting ------------------------------------------------------------------------
def _digest(value: str, secret: str = "") -> str:
    return hashlib.sha256(f"{secret}|{value}".encode()).hexdigest()[:32]


def login_blocked(r, email: str, address: str, secret: str, max_attempts: int) -> bool:
    """True when this account or this client address has used up its failed attempts."""
    pipe = r.pipeline()
    pipe.get(keys.login_attempts("acct", _digest(email.lower(), secret)))
    pipe.get(keys.login_attempts("addr", _digest(address, secret)))
    return any(int(v or 0) >= max_attempts for v in pipe.execute())


def record_login_failure(r, email: str, address: str, secret: str) -> None:
    pipe = r.pipeline()
    for kind, value in (("acct", email.lower()), ("addr", address)):
        key = keys.login_attempts(kind, _digest(value, secret))
        pipe.set(key, 0, ex=LOGIN_WINDOW_SECONDS, nx=True)  # the window starts at the 1st failure
        pipe.incr(key)  # INCR keeps the TTL
    pipe.execute()


def record_login_success(r, email: str, secret: str) -> None:
    """Clear the account's failure count (the address count stays: one good account must not
    reset an address that is guessing other accounts) and note the login time."""
    pipe = r.pipeline()
    pipe.delete(keys.login_attempts("acct", _digest(email.lower(), secret)))
    pipe.hset(keys.user(email.lower()), "last_login", str(int(time.time())))
    pipe.execute()


# --- sessions -----------------------------------------------------------------------------------
def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def _sid_key(sid: str) -> str:
    return keys.session(hashlib.sha256(sid.encode()).hexdigest())


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


# --- API keys -----------------------------------------------------------------------------------
def _key_digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def create_api_key(r, name: str, role: str = "viewer", sites=None, expires_days: float | None = None,
                   known_sites=None) -> tuple[str, dict]:
    """Create a key. Returns (raw key — shown once, never stored — and its public record)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ApiError("bad_name", "Give the key a name of 1 to 100 characters.")
    _check_role(role)
    _check_sites(sites, known_sites)
    if expires_days is not None and expires_days <= 0:
        raise ApiError("bad_expiry", "The expiry must be a positive number of days.")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    digest = _key_digest(raw)
    now = int(time.time())
    record = {
        "id": digest[:12],
        "name": name,
        "role": role,
        "sites": _sites_field(sites),
        "created": str(now),
        "expires": str(int(now + expires_days * 86400)) if expires_days else "",
        "last_used": "",
        "revoked": "",
    }
    pipe = r.pipeline()
    pipe.hset(keys.api_key(digest), mapping=record)
    pipe.hset(keys.api_keys(), record["id"], digest)
    pipe.execute()
    return raw, public_key(record)


def public_key(record: dict) -> dict:
    def num(field):
        return int(record[field]) if record.get(field) else None

    now = time.time()
    expires = num("expires")
    status = "active"
    if record.get("revoked"):
        status = "revoked"
    elif expires is not None and expires <= now:
        status = "expired"
    return {
        "id": record["id"],
        "name": record["name"],
        "role": record["role"],
        "sites": sorted(_parse_sites(record.get("sites")) or []) or None,
        "created": num("created"),
        "expires": expires,
        "last_used": num("last_used"),
        "revoked": num("revoked"),
        "status": status,
    }


def list_api_keys(r) -> list[dict]:
    digests = r.hvals(keys.api_keys())
    pipe = r.pipeline()
    for digest in digests:
        pipe.hgetall(keys.api_key(digest))
    records = [public_key(rec) for rec in pipe.execute() if rec]
    return sorted(records, key=lambda k: (k["created"] or 0, k["id"]))


def find_api_key(r, id_or_name: str) -> list[str]:
    """Digests of the keys whose id or name is ``id_or_name``."""
    index = r.hgetall(keys.api_keys())
    if id_or_name in index:
        return [index[id_or_name]]
    pipe = r.pipeline()
    digests = list(index.values())
    for digest in digests:
        pipe.hget(keys.api_key(digest), "name")
    return [d for d, name in zip(digests, pipe.execute(), strict=True) if name == id_or_name]


def revoke_api_key(r, id_or_name: str) -> list[str]:
    """Revoke the key with this id (or every key with this name). Returns the revoked ids."""
    now = str(int(time.time()))
    revoked = []
    for digest in find_api_key(r, id_or_name):
        if not r.hget(keys.api_key(digest), "revoked"):  # the first revocation time stays
            r.hset(keys.api_key(digest), "revoked", now)
        revoked.append(digest[:12])
    return revoked


def authenticate_api_key(r, raw_key: str | None, now: float | None = None) -> Principal | None:
    """The principal of a valid (known, not revoked, not expired) key, else None. Notes the
    key's last use (at most once a minute, so a busy key costs one read per request)."""
    if not raw_key or not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
        return None
    digest = _key_digest(raw_key)
    record = r.hgetall(keys.api_key(digest))
    # The stored key is addressed by the digest itself; compare anyway in constant time.
    if not record or not hmac.compare_digest(record.get("id", ""), digest[:12]):
        return None
    now = time.time() if now is None else now
    if record.get("revoked"):
        return None
    if record.get("expires") and int(record["expires"]) <= now:
        return None
    last = int(record["last_used"]) if record.get("last_used") else 0
    if now - last >= LAST_USED_GRANULARITY:
        r.hset(keys.api_key(digest), "last_used", str(int(now)))
    return Principal(record["role"], _parse_sites(record.get("sites")), record["name"], "key")
