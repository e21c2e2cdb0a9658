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


# --- a publisher's development server: localhost, 127.0.0.1 and [::1] on any port ---------------
@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://localhost:3000",
                                    "http://127.0.0.1:8080", "https://localhost:8443",
                                    "http://localhost"])
@pytest.mark.parametrize("path", GET_PATHS)
def test_loopback_origins_on_any_port_for_a_site_owning_that_host(client, origin, path):
    response = client.get(path, query_string={"url": ARTICLE}, headers={"Origin": origin})
    assert response.headers.get("Access-Control-Allow-Origin") == origin
    preflight = client.options("/api/v1/events", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type"})
    assert preflight.headers.get("Access-Control-Allow-Origin") == origin


@pytest.mark.parametrize("origin", ["http://localhost.evil.example:3000", "http://evil.example:3000",
                                    "http://127.0.0.2:8080", "http://[::1]:3000",
                                    "http://localhost:3000.evil.example", "http://localhost:abc"])
def test_only_the_loopback_hosts_the_site_owns_get_any_port(client, origin):
    response = client.get("/api/v1/counts", query_string={"url": ARTICLE}, headers={"Origin": origin})
    assert "Access-Control-Allow-Origin" not in response.headers  # ([::1] is not a host of the site)


def test_ipv6_loopback_when_the_site_owns_it(make_app, redis):
    client = make_app({"ALLOWED_HOSTS": ["www.lequotidien.example", "::1"]}).test_client()
    response = client.get("/api/v1/share", query_string={"url": ARTICLE},
                          headers={"Origin": "http://[::1]:3000"})
    assert response.headers.get("Access-Control-Allow-Origin") == "http://[::1]:3000"


def test_no_loopback_origin_for_a_site_that_does_not_own_localhost(make_app, redis):
    client = make_app({"ALLOWED_HOSTS": ["www.lequotidien.example"]}).test_client()
    response = client.get("/api/v1/counts", query_string={"url": ARTICLE},
                          headers={"Origin": "http://localhost:3000"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_origins_option_adds_origins_to_the_default_site(make_app, redis, monkeypatch):
    monkeypatch.setenv("SHARE_SERVICE_CORS_ORIGINS", "https://preprod.lequotidien.example,http://dev.box:8000")
    app = make_app({"DEFAULT_SITE": "lq", "SITES": {
        "lq": {"allowed_hosts": ["www.lequotidien.example"]},
        "blog": {"allowed_hosts": ["blog.lequotidien.example"]},
    }})
    client = app.test_client()
    for origin in ("https://preprod.lequotidien.example", "http://dev.box:8000", ORIGIN):
        response = client.get("/api/v1/recommendations", query_string={"url": ARTICLE},
                              headers={"Origin": origin})
        assert response.headers.get("Access-Control-Allow-Origin") == origin
    # another port of that host, or another site's article: no
    other_port = client.get("/api/v1/counts", query_string={"url": ARTICLE},
                            headers={"Origin": "http://dev.box:8001"})
    assert "Access-Control-Allow-Origin" not in other_port.headers
    blog = client.get("/api/v1/counts", query_string={"url": "https://blog.lequotidien.example/p"},
                      headers={"Origin": "https://preprod.lequotidien.example"})
    assert "Access-Control-Allow-Origin" not in blog.headers
    # the same origins may frame /embed
    embed = client.get("/embed", query_string={"url": ARTICLE, "more": "0"})
    ancestors = embed.headers["Content-Security-Policy"].split("frame-ancestors ")[1].split(";")[0]
    assert "https://preprod.lequotidien.example" in ancestors.split()
    assert "http://dev.box:8000" in ancestors.split()


def test_embed_may_be_framed_by_a_development_server_on_any_port(client):
    response = client.get("/embed", query_string={"url": ARTICLE, "more": "0"})
    ancestors = response.headers["Content-Security-Policy"].split("frame-ancestors ")[1].split(";")[0]
    assert "http://localhost:*" in ancestors.split() and "http://127.0.0.1:*" in ancestors.split()


# --- in a real browser: the widget on a page of http://localhost:<random port> ----------------------
@pytest.mark.browser
@pytest.mark.parametrize("owns_localhost", [True, False])
def test_widget_on_a_localhost_dev_server_reads_counts_and_recommendations(
        make_app, redis, browser, owns_localhost):
    """A publisher's development server (http://localhost:<port>) loads the widget from the
    service (http://127.0.0.1:<other port>): with localhost among the site's hosts its counts
    and « Plus de contenu » arrive (CORS), with no configuration at all; for a site that does
    not own localhost the browser refuses to hand them to the page (the bar still works)."""
    from conftest import TEST_HOSTS, LiveServer
    from support import BROWSER_UA, CANONICAL, PageServer, seed_catalogue

    hosts = TEST_HOSTS if owns_localhost else ["www.lequotidien.example"]
    service = LiveServer(make_app({"ALLOWED_HOSTS": hosts}))
    pages = PageServer()
    context = browser.new_context(user_agent=BROWSER_UA)
    try:
        seed_catalogue(service, redis, n=3)
        port = pages.port
        pages.add("/article.html", f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>Article</title><link rel="canonical" href="{CANONICAL}">
<script src="{service.url}/widget.js" async></script></head>
<body><div data-share-widget data-counts="true"></div></body></html>""")
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"http://localhost:{port}/article.html")
        assert page.evaluate("location.origin") == f"http://localhost:{port}"
        host = page.locator("[data-share-widget]")
        host.locator(".w:not([hidden])").wait_for()
        page.wait_for_load_state("networkidle")
        # what the page's own script could read from the API, straight from the browser
        readable = page.evaluate("""url => fetch(url).then(r => r.ok, () => false)""",
                                 f"{service.url}/api/v1/counts?url={CANONICAL}")
        if owns_localhost:
            host.locator("section.mc li").first.wait_for()
            assert host.locator("section.mc li").count() == 3
            host.locator(".c:not([hidden])").first.wait_for()
            assert readable is True
        else:
            assert host.locator("section.mc").count() == 0
            assert host.locator(".c:not([hidden])").count() == 0
            assert host.locator("a.s").count() == 6  # the bar itself needs no CORS
            assert readable is False
        assert errors == []
    finally:
        context.close()
        pages.stop()
        service.stop()
