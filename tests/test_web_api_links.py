"""GET /api/v1/share: JSON shape, networks subset / order / language, copy snippets, the
server-rendered bar, caching and privacy headers, and links answering while Redis is down."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from bs4 import BeautifulSoup

from share_service.sharing import networks

ARTICLE = "https://www.lequotidien.example/politique/l-ete-des-reformes?page=2#commentaires"
CLEAN = ARTICLE
CANONICAL = "https://www.lequotidien.example/politique/l-ete-des-reformes?page=2"
TITLE = "L’été des réformes : « tout reste à faire » [analyse] (2/3) *urgent* & <b>"
DEFAULT_NETWORKS = ["facebook", "x", "linkedin", "whatsapp", "bluesky", "email"]


def params(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def get_share(client, **query):
    return client.get("/api/v1/share", query_string=query)

def host_page(live_server, heading: str, fragment: str) -> str:
    """A publisher's article page around the share HTML fragment, with the service's stylesheet."""
    return ('<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Article</title>'
            f'<link rel="stylesheet" href="{live_server.url}/static/share-bar.css"></head>'
            f"<body><main><h1>{heading}</h1>{fragment}</main></body></html>")


def axe_violations(browser, page_html: str) -> list:
    """axe-core's violations (id, targets) on ``page_html`` loaded with JavaScript on."""
    from axe_playwright_python.sync_playwright import Axe

    page = browser.new_page()
    try:
        page.set_content(page_html, wait_until="load")
        violations = Axe().run(page).response["violations"]
        return [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    finally:
        page.close()



def test_json_shape_and_default_networks(client):
    response = get_share(client, title=TITLE, url="https://www.lequotidien.example/politique/"
                         "l-ete-des-reformes?utm_source=old&page=2&fbclid=1#commentaires")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"site", "url", "canonical_url", "lang", "networks", "copy", "qr",
                         "counts_url"}
    assert body["site"] == "default" and body["lang"] == "fr"
    assert body["url"] == "https://www.lequotidien.example/politique/l-ete-des-reformes?page=2#commentaires"
    assert body["canonical_url"] == CANONICAL
    assert [n["id"] for n in body["networks"]] == DEFAULT_NETWORKS
    for entry in body["networks"]:
        assert set(entry) == {"id", "name", "label", "share_url", "tracked_url", "color", "popup",
                              "icon"}
        net = networks.get(entry["id"])
        assert entry["share_url"].startswith(net.endpoint)
        assert entry["color"] == net.color
        assert entry["icon"].startswith("<svg") and 'aria-hidden="true"' in entry["icon"]
    facebook = body["networks"][0]
    assert facebook["label"] == "Partager sur Facebook"
    assert facebook["popup"] == {"width": 600, "height": 500}
    assert body["networks"][-1]["popup"] is None  # email: mailto, no popup


def test_share_urls_carry_the_utm_tagged_article(client):
    body = get_share(client, url=ARTICLE, title=TITLE).get_json()
    by_id = {n["id"]: n for n in body["networks"]}
    fb_url = params(by_id["facebook"]["share_url"])["u"]
    assert fb_url == ("https://www.lequotidien.example/politique/l-ete-des-reformes?page=2"
                      "&utm_source=facebook&utm_medium=social&utm_campaign=share#commentaires")
    x = params(by_id["x"]["share_url"])
    assert x["text"] == TITLE and "utm_source=x" in x["url"]
    assert params(by_id["linkedin"]["share_url"]) == {
        "url": CLEAN.replace("#", "&utm_source=linkedin&utm_medium=social&utm_campaign=share#")}


