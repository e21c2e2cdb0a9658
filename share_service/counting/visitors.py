"""Visitor hashes: who did something, without ever storing who.

visitor = BLAKE2b-128 keyed with the day's salt, over ``site \\0 IP \\0 user agent``.

The salt is 32 random bytes per *site-local day label* (``YYYYMMDD``), created once with
``SET NX`` in Redis (``keyspace.daily_salt``) so every worker and every instance of the service
agrees on it, and cached per process. It expires at 00:00 UTC two days after the start of its
label day (about 2 days after it is first used in Europe; long enough for a site in any time zone
to finish its day). Once it is gone, yesterday's hashes can no longer be linked to an IP and
user agent, even by someone holding the database. Raw IPs and user agents are never written to
Redis; they only live in a worker's memory until its next flush when the salt is not cached yet.

Consequence: a visitor's hash changes at local midnight, so "unique sharers" are per day and
the dedupe window does not bridge midnight.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, date, datetime, timedelta

from ..storage import fanout, keyspace


def salt_expiry(label: str) -> int:
    """Unix time at which the salt of day ``label`` expires: 00:00 UTC of label + 2 days."""
    day = date(int(label[:4]), int(label[4:6]), int(label[6:8])) + timedelta(days=2)
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def visitor_hash(salt: bytes, site: str, ip: str, user_agent: str) -> str:
    data = f"{site}\0{ip}\0{user_agent}".encode("utf-8", "surrogateescape")
    return hashlib.blake2b(data, key=salt, digest_size=16).hexdigest()


class SaltCache:
    """Per-process cache of the daily salts (never stored anywhere but Redis and here)."""

    def __init__(self):
        self._salts: dict[str, bytes] = {}

    def get(self, label: str) -> bytes | None:
        return self._salts.get(label)

    def fetch(self, client, label: str) -> bytes:
        """The salt of ``label`` from Redis (created if missing); raises on Redis errors."""
        salt = self._salts.get(label)
        if salt is not None:
            return salt
        key = keyspace.daily_salt(label)
        candidate = secrets.token_hex(32)
        # a day already past its expiry (a late flush, a back-dated event) gets a short-lived salt
        expiry = max(salt_expiry(label), int(time.time()) + 600)
        _created, value = fanout.run(client, [
            fanout.command("SET", key, candidate, "NX", "EXAT", expiry),
            fanout.command("GET", key)])
        salt = bytes.fromhex(value)
        self._salts[label] = salt
        if len(self._salts) > 4:  # keep the few recent days only
            for old in sorted(self._salts)[:-4]:
                del self._salts[old]
        return salt

    def clear(self) -> None:
        self._salts.clear()
