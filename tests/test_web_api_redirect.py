"""GET /s/<network>: counts one share, 302 to that network's endpoint only, never elsewhere."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from support import BROWSER_UA, all_keys, flush_recorder, key_count

from share_service.counting import reads
from share_service.sharing import networks

pytestmark = pytest.mark.both_backends

A1 = "https://www.lequotidien.example/politique/2026/11/26/reformes?page=2"
CANONICAL = "https://www.lequotidien.example/politique/2026/11/26/reformes?page=2"


def go(client, network, headers=None, **params):
    return client.get(f"/s/{network}", query_string=params,
                      headers={"User-Agent": BROWSER_UA, **(headers or {})})


def counted(app, redis, url=CANONICAL):
    flush_recorder(app)
    return reads.article_counts(redis, "default", url)["networks"]


def on_endpoint(location: str, net: networks.Network) -> bool:
    a, b = urlsplit(location), urlsplit(net.endpoint)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)


@pytest.mark.parametrize("net", networks.all_networks(), ids=lambda n: n.id)
def test_every_network_redirects_to_its_endpoint_and_counts(app, client, redis, net):
    response = go(client, net.id, url=A1, title="L’été « chaud » 🔥", text="À lire")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert on_endpoint(location, net), location
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Length"] == "0" and response.data == b""  # no chunked body
    assert "Set-Cookie" not in response.headers
    # the shared article is inside, tagged for this network
    values = [v for vs in parse_qs(urlsplit(location).query).values() for v in vs]
    assert any("www.lequotidien.example/politique/2026/11/26/reformes?page=2&utm_source="
               + net.id in v for v in values), values
    assert counted(app, redis) == {net.id: 1}


def test_alias_counts_under_registry_id(app, client, redis):
    assert go(client, "twitter", url=A1).status_code == 302
    assert counted(app, redis) == {"x": 1}


def test_mastodon_always_goes_to_the_official_picker(app, client, redis):
    response = go(client, "mastodon", url=A1, instance="evil.example", site="default")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://share.joinmastodon.org/?text=")
    assert "evil" not in response.headers["Location"]


@pytest.mark.parametrize("network", ["nope", "..", "facebook.com", "%2e%2e", "https:", "FACEBOOK2"])
def test_unknown_network_404_json_nothing_counted(app, client, redis, network, flush):
    response = client.get(f"/s/{network}?url={A1}")
    assert response.status_code == 404
    assert response.is_json and response.json["error"]["code"]
    flush()
    assert key_count(redis) == 0


@pytest.mark.parametrize("path", [
    "/s/../facebook", "/s/%2e%2e/facebook", "/s/facebook/..%2f..%2fevil", "/s/facebook%2F%2Fevil.example",
    "/s//evil.example", "/s/", "/s",
])
def test_path_tricks_never_redirect(app, client, redis, path, flush):
    response = client.get(path + f"?url={A1}", headers={"User-Agent": BROWSER_UA})
    assert response.status_code == 404 and response.is_json  # no redirect, not even werkzeug's
    flush()
    assert key_count(redis) == 0


@pytest.mark.parametrize("bad_url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(document.domain)//https://www.lequotidien.example/",
    "data:text/html,<script>alert(1)</script>", "//evil.example/a", "https://evil.example/a",
    "https://www.lequotidien.example@evil.example/", "https://evil.example\\@www.lequotidien.example/",
    "https://www.lequotidien.example.evil.example/", "https://evil.example/?u=https://www.lequotidien.example/",
    "https%3A%2F%2Fevil.example%2F", "http://10.0.0.1:6379/", "ftp://www.lequotidien.example/",
    "https://www.lequotidien.example/\r\nLocation: https://evil.example/", "",
    "https://www.lequotidien.example/" + "a" * 2100,
])
def test_bad_article_urls_4xx_json_nothing_counted(app, client, redis, bad_url, flush):
    response = go(client, "facebook", url=bad_url)
    assert 400 <= response.status_code < 500, response.headers.get("Location")
    assert "Location" not in response.headers
    body = response.json
    assert set(body["error"]) >= {"code", "message"}
    assert "<script>" not in response.get_data(as_text=True)
    flush()
    assert key_count(redis) == 0


def test_missing_url_and_other_bad_parameters(app, client, redis, flush):
    assert client.get("/s/facebook").status_code == 400
    assert go(client, "facebook", url=A1, title="t" * 5000).status_code == 400
    assert go(client, "pinterest", url=A1, image="javascript:alert(1)").status_code == 400
    bad_utf8 = client.get("/s/facebook?url=https%3A%2F%2Fwww.lequotidien.example%2F%ff")
    assert bad_utf8.status_code == 400 and bad_utf8.is_json
    huge = client.get("/s/facebook?url=" + A1 + "&text=" + "x" * 9000)
    assert huge.status_code in (400, 414) and huge.is_json
    flush()
    assert key_count(redis) == 0


def test_title_and_text_cannot_break_the_header(app, client, redis):
    response = go(client, "x", url=A1, title="a\r\nSet-Cookie: x=1", text="b\r\nLocation: //evil")
    assert response.status_code == 302
    assert "Set-Cookie" not in response.headers
    assert "\n" not in response.headers["Location"]
    assert on_endpoint(response.headers["Location"], networks.get("x"))


def test_bots_are_redirected_not_counted(app, client, redis, flush):
    response = client.get(f"/s/facebook?url={A1}",
                          headers={"User-Agent": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"})
    assert response.status_code == 302
    response = client.get(f"/s/facebook?url={A1}",
                          headers={"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"})
    assert response.status_code == 302
    flush()
    assert all_keys(redis, "*}:t:*") == []


def test_x_forwarded_for_ignored_by_default(app, client, redis):
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        go(client, "facebook", headers={"X-Forwarded-For": ip}, url=A1)
    # one socket peer, one user agent: one visitor, deduped
    assert counted(app, redis) == {"facebook": 1}


def test_x_forwarded_for_honoured_behind_a_trusted_proxy(make_app, redis):
    app = make_app({"TRUSTED_PROXIES": 1})
    client = app.test_client()
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.3"):
        go(client, "facebook", headers={"X-Forwarded-For": ip}, url=A1)
    assert counted(app, redis) == {"facebook": 3}


def test_no_session_and_no_cookie(app, client):
    app.config["SESSION_COOKIE_NAME"] = "ss_session"
    response = go(client, "facebook", url=A1)
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_redirect_works_while_redis_is_down(make_app, redis, dead_store):
    app = make_app(dead_store)
    client = app.test_client()
    response = go(client, "linkedin", url=A1)
    assert response.status_code == 302
    assert on_endpoint(response.headers["Location"], networks.get("linkedin"))
    counts = client.get("/api/v1/counts", query_string={"url": A1})
    assert counts.status_code == 503
    assert counts.json["error"]["code"] == "unavailable"


# --- rate limit: past it the reader is still redirected, the share is not counted ----------------
def test_past_the_redirect_limit_readers_are_redirected_not_counted(make_app, redis):
    from share_service import metrics

    app = make_app({"RATELIMIT_ENABLED": True, "RATELIMIT_REDIRECTS": "3/minute"})
    client = app.test_client()
    before = metrics.value(metrics.RATE_LIMITED, "redirect")
    for i in range(5):
        response = client.get("/s/facebook", query_string={"url": A1, "n": i},
                              headers={"User-Agent": BROWSER_UA},
                              environ_base={"REMOTE_ADDR": "203.0.113.7"})
        assert response.status_code == 302
        assert on_endpoint(response.headers["Location"], networks.get("facebook"))
    other = client.get("/s/x", query_string={"url": A1}, headers={"User-Agent": BROWSER_UA},
                       environ_base={"REMOTE_ADDR": "198.51.100.9"})  # another reader
    assert other.status_code == 302
    # n= changes the query string only: the same reader and article, deduplicated anyway, so
    # look at what reached the recorder rather than the counters
    assert counted(app, redis) == {"facebook": 1, "x": 1}
    assert metrics.value(metrics.RATE_LIMITED, "redirect") - before == 2
    assert app.extensions["recorder"].counted + app.extensions["recorder"].duplicates == 4


def test_redirect_limit_per_reader_behind_the_trusted_proxy(make_app, redis):
    app = make_app({"RATELIMIT_ENABLED": True, "RATELIMIT_REDIRECTS": "1/minute",
                    "TRUSTED_PROXIES": 1})
    client = app.test_client()
    for reader in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        # the left-most entry is the client's claim, the right-most what the proxy saw
        client.get("/s/facebook", query_string={"url": A1},
                   headers={"User-Agent": BROWSER_UA,
                            "X-Forwarded-For": f"6.6.6.6, {reader}"},
                   environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert counted(app, redis) == {"facebook": 3}  # three readers, one share each