def test_tracked_urls_point_at_this_service_with_the_clean_url(client):
    body = get_share(client, url=ARTICLE, title=TITLE, text="Ligne 1\nLigne 2",
                     image="https://cdn.lequotidien.example/i.jpg").get_json()
    for entry in body["networks"]:
        tracked = urlsplit(entry["tracked_url"])
        assert (tracked.scheme, tracked.netloc, tracked.path) == ("http", "localhost",
                                                                  f"/s/{entry['id']}")
        assert params(entry["tracked_url"]) == {
            "url": CLEAN, "title": TITLE, "text": "Ligne 1\nLigne 2",
            "image": "https://cdn.lequotidien.example/i.jpg"}
    assert params(body["qr"]["svg"]) == {"url": CLEAN, "format": "svg"}
    assert params(body["qr"]["png"]) == {"url": CLEAN, "format": "png"}
    assert urlsplit(body["qr"]["png"]).path == "/qr"
    assert urlsplit(body["counts_url"]).path == "/api/v1/counts"
    assert params(body["counts_url"]) == {"url": CLEAN}


def test_public_url_setting_is_the_base_of_service_links(make_app, redis):
    client = make_app({"PUBLIC_URL": "https://share.lequotidien.example/"}).test_client()
    body = get_share(client, url=ARTICLE).get_json()
    assert body["networks"][0]["tracked_url"].startswith("https://share.lequotidien.example/s/")
    assert body["qr"]["svg"].startswith("https://share.lequotidien.example/qr?")


def test_networks_subset_order_aliases_and_duplicates(client):
    body = get_share(client, url=ARTICLE, networks="mastodon, twitter,reddit,x,hn,").get_json()
    assert [n["id"] for n in body["networks"]] == ["mastodon", "x", "reddit", "hackernews"]
    assert params(body["networks"][0]["share_url"])  # the official picker, text inside
    assert body["networks"][0]["share_url"].startswith("https://share.joinmastodon.org/?text=")


@pytest.mark.parametrize("lang, label, email_label", [
    ("en", "Share on Facebook", "Send by email"),
    ("de-DE", "Auf Facebook teilen", "Per E-Mail senden"),
    ("es", "Compartir en Facebook", "Enviar por correo"),
    ("xx", "Partager sur Facebook", "Envoyer par e-mail"),  # unknown: the site's language
])
def test_lang(client, lang, label, email_label):
    response = get_share(client, url=ARTICLE, lang=lang, networks="facebook,email")
    body = response.get_json()
    assert [n["label"] for n in body["networks"]] == [label, email_label]
    assert response.headers["Content-Language"] == body["lang"]


def test_copy_snippets(client):
    body = get_share(client, url=ARTICLE, title=TITLE).get_json()
    copy_url = ("https://www.lequotidien.example/politique/l-ete-des-reformes?page=2"
                "&utm_source=copy&utm_medium=social&utm_campaign=share#commentaires")
    assert body["copy"]["url"] == copy_url
    anchor = BeautifulSoup(body["copy"]["html"], "html.parser").a
    assert anchor["href"] == copy_url and anchor.get_text() == TITLE
    assert "<b>" not in body["copy"]["html"] and "&lt;b&gt;" in body["copy"]["html"]
    assert body["copy"]["markdown"] == (
        r"[L’été des réformes : « tout reste à faire » \[analyse\] \(2/3\) \*urgent\* \& &lt;b&gt;]"
        f"({copy_url})")


def test_markdown_link_target_parentheses_are_encoded(client):
    body = get_share(client, url="https://www.lequotidien.example/wiki/Paris_(ville)",
                     title="Paris").get_json()
    assert body["copy"]["markdown"] == (
        "[Paris](https://www.lequotidien.example/wiki/Paris_%28ville%29"
        "?utm_source=copy&utm_medium=social&utm_campaign=share)")


def test_copy_without_title_uses_the_url(client):
    body = get_share(client, url="https://www.lequotidien.example/a").get_json()
    url = body["copy"]["url"]
    assert body["copy"]["html"] == f'<a href="{html.escape(url)}">{html.escape(url, quote=False)}</a>'


