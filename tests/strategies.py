"""Hypothesis strategies for the property tests: request parameters that mix what a real
publisher sends (article URLs of the test site's allowed hosts, real network ids, real languages)
with what an attacker or a broken client sends (markup markers, control characters, CRLF, null
bytes, percent-encoding tricks, invalid UTF-8, javascript:/data: URLs, huge values, repeated
parameters).

A *marker* is a string that must never come back unescaped: the property checks
(``properties.py``) look for :data:`DANGEROUS` in every body that is not JSON and in every header.
"""

from __future__ import annotations

from urllib.parse import quote

from conftest import TEST_HOSTS
from hypothesis import strategies as st

from share_service.sharing import i18n, networks

# --- markers --------------------------------------------------------------------------------
MARKERS = (
    "<script>x</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    "</textarea><script>x</script>",
    '" autofocus onfocus="alert(1)',
)
# What a response must never contain raw: the active part of each marker. (The service's own
# pages contain "<script src=...", never "<script>x".)
DANGEROUS = ("<script>x", "<img src=x", "<svg/onload", 'autofocus onfocus="alert')

# --- plain text -----------------------------------------------------------------------------
CONTROL = st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=5)
UNICODE_TRICKS = st.sampled_from([
    "\u202eevil", "\u200b", "\ufeff", "e\u0301", "\U0001F600", "ǅ", "ß", "İ", "\u2028", "\u2029",
    "\uff1cscript\uff1e", "ａｂｃ", "٣", "²", "１", "\u00a0", "L’été « réformes »",
])
HOSTILE_SNIPPETS = st.sampled_from([
    "\r\nSet-Cookie: stolen=1", "\r\nLocation: https://evil.example/", "\x00", "%00", "%0d%0a",
    "%", "%zz", "%E9", "%C3", "%uFFFD", "+", "&", "=", ";", "#", "?", "\\", "//evil.example",
    "../../etc/passwd", "{{7*7}}", "${7*7}", "\"", "'", "`", "<", ">", "javascript:alert(1)",
    "data:text/html,<script>x</script>", "NaN", "-1", "1e309", "0x10", " ", "",
])


@st.composite
def huge(draw, alphabet="xé<", min_size=2049, max_size=20000):
    """A long value (built by repetition: cheaper than drawing every character)."""
    n = draw(st.integers(min_size, max_size))
    return (draw(st.sampled_from(list(alphabet))) * n)[:n]


def hostile_text(max_size: int = 60) -> st.SearchStrategy[str]:
    """Any string a client may send as a parameter value."""
    base = st.one_of(
        st.text(max_size=max_size),
        st.sampled_from(MARKERS),
        CONTROL,
        UNICODE_TRICKS,
        HOSTILE_SNIPPETS,
    )
    return st.one_of(
        base,
        st.lists(base, min_size=2, max_size=4).map("".join),  # combinations
        huge(),
    )


