"""Property-based tests (hypothesis) over every public endpoint's parameters, and over the
authenticated API with real keys: whatever a client sends — valid article URLs of the test site
and real network ids mixed with markup, control characters, CRLF, null bytes, percent-encoding
tricks, javascript:/data: URLs, huge and repeated parameters — the service answers without a
5xx, every refusal is the JSON error shape and writes nothing to Redis, nothing comes back
unescaped, and a tracked redirect only ever goes to the network's own share endpoint.

The properties themselves are in ``properties.py``, the strategies in ``strategies.py``. The
suite runs a fixed, derandomized set of examples (profile "suite" in conftest.py); explore more
with ``./scripts/test tests/test_web_properties.py --hypothesis-profile long``.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from properties import Probe, body_text, check_network_redirect
from strategies import (
    COLOURS,
    DATES,
    DEEP_JSON,
    HEADER_VALUES,
    HOSTS,
    IMAGE_URLS,
    JSON_VALUES,
    LANGS,
    MARKERS,
    NETWORK_LISTS,
    NETWORKS,
    NUMBERS,
    SITES,
    URLS,
    article_urls,
    hostile_text,
    huge,
    maybe,
    query_strings,
    required_first,
    text_param,
)

from share_service.accounts import api_keys
from share_service.counting.events import TYPES
from share_service.storage import keyspace
from share_service.web.widget import demo as demo_content

GOOD = "https://www.lequotidien.example/politique/article"
TITLES = text_param(st.text(max_size=80))
SHARE_PARAMS = {
    "title": TITLES,
    "text": text_param(st.text(max_size=200)),
    "image": IMAGE_URLS,
    "networks": NETWORK_LISTS,
    "lang": LANGS,
    "site": SITES,
    "format": text_param(st.sampled_from(["json", "html"])),
}
HOST_HEADERS = st.one_of(st.just({}), HOSTS.map(lambda h: {"Host": h}))


@pytest.fixture
def probe(app, redis):
    return Probe(app, redis)


# --- links, embed, redirect ----------------------------------------------------------------------
@given(query=required_first("url", URLS, SHARE_PARAMS), headers=HOST_HEADERS)
@example(query="url=" + quote(GOOD) + "&title=" + quote(MARKERS[0]) + "&format=html", headers={})
def test_share_api(probe, query, headers):
    response = probe.request("GET", "/api/v1/share", query=query, headers=headers)
    assert response.status_code in (200, 400, 404)


@given(query=required_first("url", URLS, {**SHARE_PARAMS, "theme": text_param(
    st.sampled_from(["light", "dark", "auto"]))}), headers=HOST_HEADERS)
def test_embed(probe, query, headers):
    response = probe.request("GET", "/embed", query=query, headers=headers)
    assert response.status_code in (200, 400, 404)
    if response.status_code == 200:
        assert "frame-ancestors" in response.headers["Content-Security-Policy"]


REDIRECT_PARAMS = {"title": TITLES, "text": text_param(st.text(max_size=200)),
                   "image": IMAGE_URLS, "site": SITES}


@given(network=NETWORKS, query=st.one_of(required_first("url", URLS, REDIRECT_PARAMS),
                                         huge(alphabet="a%", min_size=8000, max_size=9000)))
@example(network="facebook", query="url=" + quote(GOOD) + "&url=https%3A%2F%2Fevil.example%2F")
@example(network="mastodon", query="url=" + quote(GOOD) + "&instance=evil.example")
@example(network="/evil.example", query="url=" + quote(GOOD))  # /s//evil.example: no 308
def test_tracked_redirect(probe, network, query):
    response = probe.request("GET", "/s/" + quote(network, safe=""), query=query)
    assert response.status_code in (302, 400, 404, 414)
    check_network_redirect(response, network)


# --- events ----------------------------------------------------------------------------------------
EVENT = st.fixed_dictionaries(
    {"type": maybe(text_param(st.sampled_from(TYPES))), "url": maybe(URLS)},
    optional={
        "network": maybe(NETWORKS),
        "site": maybe(SITES),
        "target": maybe(URLS),
        "utm_medium": maybe(text_param(st.sampled_from(["social", "email"]))),
        "utm_campaign": maybe(text_param(st.sampled_from(["share", "partage"]))),
    },
)
EVENT_BODIES = st.one_of(
    st.builds(json.dumps, EVENT, ensure_ascii=st.booleans()),  # raw surrogates: not UTF-8
    st.lists(EVENT, max_size=55).map(lambda events: json.dumps({"events": events})),
    st.builds(json.dumps, JSON_VALUES),
    st.sampled_from([  # what json.dumps never writes: lone surrogates, NaN, duplicate keys
        '{"type": "share", "url": "https://www.lequotidien.example/\\ud800", "network": "x"}',
        '{"type": "share", "url": "' + GOOD + '", "network": "\\udfff"}',
        '{"type": "share", "url": NaN}', '{"type": "copy", "url": "' + GOOD + '", "url": 1}',
        '{"events": {"type": "copy"}}', '{"events": []}', "[]", "null", "{", "",
    ]),
    DEEP_JSON,
    hostile_text(),
).map(lambda text: text.encode("utf-8", "surrogatepass"))
RAW_BODIES = st.one_of(EVENT_BODIES, EVENT_BODIES, st.binary(max_size=300),
                       huge(alphabet="{[x", min_size=60000, max_size=70000).map(str.encode))
CONTENT_TYPES = st.sampled_from([
    "application/json", "text/plain;charset=UTF-8", "text/plain", "application/json; charset=latin-1",
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None])


@given(body=RAW_BODIES, content_type=CONTENT_TYPES, query=query_strings({"url": URLS}))
@example(body=json.dumps({"events": [{"type": "copy", "url": GOOD},
                                     {"type": "share", "url": GOOD, "network": "myspace"}]}).encode(),
         content_type="application/json", query="")
@example(body=json.dumps({"type": "share", "url": GOOD + "\ud800", "network": "x"}).encode(),
         content_type="application/json", query="")
def test_events(probe, body, content_type, query):
    response = probe.request("POST", "/api/v1/events", query=query, data=body,
                             content_type=content_type)
    assert response.status_code in (204, 400, 404, 413)
    if response.status_code == 204:
        assert response.get_data() == b""


def test_events_counted_when_accepted(probe, redis):
    """The other side of the refusal property: an accepted event does write (the oracle would
    miss a service that never wrote anything)."""
    response = probe.request("POST", "/api/v1/events", data=json.dumps(
        {"type": "share", "url": GOOD, "network": "x"}), content_type="application/json")
    assert response.status_code == 204
    probe.app.extensions["recorder"].flush()
    assert redis.dbsize() > 0


# --- reads -----------------------------------------------------------------------------------------
@given(query=required_first("url", URLS, {"site": SITES}))
def test_counts(probe, query):
    response = probe.request("GET", "/api/v1/counts", query=query)
    assert response.status_code in (200, 400, 404)


@given(query=required_first("url", URLS, {"limit": NUMBERS, "debug": text_param(
    st.sampled_from(["0", "1", "true", "yes"])), "site": SITES}))
@example(query="url=" + quote(GOOD) + "&limit=%C2%B2")  # '²'.isdigit(), but int('²') fails
def test_recommendations(probe, query):
    response = probe.request("GET", "/api/v1/recommendations", query=query)
    assert response.status_code in (200, 400, 404)


QR_PARAMS = {
    "format": text_param(st.sampled_from(["svg", "png"])),
    "size": NUMBERS, "border": NUMBERS,
    "ecc": text_param(st.sampled_from(["L", "M", "Q", "H", "l"])),
    "fg": COLOURS, "bg": COLOURS, "site": SITES,
}


@given(query=required_first("url", URLS, QR_PARAMS),
       headers=st.one_of(st.just({}), HEADER_VALUES.map(lambda v: {"If-None-Match": v})))
def test_qr(probe, query, headers):
    response = probe.request("GET", "/qr", query=query, headers=headers)
    assert response.status_code in (200, 304, 400, 404)
    if response.status_code == 200:
        assert response.mimetype in ("image/svg+xml", "image/png")


# --- widget, demo, meta ------------------------------------------------------------------------------
ANY_QUERY = query_strings({"url": URLS, "lang": LANGS, "v": hostile_text()})
CONDITIONAL = st.fixed_dictionaries({}, optional={
    "If-None-Match": HEADER_VALUES, "Accept-Encoding": HEADER_VALUES,
    "If-Modified-Since": HEADER_VALUES, "Accept": HEADER_VALUES, "Origin": HEADER_VALUES})


@given(path=st.sampled_from(["/widget.js", "/widget.css", "/healthz", "/api/v1/openapi.json",
                             "/favicon.ico", "/dashboard/networks.css"]),
       query=ANY_QUERY, headers=CONDITIONAL)
def test_static_answers(probe, path, query, headers):
    response = probe.request("GET", path, query=query, headers=headers)
    assert response.status_code in (200, 304)


@given(query=query_strings({"lang": LANGS}))
def test_widget_messages(probe, query):
    response = probe.request("GET", "/widget/messages.json", query=query)
    assert response.status_code in (200, 404)


@given(slug=st.one_of(st.sampled_from(sorted(demo_content.BY_SLUG)), hostile_text(40)),
       query=ANY_QUERY, headers=HOST_HEADERS)
@example(slug="/0", query="", headers={})  # /demo//0: no 308 to /demo/0
def test_demo(probe, slug, query, headers):
    path = "/demo/" + quote(slug, safe="") if slug else "/demo"
    response = probe.request("GET", path, query=query, headers=headers)
    assert response.status_code in (200, 404)


PUBLIC_PATHS = ["/api/v1/share", "/api/v1/counts", "/api/v1/events", "/api/v1/recommendations",
                "/api/v1/articles", "/qr", "/embed", "/demo", "/s/x", "/widget.js", "/healthz",
                "/api/v1/stats/summary", "/api/v1/openapi.json"]


@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]),
       path=st.one_of(st.sampled_from(PUBLIC_PATHS),
                      hostile_text(30).map(lambda p: "/api/v1/" + quote(p, safe="/"))),
       headers=CONDITIONAL)
def test_any_method_any_path(probe, method, path, headers):
    """Unknown routes and methods: a JSON 404 / 405 (Allow listed), never a 500."""
    response = probe.request(method, path, headers=headers)
    if response.status_code == 405:
        assert response.headers["Allow"]


# --- the authenticated API -----------------------------------------------------------------------
@pytest.fixture
def keys(redis):
    """A viewer and an admin API key (real, in Redis). Their last use is noted ahead of time so
    that authentication's once-a-minute note does not count as a request's write."""
    made = {}
    for role in ("viewer", "admin"):
        raw, record = api_keys.create_api_key(redis, f"fuzz-{role}", role)
        made[role] = raw
        digest = next(d for d in redis.scan_iter(keyspace.api_key("*"))
                      if redis.hget(d, "name") == f"fuzz-{role}")
        redis.hset(digest, "last_used", str(2**40))
    return made


# Who calls: a real viewer or admin key (named here, replaced by the key in the test), or
# any other X-Api-Key value (a truncated key, a huge one, markup...).
CALLERS = st.one_of(st.sampled_from(["viewer", "admin", "admin"]), HEADER_VALUES,
                    st.just("ss_" + "a" * 300))


def api_key(keys, caller: str) -> dict:
    if caller in keys:
        return {"X-Api-Key": keys[caller]}
    return {"X-Api-Key": caller} if caller else {}


STATS_PARAMS = {
    "site": SITES, "from": DATES, "to": DATES, "network": st.one_of(NETWORKS, st.just("copy")),
    "format": text_param(st.sampled_from(["json", "csv"])),
    "granularity": text_param(st.sampled_from(["day", "hour"])),
    "limit": NUMBERS, "url": URLS,
}


@given(caller=CALLERS, route=st.sampled_from(["summary", "timeseries", "top", "article", "sites"]),
       query=query_strings(STATS_PARAMS))
def test_stats_api(probe, keys, caller, route, query):
    response = probe.request("GET", f"/api/v1/stats/{route}", query=query,
                             headers=api_key(keys, caller))
    assert response.status_code in (200, 400, 401, 403, 404)
    if response.status_code == 200 and response.mimetype == "text/csv":
        assert "attachment" in response.headers["Content-Disposition"]


ARTICLE = st.fixed_dictionaries(
    {"url": maybe(st.one_of(article_urls(), URLS)), "title": maybe(text_param(
        st.text(min_size=1, max_size=80)))},
    optional={
        "canonical_url": maybe(URLS), "description": maybe(hostile_text()),
        "image": maybe(IMAGE_URLS), "image_width": maybe(st.one_of(st.integers(-5, 30000),
                                                                   NUMBERS)),
        "image_height": maybe(NUMBERS), "section": maybe(hostile_text()),
        "tags": maybe(st.lists(hostile_text(20), max_size=35)), "lang": maybe(LANGS),
        "author": maybe(hostile_text()),
        "published": maybe(st.one_of(DATES, NUMBERS, st.integers(-2**70, 2**70), st.floats())),
        "modified": maybe(DATES),
    },
)
ARTICLE_BODIES = st.one_of(
    st.builds(json.dumps, ARTICLE),
    st.lists(ARTICLE, max_size=4).map(lambda items: json.dumps({"articles": items})),
    st.builds(json.dumps, JSON_VALUES), DEEP_JSON, hostile_text(),
).map(str.encode)


@given(caller=CALLERS, body=ARTICLE_BODIES, query=query_strings({"site": SITES}),
       content_type=CONTENT_TYPES)
@example(caller="admin", body=json.dumps({"url": GOOD, "title": "\udfff"}).encode(), query="",
         content_type="application/json")
def test_push_articles(probe, keys, caller, body, query, content_type):
    response = probe.request("PUT", "/api/v1/articles", query=query, data=body,
                             content_type=content_type, headers=api_key(keys, caller))
    assert response.status_code in (200, 400, 401, 403, 404, 413)
    if response.status_code == 200:
        assert response.get_json()["stored"] >= 1


@given(caller=CALLERS, query=required_first("url", URLS, {"site": SITES}))
def test_delete_article(probe, keys, caller, query):
    response = probe.request("DELETE", "/api/v1/articles", query=query,
                             headers=api_key(keys, caller))
    assert response.status_code in (204, 400, 401, 403, 404)


def test_a_marker_in_a_pushed_title_is_escaped_in_the_widget_answers(probe, keys):
    """Stored input comes back too: a pushed article whose title is a marker is served by the
    recommendations as JSON (application/json) only."""
    other = GOOD + "-2"
    response = probe.request("PUT", "/api/v1/articles", headers={"X-Api-Key": keys["admin"]},
                             data=json.dumps({"articles": [
                                 {"url": GOOD, "title": "Les crues " + MARKERS[0]},
                                 {"url": other, "title": "Les crues " + MARKERS[1]}]}),
                             content_type="application/json")
    assert response.status_code == 200, body_text(response)
    answer = probe.request("GET", "/api/v1/recommendations", query="url=" + quote(GOOD))
    assert answer.mimetype == "application/json"
    assert MARKERS[1] in {item["title"][len("Les crues "):] for item in answer.get_json()["items"]}
