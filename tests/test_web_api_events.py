"""POST /api/v1/events and GET /api/v1/counts."""

from __future__ import annotations

import json

import pytest
from support import BROWSER_UA, all_keys, key_count

from share_service.counting import reads
from share_service.storage import keyspace

pytestmark = pytest.mark.both_backends

A1 = "https://www.lequotidien.example/politique/2026/11/26/reformes"
A2 = "https://www.lequotidien.example/sport/2026/11/26/match"


def post(client, body, content_type="application/json", ua=BROWSER_UA, **kw):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/api/v1/events", data=data, content_type=content_type,
                       headers={"User-Agent": ua}, **kw)


def test_single_event_json_204(app, client, redis, flush):
    response = post(client, {"type": "share", "url": A1, "network": "bluesky"})
    assert response.status_code == 204 and response.data == b""
    assert "Set-Cookie" not in response.headers
    flush()
    assert reads.article_counts(redis, "default", A1)["networks"] == {"bluesky": 1}


def test_batch_as_send_beacon_text_plain(app, client, redis, flush):
    body = {"events": [{"type": "copy", "url": A1}, {"type": "qr", "url": A1},
                       {"type": "native", "url": A2},
                       {"type": "rec_click", "url": A1, "target": A2 + "?utm_source=more_content"}]}
    assert post(client, body, content_type="text/plain;charset=UTF-8").status_code == 204
    flush()
    assert reads.article_counts(redis, "default", A1) | {"url": None} == {
        "url": None, "total": 0, "networks": {}, "copy": 1, "qr": 1, "native": 0}
    assert reads.article_counts(redis, "default", A2)["native"] == 1


def test_recommendation_events_are_counted_under_their_method(app, client, redis, flush):
    """rec_impression / rec_click name how their items were chosen (words or semantic); each is
    counted under "<type>:<method>", and one without a method (an older widget) as before."""
    body = {"events": [
        {"type": "rec_impression", "url": A1, "method": "semantic"},
        {"type": "rec_click", "url": A1, "target": A2, "method": "semantic"},
        {"type": "rec_impression", "url": A2, "method": "words"},
        {"type": "rec_impression", "url": A2 + "?page=1"},
    ]}
    assert post(client, body).status_code == 204
    flush()
    totals = {aid_url: redis.hgetall(key) for aid_url, key in (
        (A1, next(redis.scan_iter("*}:t:" + keyspace.article_id(A1)))),
        (A2, next(redis.scan_iter("*}:t:" + keyspace.article_id(A2)))))}
    assert totals[A1] == {"rec_impression:semantic": "1", "rec_click:semantic": "1"}
    assert totals[A2] == {"rec_impression:words": "1"}
    third = keyspace.article_id(A2 + "?page=1")
    assert redis.hgetall(next(redis.scan_iter("*}:t:" + third))) == {"rec_impression": "1"}


def test_visit_records_source_and_utm_triple(app, client, redis, flush):
    assert post(client, {"type": "visit", "url": A1, "network": "whatsapp",
                         "utm_medium": "social", "utm_campaign": "share"}).status_code == 204
    flush()
    day = next(iter(all_keys(redis, "*}:t:*")))
    assert redis.hgetall(day) == {"visit:whatsapp": "1", "utm:whatsapp|social|share": "1"}


BAD_EVENTS = [
    ({"type": "share", "url": A1}, 400, "unknown_network"),
    ({"type": "share", "url": A1, "network": "myspace"}, 400, "unknown_network"),
    ({"type": "visit", "url": A1, "network": "nowhere"}, 400, "unknown_network"),
    ({"type": "visit", "url": A1, "network": "facebook", "utm_medium": "<script>"}, 400, "invalid_utm"),
    ({"type": "like", "url": A1}, 400, "invalid_event_type"),
    ({"url": A1}, 400, "invalid_event_type"),
    ({"type": "copy"}, 400, "missing_url"),
    ({"type": "copy", "url": 42}, 400, "missing_url"),
    ({"type": "copy", "url": "javascript:alert(1)"}, 400, "invalid_url"),
    ({"type": "copy", "url": "https://evil.example/a"}, 400, "host_not_allowed"),
    ({"type": "copy", "url": A1 + "?" + "x" * 2100}, 400, "url_too_long"),
    ({"type": "rec_click", "url": A1}, 400, "missing_target"),
    ({"type": "rec_click", "url": A1, "target": "https://evil.example/"}, 400, "host_not_allowed"),
    ({"type": "rec_impression", "url": A1, "method": "magic"}, 400, "invalid_method"),
    ({"type": "rec_click", "url": A1, "target": A2, "method": "WORDS"}, 400, "invalid_method"),
    ({"type": "rec_click", "url": A1, "target": A2, "method": ["words"]}, 400, "invalid_method"),
    ({"type": "rec_impression", "url": A1, "method": ""}, 400, "invalid_method"),
    ({"type": "copy", "url": A1, "site": "nope"}, 404, "unknown_site"),
    ({"events": []}, 400, "empty_batch"),
    ({"events": "nope"}, 400, "invalid_event"),
    ({"events": [{"type": "copy", "url": A1}] * 51}, 400, "too_many_events"),
    ([{"type": "copy", "url": A1}], 400, "invalid_event"),
    (b'"just a string"', 400, "invalid_event"),
]


@pytest.mark.parametrize("body,status,code", BAD_EVENTS, ids=[c for _, _, c in BAD_EVENTS])
def test_bad_events_4xx_nothing_counted(app, client, redis, body, status, code, flush):
    response = post(client, body)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    flush()
    assert key_count(redis) == 0


