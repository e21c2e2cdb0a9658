"""API keys for the stats and catalogue APIs (``X-Api-Key``).

A key is ``ssk_`` + 43 random URL-safe characters (256 bits). Only the SHA-256 of the key is
stored (a fast hash is right for a random secret of that size); each key has a name, role,
sites, creation time, optional expiry, last-used time (written at most once a minute) and a
revoked flag. The key id (12 hex characters of the digest) names a key in lists and revocation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from ..errors import ApiError
from ..storage import fanout, keyspace
from .principals import Principal, check_role, check_sites, parse_sites, sites_field

KEY_PREFIX = "ssk_"
LAST_USED_GRANULARITY = 60  # seconds: last_used is rewritten at most this often per key
MAX_EXPIRY_DAYS = 36500


def _key_digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def create_api_key(r, name: str, role: str = "viewer", sites=None, expires_days: float | None = None,
                   known_sites=None) -> tuple[str, dict]:
    """Create a key. Returns (raw key — shown once, never stored — and its public record)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ApiError("bad_name", "Give the key a name of 1 to 100 characters.")
    check_role(role)
    check_sites(sites, known_sites)
    # "not (0 < x <= max)" also refuses NaN and infinity (float("inf"), "1e309" from a form)
    if expires_days is not None and not 0 < expires_days <= MAX_EXPIRY_DAYS:
        raise ApiError("bad_expiry", "The expiry must be a positive number of days, at most "
                                     f"{MAX_EXPIRY_DAYS}.")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    digest = _key_digest(raw)
    now = int(time.time())
    record = {
        "id": digest[:12],
        "name": name,
        "role": role,
        "sites": sites_field(sites),
        "created": str(now),
        "expires": str(int(now + expires_days * 86400)) if expires_days else "",
        "last_used": "",
        "revoked": "",
    }
    # The index first: a failure in between (a cluster master down) leaves at most an index
    # entry without a key, which lists and authenticates as nothing; the raw key is only ever
    # shown once both are written.
    r.hset(keyspace.api_keys(), record["id"], digest)
    r.hset(keyspace.api_key(digest), mapping=record)
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
        "sites": sorted(parse_sites(record.get("sites")) or []) or None,
        "created": num("created"),
        "expires": expires,
        "last_used": num("last_used"),
        "revoked": num("revoked"),
        "status": status,
    }


def list_api_keys(r) -> list[dict]:
    digests = r.hvals(keyspace.api_keys())
    replies = fanout.run(r, [fanout.command("HGETALL", keyspace.api_key(d)) for d in digests])
    records = [public_key(rec) for rec in replies if rec.get("id")]
    return sorted(records, key=lambda k: (k["created"] or 0, k["id"]))


def find_api_key(r, id_or_name: str) -> list[str]:
    """Digests of the keys whose id or name is ``id_or_name``."""
    index = r.hgetall(keyspace.api_keys())
    if id_or_name in index:
        return [index[id_or_name]]
    digests = list(index.values())
    names = fanout.run(r, [fanout.command("HGET", keyspace.api_key(d), "name") for d in digests])
    return [d for d, name in zip(digests, names, strict=True) if name == id_or_name]


def revoke_api_key(r, id_or_name: str) -> list[str]:
    """Revoke the key with this id (or every key with this name). Returns the revoked ids."""
    now = str(int(time.time()))
    revoked = []
    for digest in find_api_key(r, id_or_name):
        if not r.hget(keyspace.api_key(digest), "revoked"):  # the first revocation time stays
            r.hset(keyspace.api_key(digest), "revoked", now)
        revoked.append(digest[:12])
    return revoked


def authenticate_api_key(r, raw_key: str | None, now: float | None = None) -> Principal | None:
    """The principal of a valid (known, not revoked, not expired) key, else None. Notes the
    key's last use (at most once a minute, so a busy key costs one read per request)."""
    if not raw_key or not raw_key.startswith(KEY_PREFIX) or len(raw_key) > 200:
        return None
    digest = _key_digest(raw_key)
    record = r.hgetall(keyspace.api_key(digest))
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
        r.hset(keyspace.api_key(digest), "last_used", str(int(now)))
    return Principal(record["role"], parse_sites(record.get("sites")), record["name"], "key")
