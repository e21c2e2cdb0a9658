"""Login limits: failed logins are counted per account and per client-address hash for
15 minutes; at ``ACCOUNTS_LOGIN_MAX_ATTEMPTS`` further attempts are refused before any password check.
Addresses and accounts are stored only as keyed hashes."""

from __future__ import annotations

import hashlib

from ..storage import fanout, keyspace

LOGIN_WINDOW_SECONDS = 15 * 60


def _digest(value: str, secret: str = "") -> str:
    return hashlib.sha256(f"{secret}|{value}".encode()).hexdigest()[:32]


def login_blocked(r, email: str, address: str, secret: str, max_attempts: int) -> bool:
    """True when this account or this client address has used up its failed attempts."""
    counts = fanout.run(r, [
        fanout.command("GET", keyspace.login_attempts("acct", _digest(email.lower(), secret))),
        fanout.command("GET", keyspace.login_attempts("addr", _digest(address, secret)))])
    return any(int(v or 0) >= max_attempts for v in counts)


def record_login_failure(r, email: str, address: str, secret: str) -> None:
    calls = []
    for kind, value in (("acct", email.lower()), ("addr", address)):
        key = keyspace.login_attempts(kind, _digest(value, secret))
        # the window starts at the 1st failure; INCR keeps the TTL (one key: one master, in order)
        calls += [fanout.command("SET", key, 0, "EX", LOGIN_WINDOW_SECONDS, "NX"),
                  fanout.command("INCR", key)]
    fanout.run(r, calls)


def record_login_success(r, email: str, secret: str) -> None:
    """Clear the account's failure count (the address count stays: one good account must not
    reset an address that is guessing other accounts)."""
    r.delete(keyspace.login_attempts("acct", _digest(email.lower(), secret)))


def attempt_login(r, email: str, password: str, address: str, secret: str,
                  max_attempts: int) -> tuple[str, dict | None]:
    """One login attempt, limits included: ("blocked", None) when the account or the address has
    used up its failed attempts (no password check then), ("bad", None) for a wrong e-mail or
    password (counted), ("ok", user record) otherwise (the account's count cleared, the login
    time noted)."""
    from .users import note_login, verify_password

    if login_blocked(r, email, address, secret, max_attempts):
        return "blocked", None
    record = verify_password(r, email, password)
    if record is None:
        record_login_failure(r, email, address, secret)
        return "bad", None
    record_login_success(r, record["email"], secret)
    note_login(r, record["email"])
    return "ok", record