def test_site_hashtags_via_and_utm_templates(make_app, redis):
    app = make_app({"DEFAULT_SITE": "lq", "SITES": {"lq": {
        "allowed_hosts": ["www.lequotidien.example"],
        "networks": ["x", "facebook", "bluesky", "threads", "linkedin"],
        "hashtags": ["#climat", "été"], "twitter_via": "@lequotidien",
        "utm": {"campaign": "partage-{network}", "medium": "reseaux"},
    }}})
    body = get_share(app.test_client(), url=ARTICLE, text="À lire").get_json()
    assert body["site"] == "lq"
    by_id = {n["id"]: params(n["share_url"]) for n in body["networks"]}
    assert by_id["x"]["hashtags"] == "climat,été" and by_id["x"]["via"] == "lequotidien"
    assert "utm_campaign=partage-x" in by_id["x"]["url"] and "utm_medium=reseaux" in by_id["x"]["url"]
    assert by_id["facebook"]["hashtag"] == "#climat"
    assert by_id["bluesky"]["text"].endswith("#climat #été")
    assert by_id["threads"]["tag"] == "climat"
    assert set(by_id["linkedin"]) == {"url"}  # LinkedIn takes the URL only


def test_html_fragment(client):
    response = get_share(client, url=ARTICLE, title=TITLE + "<script>alert(1)</script>",
                         format="html", networks="facebook,x,email")
    assert response.status_code == 200 and response.mimetype == "text/html"
    soup = BeautifulSoup(response.get_data(as_text=True), "lxml")
    assert soup.find("script") is None
    assert "<script>" not in response.get_data(as_text=True)
    assert not soup.find_all(style=True)
    for tag in soup.find_all(True):
        if tag.name in ("html", "body", "svg", "path"):
            continue
        for cls in tag.get("class", []):
            assert cls.startswith("ssw-"), (tag.name, cls)
    nav = soup.find("nav")
    assert nav["aria-label"] == "Partager cet article" and nav["lang"] == "fr"
    links = nav.select("a.ssw-link")
    assert [a["data-ssw-network"] for a in links] == ["facebook", "x", "email"]
    names = [" ".join(a.get_text(" ", strip=True).split()) for a in links]
    assert names == ["Partager sur Facebook (nouvelle fenêtre)",
                     "Partager sur X (nouvelle fenêtre)", "Envoyer par e-mail"]
    body = get_share(client, url=ARTICLE, title=TITLE + "<script>alert(1)</script>",
                     networks="facebook,x,email").get_json()
    for a, entry in zip(links, body["networks"], strict=True):
        assert a["href"] == entry["tracked_url"]
        assert a.find("svg")["aria-hidden"] == "true"
    assert links[0]["target"] == "_blank" and links[0]["rel"] == ["noopener"]
    assert links[2].get("target") is None  # mailto stays in place
    copy_input = nav.select_one("input.ssw-copy-input")
    assert copy_input.has_attr("readonly") and copy_input["value"] == body["copy"]["url"]
    assert copy_input.find_parent("label").get_text(strip=True) == "Lien de cet article"
    status = nav.select_one(".ssw-status")
    assert status["role"] == "status" and status.get_text() == ""
    qr = nav.select_one("a.ssw-qr")
    assert qr["href"] == body["qr"]["svg"]
    assert " ".join(qr.get_text(" ", strip=True).split()) == "Code QR (nouvelle fenêtre)"


def test_title_and_text_are_never_reflected_unescaped(client):
    evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    for fmt in ("json", "html"):
        response = get_share(client, url=ARTICLE, title=evil, text=evil, format=fmt)
        assert response.status_code == 200
        raw = response.get_data(as_text=True)
        assert "<script" not in raw and "<img" not in raw
        if fmt == "html":
            soup = BeautifulSoup(raw, "lxml")
            assert not soup.find_all(["script", "img"])
            assert not [a for tag in soup.find_all(True) for a in tag.attrs if a.startswith("on")]
    body = get_share(client, url=ARTICLE, title=evil).get_json()
    assert params(body["networks"][1]["share_url"])["text"] == evil  # passed on intact, encoded
    assert not BeautifulSoup(body["copy"]["html"], "html.parser").find_all(["script", "img"])


