"""Every network's share URL, decoded back: each parameter must be exactly what the network should
receive, whatever the Unicode (accents, ’, « », emoji, &, #, %, +, spaces, line breaks)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from lxml import etree

from share_service.sharing import networks
from share_service.sharing.networks import ShareInput

# The (already tagged) article URL a network receives: query, escapes and fragment included.
URL = ("https://www.lequotidien.example/%C3%A9conomie/l-ete-brulant?id=42&q=a%2Bb"
       "&utm_source=x&utm_medium=social&utm_campaign=share#partie-2")
TITLE = "L’été « brûlant » : 5 % & #1 + 2 = 😀 🇫🇷"
TEXT = "Première ligne\nDeuxième : « ça chauffe » & 100 % + #été 😀\n\nFin?=/ "
IMAGE = "https://cdn.lequotidien.example/img/%C3%A9t%C3%A9.jpg?w=1200&h=630"
HASHTAGS = ("climat", "été")
VIA = "lequotidien"
DATA = ShareInput(url=URL, title=TITLE, text=TEXT, hashtags=HASHTAGS, via=VIA, image=IMAGE)

# What each network must receive: (endpoint, {parameter: decoded value}).
EXPECTED = {
    "facebook": ("https://www.facebook.com/sharer/sharer.php", {"u": URL, "hashtag": "#climat"}),
    "x": ("https://x.com/intent/tweet",
          {"text": TEXT, "url": URL, "hashtags": "climat,été", "via": VIA}),
    "linkedin": ("https://www.linkedin.com/sharing/share-offsite/", {"url": URL}),
    "whatsapp": ("https://wa.me/", {"text": f"{TEXT} {URL}"}),
    "telegram": ("https://t.me/share/url", {"url": URL, "text": TEXT}),
    "reddit": ("https://www.reddit.com/submit", {"url": URL, "title": TITLE}),
    "email": ("mailto:", {"subject": TITLE,
                          "body": TEXT.replace("\n", "\r\n") + "\r\n\r\n" + URL}),
    "pinterest": ("https://www.pinterest.com/pin/create/button/",
                  {"url": URL, "media": IMAGE, "description": TEXT}),
    "bluesky": ("https://bsky.app/intent/compose", {"text": f"{TEXT} {URL} #climat #été"}),
    "threads": ("https://www.threads.com/intent/post", {"text": TEXT, "url": URL, "tag": "climat"}),
    "mastodon": ("https://share.joinmastodon.org/", {"text": f"{TEXT} {URL} #climat #été"}),
    "hackernews": ("https://news.ycombinator.com/submitlink", {"u": URL, "t": TITLE}),
    "xing": ("https://www.xing.com/spi/shares/new", {"url": URL}),
    "vk": ("https://vk.com/share.php", {"url": URL, "title": TITLE, "image": IMAGE}),
    "line": ("https://social-plugins.line.me/lineit/share", {"url": URL, "text": TEXT}),
}
# After percent-encoding a value may only hold unreserved characters and escapes.
ENCODED_VALUE = re.compile(r"^(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})*$")


def split_share_url(share_url: str) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
    """(endpoint, raw pairs, decoded pairs) of a share URL."""
    endpoint, _, query = share_url.partition("?")
    raw = [tuple(segment.split("=", 1)) for segment in query.split("&")]
    decoded = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    return endpoint, raw, decoded


def test_every_registered_network_is_checked():
    assert set(EXPECTED) == set(networks.REGISTRY)
    assert {"facebook", "x", "linkedin", "whatsapp", "telegram", "reddit", "email", "pinterest",
            "bluesky", "threads", "mastodon", "hackernews", "xing", "vk", "line"} <= set(EXPECTED)


@pytest.mark.parametrize("network_id", sorted(EXPECTED))
def test_share_url_carries_exact_parameters(network_id):
    endpoint, params = EXPECTED[network_id]
    share_url = networks.get(network_id).share_url(DATA)
    got_endpoint, raw, decoded = split_share_url(share_url)
    assert got_endpoint == endpoint
    assert dict(decoded) == params
    assert [k for k, _ in decoded] == [k for k, _ in raw]  # one value per parameter
    assert len({k for k, _ in decoded}) == len(decoded)
    for name, value in raw:
        # fully percent-encoded, UTF-8, upper-case hex, never '+' for a space
        assert ENCODED_VALUE.match(value), (name, value)
        assert unquote(value, errors="strict") == params[name]
    assert "+" not in share_url.partition("?")[2]


@pytest.mark.parametrize("network_id", sorted(EXPECTED))
def test_endpoint_matches_registry_and_is_https_or_mailto(network_id):
    net = networks.get(network_id)
    share_url = net.share_url(DATA)
    assert share_url.startswith(net.endpoint)
    scheme = urlsplit(share_url).scheme
    assert scheme == ("mailto" if network_id == "email" else "https")


def test_mailto_spaces_are_percent_20_and_breaks_crlf():
    share_url = networks.get("email").share_url(DATA)
    assert "%20" in share_url and "+" not in share_url
    assert "%0D%0A" in share_url
    assert re.search(r"(?<!%0D)%0A", share_url) is None  # no bare LF


def test_empty_values_are_left_out():
    bare = ShareInput(url="https://www.lequotidien.example/a")
    for net in networks.all_networks():
        _, raw, _ = split_share_url(net.share_url(bare))
        assert all(value for _, value in raw), net.id


def test_email_without_text_or_title():
    only_url = networks.get("email").share_url(ShareInput(url=URL))
    assert dict(split_share_url(only_url)[2]) == {"body": URL}
    text_only = networks.get("email").share_url(ShareInput(url=URL, text="Ligne 1\nLigne 2"))
    assert dict(split_share_url(text_only)[2]) == {
        "subject": "Ligne 1", "body": "Ligne 1\r\nLigne 2\r\n\r\n" + URL}


def test_title_is_used_when_there_is_no_text():
    data = ShareInput(url=URL, title=TITLE)
    assert dict(split_share_url(networks.get("x").share_url(data))[2])["text"] == TITLE
    assert dict(split_share_url(networks.get("whatsapp").share_url(data))[2]) == {
        "text": f"{TITLE} {URL}"}


@pytest.mark.parametrize("alias, network_id", [
    ("twitter", "x"), ("Twitter", "x"), (" X ", "x"), ("hn", "hackernews"), ("mail", "email"),
    ("FACEBOOK", "facebook"),
])
def test_aliases(alias, network_id):
    assert networks.get(alias).id == network_id


@pytest.mark.parametrize("name", ["", "myspace", "twitter.com", None, "x,y"])
def test_unknown_network(name):
    assert networks.get(name) is None


def test_x_text_is_shortened_to_fit_and_the_link_survives():
    long_text = "Réforme « totale » : " + "très long texte " * 40 + "😀" * 20
    data = ShareInput(url=URL, text=long_text, hashtags=HASHTAGS, via=VIA)
    params = dict(split_share_url(networks.get("x").share_url(data))[2])
    assert params["url"] == URL
    assert params["text"].endswith("…")
    assert long_text.startswith(params["text"][:-1])
    budget = 280 - 23 - 1 - len(" via @lequotidien") - len(" #climat #été")
    assert networks.x_weight(params["text"]) <= budget
    # CJK and emoji weigh 2 (twitter-text v3), Latin and French accents 1
    assert networks.x_weight("é’«") == 3 and networks.x_weight("日😀") == 4


def test_bluesky_post_stays_within_300_and_keeps_link_and_tags():
    long_text = "Un été « brûlant » " * 40
    params = dict(split_share_url(networks.get("bluesky").share_url(
        ShareInput(url=URL, text=long_text, hashtags=HASHTAGS)))[2])
    assert len(params["text"]) <= 300
    assert params["text"].endswith(f"… {URL} #climat #été")


def test_threads_topic_tag_skips_invalid_tags():
    data = ShareInput(url=URL, text="t", hashtags=("a.b", "x&y", "bon_tag"))
    assert dict(split_share_url(networks.get("threads").share_url(data))[2])["tag"] == "bon_tag"


@pytest.mark.parametrize("instance, ok", [
    ("mastodon.social", True), ("piaille.fr", True), ("MAMOT.fr", True),
    ("127.0.0.1", False), ("localhost", False), ("evil.example:8080", False),
    ("evil.example/path", False), ("user@evil.example", False), ("", False),
])
def test_mastodon_instance_or_official_picker(instance, ok):
    share_url = networks.get("mastodon").share_url(ShareInput(url=URL, text="t", instance=instance))
    endpoint = split_share_url(share_url)[0]
    if ok:
        assert endpoint == f"https://{instance.lower()}/share"
    else:
        assert endpoint == networks.MASTODON_PICKER


@pytest.mark.parametrize("network_id", sorted(EXPECTED))
def test_icon_svg_is_decorative_inline_svg(network_id):
    svg = networks.icon_svg(network_id, 32)
    root = etree.fromstring(svg.encode())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("aria-hidden") == "true" and root.get("focusable") == "false"
    assert root.get("viewBox") == "0 0 24 24" and root.get("width") == "32"
    (path,) = root
    d = path.get("d")
    assert d and d[0] in "Mm" and len(d) > 60
    assert re.fullmatch(r"[MmLlHhVvCcSsQqTtAaZz0-9.,\s-]+", d)  # path data only, no markup
    with pytest.raises(KeyError):
        networks.icon_svg("myspace")


@pytest.mark.browser
def test_icons_draw_inside_the_24_box_in_a_real_browser(page, artifacts_dir):
    """Every icon path really draws a shape filling most of its 24x24 box (Chromium's getBBox)."""
    body = "".join(f'<span id="{n.id}">{networks.icon_svg(n, 48)}</span>'
                   for n in networks.all_networks())
    page.set_content(f"<!doctype html><html><body>{body}</body></html>")
    boxes = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('span')].map(
        s => { const b = s.querySelector('path').getBBox();
               return [s.id, [b.x, b.y, b.width, b.height]]; }))""")
    page.screenshot(path=f"{artifacts_dir}/network-icons.png")
    assert set(boxes) == set(EXPECTED)
    for network_id, (x, y, w, h) in boxes.items():
        assert x >= -0.5 and y >= -0.5 and x + w <= 24.5 and y + h <= 24.5, network_id
        assert max(w, h) >= 18, network_id  # a logo, not a dot