def test_one_bad_event_rejects_the_whole_batch(app, client, redis, flush):
    good = {"type": "share", "url": A1, "network": "facebook"}
    response = post(client, {"events": [good, good | {"url": A2}, {"type": "copy", "url": "https://evil.example/"}]})
    assert response.status_code == 400
    flush()
    assert key_count(redis) == 0


@pytest.mark.parametrize("raw", [b"", b"{", b"{'type': 'copy'}", b"\xff\xfe{}", b"null", b"[1,2",
                                 b"<script>alert(1)</script>"])
def test_malformed_json_400(app, client, redis, raw, flush):
    response = post(client, raw, content_type="text/plain")
    assert response.status_code == 400
    assert response.json["error"]["code"] in ("invalid_json", "invalid_event")
    assert "<script>" not in response.get_data(as_text=True)
    flush()
    assert key_count(redis) == 0


def test_oversize_body_413_json(app, client, redis, flush):
    event = {"type": "copy", "url": A1, "pad": "x" * 70000}
    response = post(client, event)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "body_too_large"
    flush()
    assert key_count(redis) == 0


def test_get_is_not_allowed(client):
    response = client.get("/api/v1/events")
    assert response.status_code == 405 and response.is_json


def test_bot_events_accepted_not_counted(app, client, redis, flush):
    response = post(client, {"type": "copy", "url": A1}, ua="python-requests/2.32.3")
    assert response.status_code == 204
    flush()
    assert all_keys(redis, "*}:t:*") == []


def test_visible_within_a_second_without_explicit_flush(app, client, redis):
    import time

    post(client, {"type": "share", "url": A1, "network": "telegram"})
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if reads.article_counts(redis, "default", A1)["total"] == 1:
            break
        time.sleep(0.02)
    assert reads.article_counts(redis, "default", A1)["networks"] == {"telegram": 1}


# --- GET /api/v1/counts -----------------------------------------------------------------------
def test_counts_endpoint(app, client, redis, flush):
    for n, ip in enumerate(["203.0.113.1", "203.0.113.2", "203.0.113.3"]):
        client.get("/s/facebook", query_string={"url": A1 + "?utm_source=x#comments"},
                   headers={"User-Agent": BROWSER_UA}, environ_base={"REMOTE_ADDR": ip})
        if n < 1:
            client.get("/s/x", query_string={"url": A1}, headers={"User-Agent": BROWSER_UA},
                       environ_base={"REMOTE_ADDR": ip})
    post(client, {"type": "copy", "url": A1})
    flush()
    response = client.get("/api/v1/counts", query_string={"url": "HTTPS://WWW.LEQUOTIDIEN.EXAMPLE:443/politique/2026/11/26/reformes?fbclid=abc"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=5"
    assert response.json == {"url": A1, "total": 4, "networks": {"facebook": 3, "x": 1},
                             "copy": 1, "qr": 0, "native": 0}


def test_counts_of_an_unknown_article_are_zero(client, redis):
    response = client.get("/api/v1/counts", query_string={"url": A2})
    assert response.status_code == 200
    assert response.json == {"url": A2, "total": 0, "networks": {}, "copy": 0, "qr": 0, "native": 0}


@pytest.mark.parametrize("url,code", [(None, "missing_url"), ("ftp://x/", "invalid_url"),
                                       ("https://evil.example/", "host_not_allowed")])
def test_counts_bad_input(client, url, code):
    response = client.get("/api/v1/counts", query_string={"url": url} if url else {})
    assert response.status_code == 400 and response.json["error"]["code"] == code


def test_counts_cors_for_the_site_origin(client, redis):
    response = client.get("/api/v1/counts", query_string={"url": A1},
                          headers={"Origin": "https://www.lequotidien.example"})
    assert response.headers.get("Access-Control-Allow-Origin") == "https://www.lequotidien.example"
    other = client.get("/api/v1/counts", query_string={"url": A1},
                       headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_events_and_counts_while_redis_is_down(make_app, redis, dead_store):
    app = make_app(dead_store)
    client = app.test_client()
    assert post(client, {"type": "copy", "url": A1}).status_code == 204
    response = client.get("/api/v1/counts", query_string={"url": A1})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json["error"]["code"] == "unavailable"


# --- rate limit --------------------------------------------------------------------------------
def test_past_the_events_limit_429_with_retry_after_nothing_counted(make_app, redis, flush):
    app = make_app({"RATELIMIT_ENABLED": True, "RATELIMIT_EVENTS": "2/minute"})
    client = app.test_client()
    share = {"type": "share", "url": A1, "network": "facebook"}
    assert post(client, share).status_code == 204
    assert post(client, {"events": [share, {"type": "copy", "url": A1}]}).status_code == 204
    refused = post(client, {"type": "share", "url": A2, "network": "x"})
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited"
    assert 30 <= int(refused.headers["Retry-After"]) <= 60  # the client's window ends
    # another client is not affected
    assert post(client, share, environ_base={"REMOTE_ADDR": "198.51.100.4"}).status_code == 204
    flush(app)
    assert reads.article_counts(redis, "default", A2)["total"] == 0
    assert reads.article_counts(redis, "default", A1)["networks"] == {"facebook": 2}


def test_no_limit_when_rate_limits_are_off(make_app):
    app = make_app({"RATELIMIT_ENABLED": False, "RATELIMIT_EVENTS": "1/minute"})
    client = app.test_client()
    assert all(post(client, {"type": "copy", "url": A1}).status_code == 204 for _ in range(5))
