"""CORS on the widget API: the resolved site's origins only, Vary: Origin, preflight for events."""

from __future__ import annotations

import pytest

ORIGIN = "https://www.lequotidien.example"
ARTICLE = "https://www.lequotidien.example/a"
GET_PATHS = ["/api/v1/share", "/api/v1/counts", "/api/v1/recommendations"]


@pytest.fixture
def two_sites(make_app, redis):
    return make_app({"DEFAULT_SITE": "lq", "SITES": {
        "lq": {"allowed_hosts": ["www.lequotidien.example", "lequotidien.example"]},
        "blog": {"allowed_hosts": ["blog.lequotidien.example"],
                 "cors_origins": ["https://blog.lequotidien.example"]},
    }}).test_client()


@pytest.mark.parametrize("origin", [ORIGIN, "http://www.lequotidien.example",
                                    "https://lequotidien.example"])
def test_site_origins_get_acao(client, origin):
    response = client.get("/api/v1/share", query_string={"url": ARTICLE},
                          headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "https://www.lequotidien.example.evil.example",
                                    "https://www.lequotidien.example:8443", ""])
def test_other_origins_get_no_cors_header(client, origin):
    response = client.get("/api/v1/share", query_string={"url": ARTICLE},
                          headers={"Origin": origin})
    assert response.status_code == 200  # the answer is public; browsers just won't expose it
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.headers["Vary"]


def test_error_answers_carry_cors_for_the_site_too(client):
    response = client.get("/api/v1/share", query_string={"url": ARTICLE, "networks": "nope"},
                          headers={"Origin": ORIGIN})
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_origin_must_belong_to_the_site_of_the_url(two_sites):
    blog_article = {"url": "https://blog.lequotidien.example/p"}
    ok = two_sites.get("/api/v1/share", query_string=blog_article,
                       headers={"Origin": "https://blog.lequotidien.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://blog.lequotidien.example"
    cross = two_sites.get("/api/v1/share", query_string=blog_article, headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in cross.headers
    # the blog's explicit cors_origins replace the derived http:// one
    plain = two_sites.get("/api/v1/share", query_string=blog_article,
                          headers={"Origin": "http://blog.lequotidien.example"})
    assert "Access-Control-Allow-Origin" not in plain.headers


@pytest.mark.parametrize("path", GET_PATHS)
def test_every_widget_get_path_has_cors(client, path):
    response = client.get(path, query_string={"url": ARTICLE}, headers={"Origin": ORIGIN})
    assert response.headers.get("Access-Control-Allow-Origin") == ORIGIN, response.status_code
    evil = client.get(path, query_string={"url": ARTICLE}, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_preflight_for_json_events(client, redis):
    response = client.options("/api/v1/events", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert response.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert redis.dbsize() == 0


@pytest.mark.parametrize("origin, method, headers", [
    ("https://evil.example", "POST", "content-type"),
    (ORIGIN, "DELETE", "content-type"),
    (ORIGIN, "POST", "content-type, authorization"),
    (ORIGIN, "POST", "x-api-key"),
])
def test_refused_preflights_carry_no_cors_header(client, origin, method, headers):
    response = client.options("/api/v1/events", headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers})
    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


def test_post_events_from_a_site_origin_is_readable(client):
    response = client.post("/api/v1/events", json={"type": "copy", "url": ARTICLE},
                           headers={"Origin": ORIGIN})
    assert response.headers.get("Access-Control-Allow-Origin") == ORIGIN
    other = client.post("/api/v1/events", json={"type": "copy", "url": ARTICLE},
                        headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_paths_outside_the_widget_api_get_no_site_cors(client):
    response = client.get("/qr", query_string={"url": ARTICLE}, headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers
