"""The safe fetcher: the only way the service reads anything from the network. No Flask here.

It is a security boundary (server-side request forgery). Every request, and every redirect hop:

* only ``http``/``https`` URLs, without credentials, whose host is allowed for the site;
* the host name is resolved *here*, and every address it resolves to is checked: loopback,
  private (RFC 1918, ULA), link-local, multicast, reserved, unspecified, CGNAT (100.64/10),
  IPv4-mapped / 6to4 / Teredo / NAT64 addresses wrapping one of those are refused unless
  ``CATALOGUE_FETCH_ALLOW_PRIVATE`` is set (development and tests). Cloud metadata addresses
  (169.254.169.254, fd00:ec2::254, 100.100.100.200, 169.254.170.2) are refused *always*;
* the connection goes to the vetted address (the resolution is pinned for the connection, so a
  second DNS answer cannot swap in an internal address — no DNS-rebinding window), while the
  ``Host`` header and TLS SNI / certificate check keep the real host name;
* no proxy from the environment (a proxy would resolve names itself);
* redirects are followed by hand, at most ``CATALOGUE_FETCH_MAX_REDIRECTS``, each hop checked again;
* connect / read timeouts, plus a total deadline of three read timeouts for the whole body;
* the body is streamed and capped at ``CATALOGUE_FETCH_MAX_BYTES`` *after* content decoding (gzip bombs),
  and :func:`gunzip_bounded` applies the same cap to ``.gz`` files;
* a clear ``User-Agent``; conditional GET with ``If-None-Match`` / ``If-Modified-Since``.

Failures raise :class:`FetchError` with a short machine-readable ``reason``.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ReadTimeoutError

# Always refused, even with CATALOGUE_FETCH_ALLOW_PRIVATE: cloud instance-metadata endpoints.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
CHUNK = 16384

Resolver = Callable[[str, int], list[str]]


class FetchError(Exception):
    """A fetch refused or failed. ``reason``: host_not_allowed, bad_url, private_address,
    metadata_address, dns_error, too_many_redirects, too_large, timeout, http_error, network."""

    def __init__(self, reason: str, message: str, url: str = ""):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.url = url


@dataclass
class FetchResult:
    url: str                      # final URL after redirects
    status: int                   # 200 or 304
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)   # lower-cased names

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str:
        return self.headers.get("etag", "")

    @property
    def last_modified(self) -> str:
        return self.headers.get("last-modified", "")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the OS resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address wraps (mapped, 6to4, Teredo, NAT64)."""
    out = []
    if ip.ipv4_mapped:
        out.append(ip.ipv4_mapped)
    if ip.sixtofour:
        out.append(ip.sixtofour)
    if ip.teredo:
        out.extend(ip.teredo)
    if ip in NAT64:
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