def text_param(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A parameter value: mostly valid ones, often hostile ones."""
    return st.one_of(valid, hostile_text())


NUMBERS = st.one_of(
    st.integers(-10, 2000).map(str),
    st.sampled_from(["²", "٣", "１", "0", "00", "-0", "+5", " 5", "5 ", "5.0", "1e3", "0x10",
                     "9" * 40, "", "NaN", "inf"]),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=4),
)

# --- article URLs ---------------------------------------------------------------------------
PATH_CHARS = st.characters(codec="utf-8", exclude_categories=["Cs"])


@st.composite
def article_urls(draw) -> str:
    """A URL of an article on an allowed host of the test site (the service must accept it):
    any path, query (tracking parameters too) and fragment, percent-encoded or raw unicode."""
    scheme = draw(st.sampled_from(["https", "http", "HTTPS"]))
    host = draw(st.sampled_from(TEST_HOSTS))
    host = draw(st.sampled_from([host, host.upper(), host + "."]))
    port = draw(st.sampled_from(["", "", ":443", ":8080"]))
    segments = draw(st.lists(st.text(PATH_CHARS, max_size=12), max_size=4))
    raw = draw(st.booleans())
    path = "/" + "/".join(s if raw and all(c.isalnum() for c in s) else quote(s, safe="")
                          for s in segments)
    params = draw(st.lists(st.tuples(
        st.sampled_from(["page", "id", "utm_source", "utm_campaign", "fbclid", "q", "a"]),
        st.text(PATH_CHARS, max_size=8)), max_size=3))
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    fragment = draw(st.sampled_from(["", "#top", "#%C3%A9"]))
    return f"{scheme}://{host}{port}{path}" + (f"?{query}" if query else "") + fragment


HOSTILE_URLS = st.sampled_from([
    "javascript:alert(1)", "JaVaScRiPt:alert(document.domain)//https://www.lequotidien.example/",
    "javascript://www.lequotidien.example/%0Aalert(1)", "data:text/html;base64,PHNjcmlwdD4=",
    "vbscript:msgbox(1)", "file:///etc/passwd", "ftp://www.lequotidien.example/a",
    "//www.lequotidien.example/a", "www.lequotidien.example/a", "https:/www.lequotidien.example/",
    "https://evil.example/", "https://www.lequotidien.example.evil.example/",
    "https://www.lequotidien.example@evil.example/", "https://user:pw@www.lequotidien.example/",
    "https://www.lequotidien.example\\@evil.example/", "https://evil.example\\.lequotidien.example/",
    "https://www.lequotidien.example%2F@evil.example/", "https://www.lequotidi\u0435n.example/",
    "http://169.254.169.254/latest/meta-data/", "http://127.0.0.2/", "http://[::1]/",
    "http://0x7f.1/", "http://2130706433/", "https://www.lequotidien.example:99999/",
    "https://www.lequotidien.example:-1/", "https://[www.lequotidien.example/",
    "https://www.lequotidien.example/\r\nSet-Cookie: x=1", "https://www.lequotidien.example/\x00",
    "https://www.lequotidien.example/a b", "https://", "https://:80/", "http://./",
    "https://www.lequotidien.example/" + "a" * 2100,
])


@st.composite
def tampered_urls(draw) -> str:
    """A valid article URL with something hostile spliced in somewhere."""
    url = draw(article_urls())
    cut = draw(st.integers(0, len(url)))
    return url[:cut] + draw(hostile_text(20)) + url[cut:]


URLS = st.one_of(article_urls(), HOSTILE_URLS, tampered_urls(), hostile_text())
IMAGE_URLS = st.one_of(
    st.just("https://www.lequotidien.example/img/une.jpg"),
    st.just("https://cdn.example/i.png?w=1200&h=630"), HOSTILE_URLS, hostile_text())

# --- identifiers ----------------------------------------------------------------------------
NETWORK_IDS = sorted({n.id for n in networks.all_networks()}
                     | {a for n in networks.all_networks() for a in n.aliases})
NETWORKS = st.one_of(
    st.sampled_from(NETWORK_IDS),
    st.sampled_from(NETWORK_IDS).map(str.upper),
    st.sampled_from(NETWORK_IDS).map(lambda n: f" {n}\t"),
    st.sampled_from(["myspace", "mastodon.social", "FaceBook", "facebook\x00", "..", "%2e%2e",
                     "copy", "qr", "native", "more_content"]),
    hostile_text(30),
)
NETWORK_LISTS = st.one_of(
    st.lists(st.sampled_from(NETWORK_IDS), max_size=6).map(",".join),
    st.lists(NETWORKS, max_size=4).map(",".join),
    hostile_text(),
)
LANGS = text_param(st.sampled_from([*i18n.LANGUAGES, "fr-FR", "en_GB", "EN", "pt-BR", "zz", ""]))
SITES = text_param(st.sampled_from(["default", "", "nope"]))
DATES = text_param(st.one_of(
    st.dates().map(str),
    st.sampled_from(["2026-02-29", "2024-02-29", "2026-13-01", "2026-00-10", "1999-12-31",
                     "2101-01-01", "2026-1-1", "٢٠٢٦-٠١-٠١", "2026-01-01\n", "20260101"]),
))
COLOURS = text_param(st.one_of(
    st.from_regex(r"\A#[0-9A-Fa-f]{6}\Z"), st.from_regex(r"\A#[0-9A-Fa-f]{3}\Z"),
    st.sampled_from(["#000", "#fff", "000000", "red", "#12345", "#ggg", "%23000000"])))

# --- query strings --------------------------------------------------------------------------
# How a value is written into the query string: properly percent-encoded (what browsers do), or
# raw with what percent-encoding cannot express cleanly (a stray '%', invalid UTF-8 escapes).
RAW_TAILS = st.sampled_from(["", "", "", "%", "%zz", "%FF", "%C3", "%00", "%0D%0A", "+", "&&",
                             "=", ";x=1"])


@st.composite
def query_strings(draw, params: dict[str, st.SearchStrategy[str]]) -> str:
    """An ASCII query string naming some of ``params`` (each with its strategy), maybe twice
    (repeated parameters), maybe with unknown names and raw percent-encoding tricks."""
    names = list(params)
    chosen = draw(st.lists(st.sampled_from(names), max_size=len(names) + 2)) if names else []
    pairs = [(name, draw(params[name])) for name in chosen]
    if draw(st.integers(0, 9)) == 0:
        pairs.append((draw(hostile_text(10)), draw(hostile_text(20))))
    parts = [f"{quote(k, safe='')}={quote(v, safe='')}{draw(RAW_TAILS)}" for k, v in pairs]
    return "&".join(parts)


def required_first(name: str, strategy: st.SearchStrategy[str],
                   params: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    """Query strings that usually carry ``name`` first (so the interesting parameters are
    reached past the article check), sometimes not at all."""
    return st.one_of(
        st.builds(lambda v, rest: f"{name}={quote(v, safe='')}" + (f"&{rest}" if rest else ""),
                  strategy, query_strings(params)),
        query_strings({name: strategy, **params}),
    )


# --- headers ---------------------------------------------------------------------------------
# Header values the test client can send (latin-1, no line breaks: werkzeug refuses those
# before the app sees them).
HEADER_VALUES = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
            max_size=80),
    st.sampled_from(MARKERS),
    st.sampled_from(['"abc"', "*", 'W/"x"', "gzip", "br;q=1, gzip;q=0", "identity;q=0", "text/html"]),
)
HOSTS = st.one_of(
    st.sampled_from(["localhost", "share.lequotidien.example", "127.0.0.1:8000", "[::1]:80",
                     "evil.example", 'evil"><img src=x onerror=alert(1)>', "a b", "", "x:notaport",
                     "<script>x</script>", "xn--e1afmkfd.example"]),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40),
)

# --- JSON bodies ------------------------------------------------------------------------------
# JSON can carry what a query string cannot: lone surrogates ("\\ud800"), NaN and Infinity.
LONE_SURROGATES = st.characters(categories=["Cs"])


@st.composite
def with_surrogate(draw, strategy):
    value = draw(strategy)
    if not isinstance(value, str):
        return value
    cut = draw(st.integers(0, len(value)))
    return value[:cut] + draw(LONE_SURROGATES) + value[cut:]


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                         hostile_text(30), with_surrogate(st.text(max_size=5)))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


# Nesting deep enough to exhaust a recursive parser, yet within MAX_CONTENT_LENGTH (64 KiB).
DEEP_JSON = st.integers(900, 30000).flatmap(lambda n: st.sampled_from([
    "[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, '{"events": ' + "[" * n, "[" * n]))


def maybe(strategy) -> st.SearchStrategy:
    """``strategy``, or another JSON value in its place (wrong types), or its value with a lone
    surrogate spliced in."""
    return st.one_of(strategy, strategy, strategy, JSON_VALUES, with_surrogate(strategy))
