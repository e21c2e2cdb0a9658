"""Article URLs: validation, allowed hosts, canonical form and UTM tagging. No Flask here.

Canonical form (one article = one counter):
  * scheme and host lower-cased, internationalized host names in IDNA (punycode) form,
    a trailing dot on the host removed;
  * default ports dropped (``:80`` for http, ``:443`` for https);
  * an empty path becomes ``/``; ``.`` and ``..`` segments resolved; percent-escapes normalized
    (escapes of unreserved characters decoded, hex digits upper-cased, escapes of reserved
    characters such as ``%2F`` kept; characters not allowed in a URL, non-ASCII ones included,
    percent-encoded as UTF-8; a stray ``%`` becomes ``%25``);
  * the fragment dropped;
  * tracking parameters dropped (``utm_*``, ``fbclid``, ``gclid`` and the others in
    :data:`TRACKING_PARAMS`); the remaining parameters kept, sorted by name (stable for equal
    names), blank values kept.
The scheme is kept: ``http://`` and ``https://`` addresses of one page are two articles unless
the publisher's pages say otherwise (the catalogue's ``<link rel=canonical>`` does).

The *clean* URL (what is shared, :func:`strip_tracking`) stays as the publisher wrote it: same
parameter order and spelling, same fragment, only tracking parameters removed, scheme and host
normalized as above, and characters that are not allowed in a URL percent-encoded.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode, urlsplit, urlunsplit

from ..errors import ApiError

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "ttclid", "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc",
        "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "vero_id",
        "wickedid", "ref_src", "ref_url", "srsltid", "xtor", "at_medium", "at_campaign",
    }
)
DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 unreserved characters plus the sub-delims and ':' '@' '/' legal in a path.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
# ... and in a query or a fragment, '?' too.
_QUERY_SAFE = _PATH_SAFE + "?"
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE_OR_RUN = re.compile(r"%[0-9A-Fa-f]{2}|%|[^%]+")


def is_tracking_param(name: str) -> bool:
    low = name.lower()
    return low.startswith("utm_") or low in TRACKING_PARAMS


def _host(parts) -> str:
    host = (parts.hostname or "").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host.lower()
    except UnicodeError as exc:
        raise ApiError("invalid_url", "The URL's host name is not valid.") from exc
    return host.lower()


def validate(raw: str | None, max_length: int = 2048):
    """Check an article URL given by a client; return its ``SplitResult`` or raise ApiError."""
    if raw is None or not raw.strip():
        raise ApiError("missing_url", "The 'url' parameter is required.")
    raw = raw.strip()
    if len(raw) > max_length:
        raise ApiError("url_too_long", f"The URL is longer than {max_length} characters.")
    if any(ord(c) < 0x20 or c in "\x7f\\" for c in raw) or " " in raw:
        raise ApiError("invalid_url", "The URL contains spaces, backslashes or control characters.")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ApiError("invalid_url", "The URL cannot be parsed.") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise ApiError("invalid_url", "Only http:// and https:// URLs can be shared.")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise ApiError("invalid_url", "The URL needs a host name and must not carry credentials.")
    del port
    return parts


def check_host(parts, site) -> None:
    """Refuse URLs whose host the site does not own."""
    if not site.allows_host(_host(parts)):
        raise ApiError(
            "host_not_allowed",
            "This URL's host is not allowed for this site.",
            status=400,
        )


def _netloc(parts, scheme: str) -> str:
    host = _host(parts)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        return f"{host}:{port}"
    return host


def _normalize_escapes(text: str, safe: str) -> str:
    """RFC 3986 6.2.2.2: escapes upper-cased, escapes of unreserved characters decoded, others
    kept (``%2F`` stays ``%2F``); characters not allowed here encoded (UTF-8); a stray ``%`` ->
    ``%25``. Never decodes bytes, so invalid UTF-8 escapes cannot raise."""

    def one(match: re.Match) -> str:
        token = match.group(0)
        if token == "%":
            return "%25"
        if token[0] == "%":
            char = chr(int(token[1:], 16))
            return char if char in _UNRESERVED else token.upper()
        return quote(token, safe=safe)

    return _ESCAPE_OR_RUN.sub(one, text)


_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _encode_unsafe(text: str, safe: str) -> str:
    """Percent-encode what may not appear in a URL (a stray ``%`` too), leaving existing escapes
    as they are."""
    return _STRAY_PERCENT.sub("%25", quote(text, safe=safe + "%"))


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4 for an absolute path."""
    output: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments[1:], start=1):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _norm_path(path: str) -> str:
    if not path:
        return "/"
    return _remove_dot_segments(_normalize_escapes(path, _PATH_SAFE))