def test_title_and_text_cleaning(client):
    body = get_share(client, url=ARTICLE, title="  Titre\nsur\r\ndeux\tlignes\x00 ",
                     text="Ligne 1\r\nLigne 2\x07\u2028Ligne 3 ", networks="x,email").get_json()
    tracked = params(body["networks"][0]["tracked_url"])
    assert tracked["title"] == "Titre sur deux lignes"
    assert tracked["text"] == "Ligne 1\nLigne 2\nLigne 3"


def test_cache_headers_and_no_cookie(client):
    response = get_share(client, url=ARTICLE)
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Set-Cookie" not in response.headers
    assert "Origin" in response.headers.get("Vary", "")


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_links_answer_while_redis_is_down(make_app, tmp_path, fmt):
    app = make_app({"REDIS_URL": f"unix://{tmp_path}/no-redis-here.sock",
                    "REDIS_SOCKET_TIMEOUT": 0.2, "REDIS_CONNECT_TIMEOUT": 0.2})
    client = app.test_client()
    response = get_share(client, url=ARTICLE, title=TITLE, format=fmt)
    assert response.status_code == 200
    if fmt == "json":
        assert len(response.get_json()["networks"]) == len(DEFAULT_NETWORKS)
    else:
        assert len(re.findall(r'class="ssw-link ', response.get_data(as_text=True))) == 6
    qr = client.get("/qr", query_string={"url": ARTICLE, "format": "png"})
    assert qr.status_code == 200 and qr.mimetype == "image/png"


@pytest.mark.browser
def test_bar_in_a_real_browser_accessible_and_working_without_js(live_server, browser,
                                                                  artifacts_dir):
    """The server-rendered bar on a page with JavaScript disabled: links with accessible names,
    the copy field readable, no axe violation at all."""
    import requests

    fragment = requests.get(f"{live_server.url}/api/v1/share", timeout=10, params={
        "url": ARTICLE, "title": TITLE, "format": "html",
        "networks": "facebook,x,linkedin,whatsapp,bluesky,mastodon,email"}).text
    page_html = host_page(live_server, "L’été des réformes", fragment)
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    try:
        page = context.new_page()
        page.set_content(page_html, wait_until="load")
        facebook = page.get_by_role("link", name="Partager sur Facebook (nouvelle fenêtre)")
        assert facebook.get_attribute("href").startswith(f"{live_server.url}/s/facebook?url=")
        assert facebook.bounding_box()["width"] >= 44 and facebook.bounding_box()["height"] >= 44
        assert page.get_by_role("link", name="Envoyer par e-mail").count() == 1
        field = page.get_by_role("textbox", name="Lien de cet article")
        assert "utm_source=copy" in field.input_value()
        assert page.get_by_role("button").count() == 0  # the script-only copy button stays hidden
        assert page.get_by_role("link", name="Code QR (nouvelle fenêtre)").count() == 1
        page.screenshot(path=f"{artifacts_dir}/share-bar-no-js.png")
    finally:
        context.close()
    assert axe_violations(browser, page_html) == []


def test_tracked_urls_fit_gunicorns_request_line_limit(client):
    long_url = "https://www.lequotidien.example/" + "%C3%A9" * 300  # 1800+ characters encoded
    body = get_share(client, url=long_url, title="T" * 300, text="😀 " * 500,
                     image="https://cdn.lequotidien.example/i.jpg").get_json()
    for entry in body["networks"]:
        parts = urlsplit(entry["tracked_url"])
        assert len(parts.path) + 1 + len(parts.query) <= 4000
        tracked = params(entry["tracked_url"])
        assert tracked["url"] == long_url and tracked["title"] == "T" * 300
        assert tracked["text"].endswith("…") and ("😀 " * 500).startswith(tracked["text"][:-1])
        assert tracked["image"] == "https://cdn.lequotidien.example/i.jpg"


def test_answers_are_memoized_but_each_caller_gets_its_own_copy(app):
    from share_service.sharing import payload

    article = app.extensions["articles"].resolve(ARTICLE)
    payload._share_payload.cache_clear()
    first = payload.share_payload(article, base_url="http://s", title=TITLE)
    first["networks"][0]["popup"]["width"] = 1
    first["copy"]["url"] = "changed"
    second = payload.share_payload(article, base_url="http://s", title=TITLE)
    assert payload._share_payload.cache_info().hits == 1
    assert second["networks"][0]["popup"]["width"] == 600
    assert "utm_source=copy" in second["copy"]["url"]


