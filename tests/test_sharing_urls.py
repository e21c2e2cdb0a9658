"""UTM tagging and canonicalization rules of share_service.urls."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from share_service.config import make_site
from share_service.errors import ApiError
from share_service.sharing import urls

SITE = make_site("lq", {"allowed_hosts": ["www.lequotidien.example", "*.lqstatic.example"]})
UTM = [("utm_source", "facebook"), ("utm_medium", "social"), ("utm_campaign", "share")]


def query_pairs(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


# --- UTM tagging ----------------------------------------------------------------------------------
def test_tag_adds_the_site_utm_for_the_channel():
    tagged = urls.tag("https://www.lequotidien.example/a", SITE, "facebook")
    assert tagged == ("https://www.lequotidien.example/a"
                      "?utm_source=facebook&utm_medium=social&utm_campaign=share")


def test_tag_keeps_existing_query_as_written_and_fragment():
    raw = "https://www.lequotidien.example/a?page=2&q=a+b&x=%2F&flag#commentaires"
    tagged = urls.tag(raw, SITE, "x")
    parts = urlsplit(tagged)
    assert parts.fragment == "commentaires"
    assert parts.query.startswith("page=2&q=a+b&x=%2F&flag&")
    assert query_pairs(tagged)[-3:] == [("utm_source", "x"), ("utm_medium", "social"),
                                        ("utm_campaign", "share")]


def test_existing_utm_and_tracking_parameters_are_replaced_not_duplicated():
    raw = ("https://www.lequotidien.example/a?utm_source=newsletter&id=7&UTM_MEDIUM=email"
           "&fbclid=abc&utm_campaign=old&gclid=z&utm_content=hero#top")
    tagged = urls.tag(raw, SITE, "facebook")
    pairs = query_pairs(tagged)
    assert pairs == [("id", "7")] + UTM
    names = [k.lower() for k, _ in pairs]
    assert len(names) == len(set(names))
    assert urlsplit(tagged).fragment == "top"


def test_tagging_twice_gives_the_same_url():
    once = urls.tag("https://www.lequotidien.example/a?id=1", SITE, "linkedin")
    assert urls.tag(once, SITE, "linkedin") == once
    # re-tagging for another channel replaces, never accumulates
    assert query_pairs(urls.tag(once, SITE, "copy")) == [
        ("id", "1"), ("utm_source", "copy"), ("utm_medium", "social"), ("utm_campaign", "share")]


def test_custom_site_utm_templates():
    site = make_site("blog", {
        "allowed_hosts": ["blog.lequotidien.example"],
        "utm": {"source": "lq-{network}", "medium": "partage social", "campaign": "{network}_2026"},
    })
    tagged = urls.tag("https://blog.lequotidien.example/p", site, "whatsapp")
    assert query_pairs(tagged) == [("utm_source", "lq-whatsapp"), ("utm_medium", "partage social"),
                                   ("utm_campaign", "whatsapp_2026")]
    assert "partage%20social" in tagged  # encoded, never a raw space or '+'


def test_empty_template_leaves_that_parameter_out():
    site = make_site("s", {"allowed_hosts": ["a.example"], "utm": {"campaign": ""}})
    assert query_pairs(urls.tag("https://a.example/", site, "qr")) == [
        ("utm_source", "qr"), ("utm_medium", "social")]


def test_disabled_utm_shares_the_clean_url():
    site = make_site("s", {"allowed_hosts": ["a.example"], "utm": {"enabled": False}})
    raw = "https://a.example/p?id=3&utm_source=old&fbclid=x#f"
    assert urls.tag(raw, site, "facebook") == "https://a.example/p?id=3#f"


@pytest.mark.parametrize("channel", ["copy", "qr", "native", "more_content", "bluesky"])
def test_channels_are_tagged_like_networks(channel):
    assert dict(query_pairs(urls.tag("https://a.example/", SITE, channel)))["utm_source"] == channel


# --- clean URL ----------------------------------------------------------------------------------------
def test_strip_tracking_keeps_everything_else():
    raw = "HTTPS://WWW.LeQuotidien.example:443/Économie/Été?b=2&a=1&utm_term=x&a=0#Partie"
    assert urls.strip_tracking(raw) == (
        "https://www.lequotidien.example/%C3%89conomie/%C3%89t%C3%A9?b=2&a=1&a=0#Partie")


def test_strip_tracking_encodes_characters_not_allowed_in_urls():
    clean = urls.strip_tracking('https://a.example/x"<y>{z}?q=<b>&r=100%#é')
    assert clean == "https://a.example/x%22%3Cy%3E%7Bz%7D?q=%3Cb%3E&r=100%25#%C3%A9"


# --- canonicalization -------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", [
    "https://www.lequotidien.example/a/b?x=1&y=2",
    "HTTPS://WWW.LEQUOTIDIEN.EXAMPLE/a/b?x=1&y=2",
    "https://www.lequotidien.example:443/a/b?x=1&y=2",
    "https://www.lequotidien.example./a/b?x=1&y=2",
    "https://www.lequotidien.example/a/b?y=2&x=1",
    "https://www.lequotidien.example/a/b?x=1&y=2#comments",
    "https://www.lequotidien.example/a/b?x=1&utm_source=fb&y=2&fbclid=123&gclid=9",
    "https://www.lequotidien.example/a/./c/../b?x=1&y=2",
    "https://www.lequotidien.example/%61/%62?x=%31&y=2",
])
def test_variants_of_one_article_share_one_canonical_url(variant):
    assert urls.canonical(variant) == "https://www.lequotidien.example/a/b?x=1&y=2"


def test_default_ports_dropped_other_ports_kept():
    assert urls.canonical("http://a.example:80/") == "http://a.example/"
    assert urls.canonical("https://a.example:8443/") == "https://a.example:8443/"
    assert urls.canonical("http://a.example:443/") == "http://a.example:443/"


def test_scheme_is_kept():
    assert urls.canonical("http://a.example/p") != urls.canonical("https://a.example/p")


def test_empty_path_becomes_slash():
    assert urls.canonical("https://a.example") == "https://a.example/"
    assert urls.canonical("https://a.example?x=1") == "https://a.example/?x=1"


def test_idna_host():
    assert urls.canonical("https://Exämple.FR/été") == "https://xn--exmple-cua.fr/%C3%A9t%C3%A9"
    assert urls.canonical("https://xn--exmple-cua.fr/%c3%a9t%c3%a9") == (
        "https://xn--exmple-cua.fr/%C3%A9t%C3%A9")


def test_percent_encoding_normalized_but_reserved_escapes_kept():
    # hex upper-cased, unreserved decoded, %2F (a '/' inside a segment) kept as an escape
    assert urls.canonical("https://a.example/a%2fb/%7euser/%41") == "https://a.example/a%2Fb/~user/A"
    # invalid UTF-8 escapes are kept, not a crash
    assert urls.canonical("https://a.example/%ff%FE") == "https://a.example/%FF%FE"
    # a stray '%'
    assert urls.canonical("https://a.example/100%") == "https://a.example/100%25"


def test_query_normalization():
    # '+' and %20 are the same space in a query; values re-encoded the same way; blank kept
    assert urls.canonical("https://a.example/?q=a+b&e=") == urls.canonical(
        "https://a.example/?e=&q=a%20b")
    # equal names keep their relative order (order matters for repeated parameters)
    assert urls.canonical("https://a.example/?t=2&a=1&t=1") == "https://a.example/?a=1&t=2&t=1"


@pytest.mark.parametrize("name", ["utm_source", "UTM_Campaign", "utm_anything", "fbclid",
                                  "gclid", "msclkid", "mc_eid", "_ga", "xtor", "igshid"])
def test_tracking_parameters_are_dropped(name):
    assert urls.canonical(f"https://a.example/p?{name}=1&id=2") == "https://a.example/p?id=2"


def test_article_from_request_gives_clean_and_canonical():
    clean, canonical = urls.article_from_request(
        "  https://WWW.lequotidien.example/a?z=1&utm_source=x&b=2#frag ", SITE)
    assert clean == "https://www.lequotidien.example/a?z=1&b=2#frag"
    assert canonical == "https://www.lequotidien.example/a?b=2&z=1"


@pytest.mark.parametrize("raw, code", [
    (None, "missing_url"), ("", "missing_url"), ("   ", "missing_url"),
    ("ftp://www.lequotidien.example/a", "invalid_url"),
    ("javascript:alert(1)", "invalid_url"),
    ("JaVaScRiPt://www.lequotidien.example/%0aalert(1)", "invalid_url"),
    ("data:text/html,<script>alert(1)</script>", "invalid_url"),
    ("//www.lequotidien.example/a", "invalid_url"),
    ("https:///a", "invalid_url"),
    ("https://user:pw@www.lequotidien.example/", "invalid_url"),
    ("https://www.lequotidien.example:99999/", "invalid_url"),
    ("https://www.lequotidien.example/a b", "invalid_url"),
    ("https://www.lequotidien.example\\@evil.example/", "invalid_url"),
    ("https://www.lequotidien.example/\r\nSet-Cookie:x", "invalid_url"),
    ("https://evil.example/a", "host_not_allowed"),
    ("https://www.lequotidien.example.evil.example/", "host_not_allowed"),
    ("https://evil.example#@www.lequotidien.example/", "host_not_allowed"),
    ("https://" + "a" * 64 + "é.example/", "invalid_url"),
    ("https://www.lequotidien.example/" + "a" * 2048, "url_too_long"),
])
def test_bad_urls_are_refused(raw, code):
    with pytest.raises(ApiError) as info:
        urls.article_from_request(raw, SITE)
    assert info.value.code == code and 400 <= info.value.status < 500


def test_wildcard_hosts():
    for host in ("lqstatic.example", "img.lqstatic.example", "a.b.lqstatic.example"):
        urls.article_from_request(f"https://{host}/x", SITE)
    with pytest.raises(ApiError):
        urls.article_from_request("https://evillqstatic.example/x", SITE)


def test_lookalikes_are_the_other_forms_a_publisher_gives_one_page():
    assert urls.lookalikes("https://www.lequotidien.example/a/la-crue/") == [
        "https://www.lequotidien.example/a/la-crue",
        "https://lequotidien.example/a/la-crue/",
        "https://lequotidien.example/a/la-crue",
        "http://www.lequotidien.example/a/la-crue/",
        "http://www.lequotidien.example/a/la-crue",
        "http://lequotidien.example/a/la-crue/",
        "http://lequotidien.example/a/la-crue",
    ]
    # the root has no slash variant; the query is kept as it is
    assert urls.lookalikes("https://x.fr/") == ["https://www.x.fr/", "http://x.fr/", "http://www.x.fr/"]
    assert all(u.endswith("?id=3") for u in urls.lookalikes("https://x.fr/a?id=3"))