def _clean_query(query: str, sort: bool) -> list[tuple[str, str]]:
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not is_tracking_param(k)]
    if sort:
        pairs.sort(key=lambda kv: kv[0])
    return pairs


def _kept_segments(query: str) -> list[str]:
    """The query's ``name=value`` segments as written, minus tracking parameters and empty ones."""
    return [
        segment
        for segment in query.split("&")
        if segment and not is_tracking_param(unquote_plus(segment.split("=", 1)[0]))
    ]


@lru_cache(maxsize=8192)
def canonical(raw: str) -> str:
    """Canonical form of an already validated URL (see the module docstring)."""
    parts = urlsplit(raw.strip())
    scheme = parts.scheme.lower()
    query = urlencode(_clean_query(parts.query, sort=True), quote_via=quote, safe="")
    return urlunsplit((scheme, _netloc(parts, scheme), _norm_path(parts.path), query, ""))


def lookalikes(canonical_url: str) -> list[str]:
    """Other canonical URLs under which a publisher's own pages commonly name the same article:
    the other scheme (http / https), the host with or without ``www.``, the path with or without
    a trailing slash; most alike first, the URL itself left out. Only for finding an article's
    title in the catalogue: counters are never merged across these (see the module docstring)."""
    parts = urlsplit(canonical_url)
    schemes = [parts.scheme, *(s for s in ("https", "http") if s != parts.scheme)]
    host = parts.netloc
    hosts = [host, host[4:] if host.startswith("www.") else "www." + host]
    paths = [parts.path]
    if parts.path not in ("", "/"):
        paths.append(parts.path[:-1] if parts.path.endswith("/") else parts.path + "/")
    found = []
    for scheme in schemes:
        for netloc in hosts:
            for path in paths:
                url = urlunsplit((scheme, netloc, path, parts.query, ""))
                if url != canonical_url and url not in found:
                    found.append(url)
    return found


@lru_cache(maxsize=8192)
def strip_tracking(raw: str) -> str:
    """The URL as the publisher gave it, minus tracking parameters: the other parameters kept as
    written and in their order, the fragment kept (see the module docstring)."""
    parts = urlsplit(raw.strip())
    scheme = parts.scheme.lower()
    query = "&".join(_kept_segments(_encode_unsafe(parts.query, _QUERY_SAFE)))
    return urlunsplit((
        scheme,
        _netloc(parts, scheme),
        _encode_unsafe(parts.path, _PATH_SAFE) or "/",
        query,
        _encode_unsafe(parts.fragment, _QUERY_SAFE),
    ))


def utm_values(site, channel: str) -> dict[str, str]:
    """The UTM parameters a site adds for one channel (a network id, copy, qr, ...)."""
    if not site.utm.enabled:
        return {}
    values = {
        "utm_source": site.utm.source.replace("{network}", channel),
        "utm_medium": site.utm.medium.replace("{network}", channel),
        "utm_campaign": site.utm.campaign.replace("{network}", channel),
    }
    return {k: v for k, v in values.items() if v}


@lru_cache(maxsize=8192)
def _tag(raw: str, utm: tuple[tuple[str, str], ...]) -> str:
    parts = urlsplit(strip_tracking(raw))
    segments = [s for s in parts.query.split("&") if s]
    segments += [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in utm]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(segments), parts.fragment))


def tag(raw: str, site, channel: str) -> str:
    """The URL to share on ``channel``: tracking parameters replaced by the site's UTM tags,
    the article's own query (order kept) and fragment preserved, no parameter duplicated."""
    return _tag(raw, tuple(utm_values(site, channel).items()))


def article_from_request(raw: str | None, site, max_length: int = 2048) -> tuple[str, str]:
    """Validate a client's URL for ``site``; return (clean URL to share, canonical URL)."""
    parts = validate(raw, max_length)
    check_host(parts, site)
    return strip_tracking(raw), canonical(raw.strip())