def address_refusal(address: str, allow_private: bool = False) -> str | None:
    """Why the fetcher must not connect to ``address`` (a reason code), or None when it may."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "bad_address"
    candidates = [ip]
    if ip.version == 6:
        candidates += _embedded_ipv4(ip)
    for one in candidates:
        if one in METADATA_ADDRESSES:
            return "metadata_address"
    if allow_private:
        return None
    for one in candidates:
        if (
            one.is_loopback or one.is_private or one.is_link_local or one.is_multicast
            or one.is_reserved or one.is_unspecified or not one.is_global
            or (one.version == 4 and one in CGNAT)
        ):
            return "private_address"
    return None


def gunzip_bounded(data: bytes, max_bytes: int) -> bytes:
    """Decompress a gzip file, refusing output larger than ``max_bytes`` (gzip bombs)."""
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decomp.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise FetchError("bad_gzip", f"invalid gzip data: {exc}") from exc
    if len(out) > max_bytes or decomp.unconsumed_tail:
        raise FetchError("too_large", f"decompressed body exceeds {max_bytes} bytes")
    return out


def _pinned_adapter(pins: dict[str, str], pool_size: int = 4) -> HTTPAdapter:
    """An adapter whose connections go to the address vetted for their host (``pins``): the
    host name stays in the Host header, SNI and certificate check, but DNS is never asked
    again. A host without a pin cannot be connected to at all (fail closed)."""

    def pinned_new_conn(conn):
        ip = pins.get(conn.host.lower().rstrip("."))
        if ip is None:
            raise FetchError("host_not_vetted", f"no vetted address for {conn.host}")
        # urllib3 has no public hook to connect to an address we vetted (not a new lookup)
        conn._dns_host = ip  # noqa: SLF001
        return conn._original_new_conn()  # noqa: SLF001

    class PinnedHTTPConnection(HTTPConnection):
        _original_new_conn = HTTPConnection._new_conn  # noqa: SLF001
        _new_conn = pinned_new_conn

    class PinnedHTTPSConnection(HTTPSConnection):
        _original_new_conn = HTTPSConnection._new_conn  # noqa: SLF001
        _new_conn = pinned_new_conn

    class PinnedHTTPPool(HTTPConnectionPool):
        ConnectionCls = PinnedHTTPConnection

    class PinnedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = PinnedHTTPSConnection

    class PinnedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {
                "http": PinnedHTTPPool, "https": PinnedHTTPSPool,
            }

    return PinnedAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)


class Fetcher:
    """Fetch URLs for one site under the rules of the module docstring.

    ``settings`` is the app's settings mapping (CATALOGUE_FETCH_* options). ``resolver`` can be injected
    (tests map a public-looking name to a private address with it)."""

    def __init__(self, site, settings, resolver: Resolver | None = None):
        self.site = site
        self.allow_private = bool(settings.get("CATALOGUE_FETCH_ALLOW_PRIVATE", False))
        self.timeout = (float(settings.get("CATALOGUE_FETCH_CONNECT_TIMEOUT", 3.0)),
                        float(settings.get("CATALOGUE_FETCH_READ_TIMEOUT", 10.0)))
        self.max_bytes = int(settings.get("CATALOGUE_FETCH_MAX_BYTES", 10 * 1024 * 1024))
        self.max_redirects = int(settings.get("CATALOGUE_FETCH_MAX_REDIRECTS", 5))
        self.user_agent = settings.get("CATALOGUE_FETCH_USER_AGENT") or "share_service-fetcher"
        self.resolver = resolver or system_resolver
        self._pins: dict[str, str] = {}
        self.session = requests.Session()
        self.session.trust_env = False          # never an environment proxy or .netrc
        adapter = _pinned_adapter(self._pins)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- checks --------------------------------------------------------------------------------
    def refusal(self, host: str, address: str) -> str | None:
        """Why ``address`` (one answer for ``host``) must not be connected to, or None."""
        return address_refusal(address, self.allow_private)

    def vet(self, url: str) -> str:
        """Check ``url`` (scheme, host allowed for the site, every resolved address) and pin
        the host to a vetted address. Returns the host name."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise FetchError("bad_url", "the URL cannot be parsed", url) from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("bad_url", "only http(s) URLs with a host can be fetched", url)
        if parts.username is not None or parts.password is not None:
            raise FetchError("bad_url", "URLs with credentials are not fetched", url)
        host = parts.hostname.lower().rstrip(".")
        if not self.site.allows_host(host):
            raise FetchError("host_not_allowed", f"host {host} is not allowed for site "
                             f"{self.site.id}", url)
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise FetchError("dns_error", f"cannot resolve {host}: {exc}", url) from exc
        if not addresses:
            raise FetchError("dns_error", f"{host} has no address", url)
        for address in addresses:   # every answer must be acceptable, not just the first
            reason = self.refusal(host, address)
            if reason:
                raise FetchError(reason, f"{host} resolves to a refused address ({address})", url)
        self._pins[host] = addresses[0]
        return host

    # -- fetching ------------------------------------------------------------------------------
    def get(self, url: str, etag: str = "", last_modified: str = "") -> FetchResult:
        """GET ``url`` safely; a conditional GET when ``etag`` / ``last_modified`` are given
        (a 304 answers ``FetchResult(status=304)``). Raises FetchError."""
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate",
                   "Accept": "application/rss+xml, application/atom+xml, application/xml, "
                             "text/xml, text/html;q=0.9, */*;q=0.5"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _hop in range(self.max_redirects + 1):
            self.vet(current)
            try:
                response = self.session.get(current, headers=headers, stream=True,
                                            allow_redirects=False, timeout=self.timeout)
            except FetchError:
                raise
            except requests.Timeout as exc:
                raise FetchError("timeout", f"timed out fetching {current}", current) from exc
            except requests.RequestException as exc:
                cause = exc
                while cause is not None and not isinstance(cause, FetchError):
                    cause = cause.__context__
                if isinstance(cause, FetchError):
                    raise cause from exc
                raise FetchError("network", f"{type(exc).__name__} fetching {current}",
                                 current) from exc
            with response:
                if response.status_code in REDIRECT_STATUSES:
                    location = response.headers.get("Location", "")
                    if not location:
                        raise FetchError("http_error", "redirect without Location", current)
                    current = urljoin(current, location)
                    continue
                result_headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status_code == 304:
                    return FetchResult(current, 304, b"", result_headers)
                if response.status_code != 200:
                    raise FetchError("http_error", f"HTTP {response.status_code}", current)
                body = self._read(response, current)
                return FetchResult(current, 200, body, result_headers)
        raise FetchError("too_many_redirects", f"more than {self.max_redirects} redirects", url)

    def _read(self, response, url: str) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes and \
                not response.headers.get("Content-Encoding"):
            raise FetchError("too_large", f"Content-Length {declared} exceeds "
                             f"{self.max_bytes} bytes", url)
        deadline = time.monotonic() + 3 * self.timeout[1]
        chunks, total = [], 0
        try:
            for chunk in response.iter_content(CHUNK):   # decoded (gzip/deflate) bytes
                total += len(chunk)
                if total > self.max_bytes:
                    raise FetchError("too_large", f"body exceeds {self.max_bytes} bytes", url)
                if time.monotonic() > deadline:
                    raise FetchError("timeout", "body took too long", url)
                chunks.append(chunk)
        except requests.RequestException as exc:
            # a read timeout while streaming arrives as ConnectionError(ReadTimeoutError)
            if isinstance(exc, requests.Timeout) or any(
                    isinstance(arg, ReadTimeoutError) for arg in exc.args):
                raise FetchError("timeout", f"timed out reading {url}", url) from exc
            raise FetchError("network", f"{type(exc).__name__} reading {url}", url) from exc
        return b"".join(chunks)
