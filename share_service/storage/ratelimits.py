"""Per-client rate limits of the hot paths (``app.extensions["ratelimits"]``).

Limits are written in Flask-Limiter's syntax ("120/minute", "10 per second",
"120/minute;2000/hour") and enforced by ``limits``, the library Flask-Limiter is built on (same
parser, same storages, same fixed-window strategy). Flask-Limiter itself is not wired: its
hooks run on every request of the app (about 8 µs each), its decorator costs 35-45 µs per
limited request and its ``memory://`` storage a timer thread walking every key every 10 ms
(measured: docs/operations.md), while the hot paths must stay within 0.8 of a bare endpoint.
The two views call :meth:`RateLimits.hit` themselves (about 3 µs), which is also how
Flask-Limiter lets a view decide (the redirect: over the limit, redirect but don't count).

Storage (RATELIMIT_STORAGE_URI):

* ``local://`` (default): :class:`LocalWindowStorage`, fixed-window counters in the worker's
  memory. The limit is shared out among the workers of the machine (:meth:`share_among`, called
  by gunicorn.conf.py): each allows ``ceil(limit / workers)``, so a client whose requests spread
  over the workers gets about the limit. No Redis round trip on the hot path.
* ``redis`` (the service's own Redis) or any URI of ``limits`` (``redis://``,
  ``redis+cluster://``, ``memory://``): one exact limit across every worker and machine, at the
  cost of a synchronous round trip per request. When that storage fails, requests are let
  through under the workers' local limits for FALLBACK_SECONDS, then it is tried again.

The client is the request's address (the socket peer, or what the trusted proxies say: ProxyFix,
TRUSTED_PROXIES); an IPv6 client is limited by its /64, the block a single subscriber gets. In a
shared storage the address is never written as such: the key holds a keyed hash of it (BLAKE2b
keyed with SECRET_KEY, the same on every machine of a deployment), so no raw IP is stored in
Redis, not even for a minute. The local counters keep the address in the worker's memory for
the length of the window, like the request itself.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from functools import lru_cache
from ipaddress import IPv6Network

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .. import metrics
from . import keyspace

log = logging.getLogger("share_service.ratelimits")

SCOPES = ("events", "redirect")
FALLBACK_SECONDS = 5.0
SWEEP_SECONDS = 10.0


class LocalWindowStorage(Storage):
    """Fixed-window counters in this process's memory, for the ``limits`` strategies.

    ``limits``' own ``memory://`` storage expires keys with a timer thread that walks every key
    each 10 ms: with 100,000 client addresses in a window that is about a third of a core per
    worker (measured). Here expired windows are swept once per SWEEP_SECONDS, inline, in one
    dict comprehension. Each entry is a tuple of two numbers, which the garbage collector stops
    tracking: hundreds of thousands of clients then cost the collector nothing (lists did:
    every full collection walked them all)."""

    STORAGE_SCHEME = ["local"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, window end: monotonic)
        self._lock = threading.Lock()
        self._next_sweep = time.monotonic() + SWEEP_SECONDS
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return ValueError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.monotonic()
        with self._lock:
            entry = self._counts.get(key)
            if entry is None or entry[1] <= now:
                if now >= self._next_sweep:
                    self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
                    self._next_sweep = now + SWEEP_SECONDS
                self._counts[key] = (amount, now + expiry)
                return amount
            count = entry[0] + amount
            self._counts[key] = (count, entry[1])
            return count

    def get(self, key: str) -> int:
        entry = self._counts.get(key)
        return entry[0] if entry is not None and entry[1] > time.monotonic() else 0

    def get_expiry(self, key: str) -> float:
        entry = self._counts.get(key)
        left = entry[1] - time.monotonic() if entry is not None else 0.0
        return time.time() + max(left, 0.0)

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            n, self._counts = len(self._counts), {}
        return n

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)

    def __len__(self) -> int:
        return len(self._counts)


@lru_cache(maxsize=4096)
def _ipv6_block(address: str) -> str:
    try:
        return str(IPv6Network(f"{address}/64", strict=False).network_address) + "/64"
    except ValueError:
        return address


def client_key(address: str | None) -> str:
    """The bucket of a client address: itself, or its /64 for IPv6."""
    if not address:
        return "-"
    return _ipv6_block(address) if ":" in address else address


def _scaled(item: RateLimitItem, share: int) -> RateLimitItem:
    """``item`` with its amount divided among ``share`` workers (rounded up, at least 1)."""
    if share <= 1:
        return item
    return type(item)(max(1, math.ceil(item.amount / share)), item.multiples, item.namespace)


def storage_uri(setting: str, redis_url: str) -> str:
    """RATELIMIT_STORAGE_URI as ``limits`` spells it ("redis": the service's own Redis)."""
    uri = (setting or "local://").strip()
    if uri == "redis":
        uri = redis_url
    if uri.startswith("unix://"):
        uri = "redis+unix://" + uri[len("unix://"):]
    return uri


class RateLimits:
    """The configured limits of each scope (``events``, ``redirect``) and their counters."""

    def __init__(self, settings: dict, redis_url: str = ""):
        self.enabled = bool(settings["RATELIMIT_ENABLED"])
        self.uri = storage_uri(settings["RATELIMIT_STORAGE_URI"], redis_url)
        self.per_process = self.uri.startswith(("local:", "memory:"))
        self.timeout = float(settings["REDIS_SOCKET_TIMEOUT"])
        self._hash_key = hashlib.sha256(
            ("ratelimit\0" + str(settings.get("SECRET_KEY") or "")).encode()).digest()
        self.configured: dict[str, list[RateLimitItem]] = {
            "events": parse_many(settings["RATELIMIT_EVENTS"]),
            "redirect": parse_many(settings["RATELIMIT_REDIRECTS"]),
        }
        self.workers = 1
        self.limits = dict(self.configured)       # what the chosen storage enforces
        self.local_limits = dict(self.configured)  # this worker's share (local fallback)
        self._local = FixedWindowRateLimiter(LocalWindowStorage())
        self._shared: FixedWindowRateLimiter | None = None
        self._fallback_until = 0.0
        self._failing = False
        if self.uri.startswith("local:"):
            self._shared = self._local
        elif self.uri.startswith("memory:"):
            self._shared = FixedWindowRateLimiter(storage_from_string(self.uri))
        self._plan()

    def _plan(self) -> None:
        """Per scope, what the per-process hot path does for each limit: the storage key around
        the client (the key ``limits`` itself builds: same counters, same window stats), the
        window and the amount; and the storage's own ``incr`` (``limits`` wraps it in an
        exception translator, useless for counters in memory)."""
        if self.per_process:
            storage = self._shared.storage
            incr = type(storage).incr
            self._incr = getattr(incr, "__wrapped__", incr).__get__(storage)
        self._fast = {
            scope: [(f"{item.namespace}/{scope}/",
                     f"/{item.amount}/{item.multiples}/{item.GRANULARITY.name}",
                     item.get_expiry(), item.amount) for item in items]
            for scope, items in self.limits.items()}

    def share_among(self, workers: int) -> None:
        """This worker is one of ``workers`` on the machine: with per-process counters each
        allows its share of the limits (a shared storage keeps them whole)."""
        self.workers = max(int(workers), 1)
        self.local_limits = {scope: [_scaled(i, self.workers) for i in items]
                             for scope, items in self.configured.items()}
        if self.per_process:
            self.limits = self.local_limits
        self._plan()

    def _strategy(self) -> tuple[FixedWindowRateLimiter, dict[str, list[RateLimitItem]]]:
        """The shared storage's strategy, or the local one while that storage is failing."""
        if self._fallback_until and time.monotonic() < self._fallback_until:
            return self._local, self.local_limits
        if self._shared is None:
            try:
                self._shared = FixedWindowRateLimiter(storage_from_string(
                    self.uri, key_prefix=keyspace.ratelimit_prefix(), wrap_exceptions=True,
                    socket_timeout=self.timeout, socket_connect_timeout=self.timeout))
            except Exception as exc:  # noqa: BLE001 - a storage that cannot even be built
                self._storage_failed(exc)
                return self._local, self.local_limits
        return self._shared, self.limits

    def _storage_failed(self, exc: BaseException) -> None:
        if not self._failing:
            self._failing = True
            log.warning("rate-limit storage %s unavailable (%s: %s): each worker applies its "
                        "share of the limits locally, trying it again every %g s",
                        self.uri.split("@")[-1], type(exc).__name__, exc, FALLBACK_SECONDS)
        self._fallback_until = time.monotonic() + FALLBACK_SECONDS
        metrics.REDIS_ERRORS.inc(type(exc).__name__)

    def hit(self, scope: str, address: str | None) -> bool:
        """Count one request of client ``address`` in ``scope``; False when it is over a limit."""
        if not self.enabled:
            return True
        key = client_key(address)
        if self.per_process:  # the hot path: counters in this process, nothing can fail
            incr = self._incr  # FixedWindowRateLimiter.hit without its detours
            for prefix, suffix, expiry, amount in self._fast[scope]:
                if incr(prefix + key + suffix, expiry) > amount:
                    metrics.RATE_LIMITED.inc(scope)
                    return False
            return True
        strategy, limits = self._strategy()
        if strategy is self._shared:
            key = self._pseudonym(key)
        try:
            for item in limits[scope]:
                if not strategy.hit(item, scope, key):
                    metrics.RATE_LIMITED.inc(scope)
                    return False
        except (StorageError, OSError) as exc:
            self._storage_failed(exc)
            return True
        if self._failing and strategy is self._shared:
            self._failing = False
            self._fallback_until = 0.0
            log.warning("rate-limit storage %s answers again", self.uri.split("@")[-1])
        return True

    def _pseudonym(self, key: str) -> str:
        """What a shared storage sees of a client: a keyed hash, never the address."""
        return hashlib.blake2b(key.encode(), key=self._hash_key, digest_size=12).hexdigest()

    def retry_after(self, scope: str, address: str | None) -> int:
        """Seconds until client ``address`` may send again in ``scope`` (at least 1)."""
        strategy, limits = (self._shared, self.limits) if self.per_process else self._strategy()
        key = client_key(address)
        if not self.per_process and strategy is self._shared:
            key = self._pseudonym(key)
        now = time.time()
        wait = 1.0
        try:
            for item in limits[scope]:
                stats = strategy.get_window_stats(item, scope, key)
                if stats.remaining <= 0:  # (a store's rounding never past the window)
                    wait = max(wait, min(stats.reset_time - now, item.get_expiry()))
        except (StorageError, OSError):
            return 1
        return math.ceil(wait)
