"""Bad input to the share API and the QR endpoint: a 4xx JSON error, nothing reflected unescaped,
never a 500, and nothing written to Redis."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

GOOD = "https://www.lequotidien.example/politique/article"
SCRIPT = "<script>alert(document.cookie)</script>"

BAD_URLS = [
    (None, "missing_url"),
    ("", "missing_url"),
    ("   ", "missing_url"),
    ("www.lequotidien.example/a", "invalid_url"),
    ("ftp://www.lequotidien.example/a", "invalid_url"),
    ("javascript:alert(1)", "invalid_url"),
    ("javascript://www.lequotidien.example/%0Aalert(1)", "invalid_url"),
    ("JAVASCRIPT:alert(1)//https://www.lequotidien.example/", "invalid_url"),
    ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "invalid_url"),
    ("vbscript:msgbox(1)", "invalid_url"),
    ("https://www.lequotidien.example/a b", "invalid_url"),
    ("https://www.lequotidien.example/\nLocation: https://evil.example", "invalid_url"),
    ("https://user@www.lequotidien.example/", "invalid_url"),
    ("https://www.lequotidien.example:0x50/", "invalid_url"),
    ("https://evil.example/", "host_not_allowed"),
    ("https://127.0.0.2/", "host_not_allowed"),
    ("https://169.254.169.254/latest/meta-data/", "host_not_allowed"),
    ("https://www.lequotidien.example.evil.example/", "host_not_allowed"),
    (GOOD + "?" + "x" * 2048, "url_too_long"),
    (f"https://www.lequotidien.example/{SCRIPT}/../", None),  # allowed host: fine, but escaped
]


def assert_json_error(response, code, status=400):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    return error


@pytest.mark.parametrize("endpoint", ["/api/v1/share", "/qr"])
@pytest.mark.parametrize("url, code", BAD_URLS)
def test_bad_urls(client, redis, endpoint, url, code):
    query = {} if url is None else {"url": url}
    response = client.get(endpoint, query_string=query)
    if code is None:
        assert response.status_code == 200
    else:
        error = assert_json_error(response, code)
        assert "<script" not in error["message"]
    assert "<script" not in response.get_data(as_text=True)
    assert redis.dbsize() == 0


@pytest.mark.parametrize("query, code", [
    ({"networks": "facebook,myspace"}, "unknown_network"),
    ({"networks": "<script>"}, "unknown_network"),
    ({"networks": "facebook;x"}, "unknown_network"),
    ({"title": "t" * 301}, "title_too_long"),
    ({"text": "t" * 1001}, "text_too_long"),
    ({"image": "javascript:alert(1)"}, "invalid_image"),
    ({"image": "//cdn.example/i.jpg"}, "invalid_image"),
    ({"format": "xml"}, "invalid_format"),
])
def test_bad_share_parameters(client, redis, query, code):
    response = client.get("/api/v1/share", query_string={"url": GOOD, **query})
    error = assert_json_error(response, code)
    assert "<script" not in response.get_data(as_text=True)
    if code == "unknown_network":
        assert "facebook" in error["known"] and "x" in error["known"]
    assert redis.dbsize() == 0


def test_unknown_site_is_404(client, redis):
    assert_json_error(client.get("/api/v1/share", query_string={"url": GOOD, "site": "nope"}),
                      "unknown_site", 404)
    assert_json_error(client.get("/qr", query_string={"url": GOOD, "site": "nope"}),
                      "unknown_site", 404)
    assert redis.dbsize() == 0


@pytest.mark.parametrize("field", ["title", "text"])
@pytest.mark.parametrize("fmt", ["json", "html"])
def test_script_in_title_or_text_is_escaped(client, redis, field, fmt):
    response = client.get("/api/v1/share",
                          query_string={"url": GOOD, field: SCRIPT, "format": fmt})
    assert response.status_code == 200
    raw = response.get_data(as_text=True)
    assert "<script" not in raw
    if fmt == "html":
        assert BeautifulSoup(raw, "lxml").find("script") is None
    assert redis.dbsize() == 0


def test_methods_other_than_get_are_405_json(client, redis):
    for endpoint in ("/api/v1/share", "/qr"):
        response = client.post(endpoint, query_string={"url": GOOD})
        assert response.status_code == 405 and response.get_json()["error"]["code"]
    assert redis.dbsize() == 0


# Validators anchored with "$" let a trailing line break through ("256\n" matched ^[0-9]+$); found
# while fuzzing with schemathesis, now anchored at the very end.
@pytest.mark.parametrize("path, query, code", [
    ("/qr", {"url": GOOD, "size": "256\n"}, "invalid_size"),
    ("/qr", {"url": GOOD, "border": "4\n"}, "invalid_border"),
    ("/qr", {"url": GOOD, "fg": "#000\n"}, "invalid_color"),
    ("/api/v1/stats/summary", {"from": "2026-01-01\n"}, "bad_date"),
    ("/api/v1/stats/top", {"limit": " 5"}, "bad_limit"),
    ("/api/v1/stats/top", {"limit": "٣"}, "bad_limit"),
    # an empty number is no number either (it was read as "the default")
    ("/qr", {"url": GOOD, "size": ""}, "invalid_size"),
    ("/api/v1/stats/top", {"limit": ""}, "bad_limit"),
    ("/api/v1/recommendations", {"url": GOOD, "limit": ""}, "invalid_limit"),
])
def test_values_are_read_whole(client, redis, path, query, code):
    from share_service.accounts import api_keys

    raw, _ = api_keys.create_api_key(redis, "reader", "viewer")
    before = redis.dbsize()
    response = client.get(path, query_string=query, headers={"X-Api-Key": raw})
    assert_json_error(response, code)
    assert redis.dbsize() == before


def test_a_utm_value_with_a_line_break_is_refused(client, redis):
    event = {"type": "visit", "url": GOOD, "network": "x", "utm_medium": "social\n",
             "utm_campaign": "share"}
    assert_json_error(client.post("/api/v1/events", json=event), "invalid_utm")
    assert redis.dbsize() == 0