# --- format=html: « Plus de contenu » after the bar ----------------------------------------------
def test_share_html_renders_plus_de_contenu_and_json_stays_as_it_was(app, client, redis):
    from support import CANONICAL, seed_catalogue

    seed_catalogue(app, redis, n=5, image="https://cdn.lequotidien.example/i.jpg")
    response = get_share(client, url=CANONICAL, format="html", more="3", lang="en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script" not in html and " style=" not in html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("nav", class_="ssw-bar") is not None  # the bar, then the block
    block = soup.find("section", class_="ssw-more")
    assert block.find("h2").get_text(strip=True) == "More content"
    links = block.select("li a")
    assert len(links) == 3
    for link in links:
        assert params(link["href"])["utm_source"] == "more_content"
        assert urlsplit(link["href"]).netloc == "www.lequotidien.example"
        assert not link.has_attr("target")  # in the publisher's own page: a plain link
        image = link.find("img")
        assert (image["loading"], image["width"], image["height"]) == ("lazy", "640", "360")
    # the site's default (4) without the parameter; 0 hides it
    default = BeautifulSoup(get_share(client, url=CANONICAL, format="html").get_data(as_text=True),
                            "html.parser")
    assert len(default.select("section.ssw-more li")) == 4
    hidden = get_share(client, url=CANONICAL, format="html", more="0").get_data(as_text=True)
    assert "ssw-more" not in hidden
    bad = get_share(client, url=CANONICAL, format="html", more="lots")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_more"
    # JSON answers are unchanged: no recommendations in them
    body = get_share(client, url=CANONICAL).get_json()
    assert set(body) == {"site", "url", "canonical_url", "lang", "networks", "copy", "qr",
                         "counts_url"}


def test_share_html_without_redis_has_the_bar_without_the_block(make_app, tmp_path):
    app = make_app({"REDIS_URL": f"unix://{tmp_path}/no-redis-here.sock",
                    "REDIS_SOCKET_TIMEOUT": 0.2, "REDIS_CONNECT_TIMEOUT": 0.2})
    response = get_share(app.test_client(), url=ARTICLE, format="html", more="4")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert len(re.findall(r'class="ssw-link ', html)) == 6 and "ssw-more" not in html
    assert response.headers["Cache-Control"] == "public, max-age=30"


@pytest.mark.browser
def test_share_html_block_in_a_real_browser_without_javascript(live_server, browser, redis,
                                                               artifacts_dir):
    """The fragment in a page with JavaScript disabled: the block is a labelled region with a
    heading, its links reachable by name, its lazy images reserving their box before they load,
    and no axe violation."""
    import requests
    from support import CANONICAL, seed_catalogue

    seed_catalogue(live_server, redis, n=4)
    fragment = requests.get(f"{live_server.url}/api/v1/share", timeout=10, params={
        "url": CANONICAL, "title": "La Brenne", "format": "html"}).text
    page_html = host_page(live_server, "La Brenne", fragment)
    context = browser.new_context(java_script_enabled=False, locale="fr-FR",
                                  viewport={"width": 1000, "height": 700})
    try:
        page = context.new_page()
        page.set_content(page_html, wait_until="load")
        region = page.get_by_role("region", name="Plus de contenu")
        assert region.get_by_role("heading", name="Plus de contenu").is_visible()
        links = region.get_by_role("link")
        assert links.count() == 4
        assert "utm_source=more_content" in links.first.get_attribute("href")
        box = region.locator("img").first.bounding_box()
        assert box["width"] > 100 and abs(box["width"] / box["height"] - 16 / 9) < 0.05
        page.screenshot(path=f"{artifacts_dir}/share-bar-more-no-js.png", full_page=True)
    finally:
        context.close()
    assert axe_violations(browser, page_html) == []
