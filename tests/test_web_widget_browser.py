"""The widget in a real headless Chromium, end to end against the real service (live_server,
real Redis): a publisher's article page is served by a second tiny server on another port
(another origin), loads <service>/widget.js and is clicked, typed and audited like a reader would.

Every request to any other host is answered by a local stub and recorded, so a test can prove
nothing third-party loads; the tracked redirect (/s/<network>) is the real one, and the network
page its 302 points to is recorded (``page.shared``) and stubbed.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from support import BROWSER_UA, CANONICAL, flush_recorder, seed_catalogue
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from share_service.sharing import urls
from share_service.storage import keyspace

pytestmark = pytest.mark.browser

OG_TITLE = "La Brenne « à l’air libre » : 800 mètres rendus à la ville"
UTM = "utm_medium=social&utm_campaign=share"
DEEP_ACTIVE = """() => { let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  return a ? (a.getAttribute('aria-label') || a.textContent.trim()) : null; }"""


class HostSite:
    """A publisher's site on its own origin: path -> (html, extra headers)."""

    def __init__(self):
        self.pages: dict[str, tuple[str, dict]] = {}
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @Request.application
    def wsgi(self, request):
        html, headers = self.pages.get(request.path, ("not found", {}))
        mimetype = "text/css" if request.path.endswith(".css") else "text/html"
        return Response(html, mimetype=mimetype, headers=headers)

    def add(self, path: str, body: str, service: str, *, head: str = "", headers=None) -> str:
        self.pages[path] = (f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Document title | Le Quotidien</title>
<link rel="canonical" href="{CANONICAL}">
<meta property="og:title" content="{OG_TITLE}">
{head}<script src="{service}/widget.js" async></script>
</head><body><main><h1>Un article</h1><p>Texte de l'article.</p>
{body}</main></body></html>""", headers or {})
        return self.url + path

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def host_site():
    site = HostSite()
    yield site
    site.stop()


@pytest.fixture
def app(make_app, redis, host_site):
    """The service, configured like a publisher's: its article host, and the origin of its
    pages (the host site, on another port) allowed to read the widget API (CORS)."""
    from conftest import TEST_HOSTS

    return make_app({"SITES": {"default": {"allowed_hosts": TEST_HOSTS,
                                           "cors_origins": [host_site.url]}}})


@pytest.fixture
def reader(browser):
    """A reader's page: French, clipboard allowed, a regular (non-headless) Chrome user agent
    (the service does not count bots, and HeadlessChrome is one). Requests to any host but
    127.0.0.1 are answered by a stub and listed in ``page.third_party``."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1100, "height": 900},
                                  user_agent=BROWSER_UA)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    third_party: list[str] = []
    shared: list[str] = []  # where the tracked redirects sent the reader

    def route(r):
        parts = urlsplit(r.request.url)
        if parts.hostname == "127.0.0.1" and parts.path.startswith("/s/"):
            # The real tracked redirect, fetched as is: its 302 Location (the network's share
            # page) is recorded and a stub stands for that page (Playwright does not route the
            # targets of redirects, and the tests must not reach the real networks).
            answer = r.fetch(max_redirects=0)
            assert answer.status == 302, answer.status
            shared.append(answer.headers["location"])
            r.fulfill(status=200, content_type="text/html", body="<!doctype html><title>stub</title>")
        elif parts.hostname == "127.0.0.1":
            r.continue_()
        else:
            third_party.append(r.request.url)
            r.fulfill(status=200, content_type="text/html", body="<!doctype html><title>stub</title>")

    context.route("**/*", route)
    page = context.new_page()
    page.third_party = third_party
    page.shared = shared
    page.errors = []
    page.console_errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda m: m.type in ("error", "warning") and page.console_errors.append(m.text))
    yield page
    context.close()


def bar(page, index: int = 0):
    """The index-th widget's shadow content, once rendered and styled."""
    host = page.locator("[data-share-widget], share-buttons").nth(index)
    host.locator(".w:not([hidden])").wait_for()
    return host


def counts(live_server, url=CANONICAL) -> dict:
    flush_recorder(live_server.app)
    with live_server.app.test_client() as client:
        return client.get("/api/v1/counts", query_string={"url": url}).json


def totals(live_server, redis, url=CANONICAL) -> dict:
    """Every counter field of the article (visit:*, rec_impression, ...)."""
    flush_recorder(live_server.app)
    raw = redis.hgetall(keyspace.article_totals("default", keyspace.article_id(urls.canonical(url))))
    return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}


def settle(read, expected, timeout=5.0):
    """Poll ``read()`` until it equals ``expected``; then wait a little more and check it did not
    go past it (a share counted twice would)."""
    deadline = time.monotonic() + timeout
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    assert value == expected
    time.sleep(0.5)
    assert read() == expected


# --- rendering ---------------------------------------------------------------------------------------
def test_bar_renders_real_tracked_links_with_accessible_names(live_server, host_site, reader):
    page_url = host_site.add("/a.html", '<div data-share-widget data-networks="facebook,twitter,email"></div>',
                             live_server.url)
    reader.goto(page_url)
    host = bar(reader)
    links = host.locator("a.s")
    assert links.count() == 3
    names = [links.nth(i).get_attribute("aria-label") for i in range(3)]
    assert names == ["Partager sur Facebook (nouvelle fenêtre)",
                     "Partager sur X (nouvelle fenêtre)", "Envoyer par e-mail"]
    for i, network in enumerate(["facebook", "x", "email"]):
        href = urlsplit(links.nth(i).get_attribute("href"))
        assert f"{href.scheme}://{href.netloc}" == live_server.url
        assert href.path == f"/s/{network}"
        query = parse_qs(href.query)
        assert query["url"] == [CANONICAL]
        assert query["title"] == [OG_TITLE]
        assert query["lang"] == ["fr"]
    assert links.nth(0).get_attribute("target") == "_blank"
    assert links.nth(2).get_attribute("target") is None  # mailto opens in place
    # accessible by role through the open shadow root
    assert reader.get_by_role("link", name="Partager sur Facebook (nouvelle fenêtre)").is_visible()
    assert reader.get_by_role("button", name="Copier le lien").is_visible()
    # the status region exists, empty, before anything happens
    status = host.locator("[role=status]")
    assert status.count() == 1 and status.text_content() == ""
    # nothing from any third party was requested
    assert reader.third_party == [] and reader.errors == []


def test_every_control_is_at_least_44px_and_host_css_cannot_break_it(live_server, host_site, reader):
    host_site.pages["/hostile.css"] = (
        "* { color: #f00 !important; font-size: 6px !important; line-height: 0 !important; }"
        "div, a, button { display: inline !important; padding: 0 !important; }"
        "[data-share-widget] { text-align: right; letter-spacing: 9px; }", {})
    page_url = host_site.add("/h.html", "<div data-share-widget></div>", live_server.url,
                             head='<link rel="stylesheet" href="/hostile.css">')
    reader.goto(page_url)
    host = bar(reader)
    controls = host.locator(".s")
    assert controls.count() == 8  # the site's 6 networks, copy, QR
    for i in range(controls.count()):
        box = controls.nth(i).bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44
        colour = controls.nth(i).evaluate("e => getComputedStyle(e).color")
        assert colour != "rgb(255, 0, 0)"
    # and nothing of the widget leaks out: the page's own heading keeps the page's rules
    assert reader.locator("h1").evaluate("e => getComputedStyle(e).color") == "rgb(255, 0, 0)"


def test_language_from_the_attribute_or_the_page(live_server, host_site, reader):
    page_url = host_site.add("/l.html", '<div data-share-widget data-networks="facebook"></div>'
                             '<div data-share-widget data-lang="de" data-networks="facebook"></div>'
                             '<div lang="en"><share-buttons networks="facebook"></share-buttons></div>',
                             live_server.url)
    reader.goto(page_url)
    expected = ["Partager sur Facebook", "Auf Facebook teilen", "Share on Facebook"]
    for i, text in enumerate(expected):
        link = bar(reader, i).locator("a.s")
        assert link.get_attribute("aria-label").startswith(text)
    assert reader.errors == []


# --- copy ---------------------------------------------------------------------------------------------
def test_copy_puts_the_tagged_link_on_the_clipboard_and_says_copie(live_server, host_site, reader):
    page_url = host_site.add("/c.html", "<div data-share-widget></div>", live_server.url)
    reader.goto(page_url)
    host = bar(reader)
    status = host.locator("[role=status]")
    assert status.text_content() == ""
    reader.get_by_role("button", name="Copier le lien").click()
    status.filter(has_text="Copié !").wait_for()
    assert reader.evaluate("navigator.clipboard.readText()") == (
        f"{CANONICAL}?utm_source=copy&{UTM}")
    settle(lambda: counts(live_server).get("copy", 0), 1)
    # the message is not a toast stealing focus: focus stays on the button
    assert reader.evaluate(DEEP_ACTIVE) == "Copier le lien"


# --- sharing to a network ----------------------------------------------------------------------------
def test_network_click_opens_the_network_popup_and_counts_exactly_one(live_server, host_site, reader):
    page_url = host_site.add("/n.html", "<div data-share-widget></div>", live_server.url)
    reader.goto(page_url)
    bar(reader)
    assert counts(live_server)["networks"].get("facebook", 0) == 0
    with reader.expect_popup() as popup_info:
        reader.get_by_role("link", name="Partager sur Facebook (nouvelle fenêtre)").click()
    popup = popup_info.value
    popup.wait_for_url(f"{live_server.url}/s/facebook?**")  # the tracked link, in the popup
    assert len(reader.shared) == 1
    target = urlsplit(reader.shared[0])
    assert (target.netloc, target.path) == ("www.facebook.com", "/sharer/sharer.php")
    assert parse_qs(target.query)["u"] == [f"{CANONICAL}?utm_source=facebook&{UTM}"]
    assert popup.evaluate("window.opener") is None  # no reverse tabnabbing
    assert reader.url == page_url  # the article stays where it was
    settle(lambda: counts(live_server)["networks"].get("facebook", 0), 1)
    assert counts(live_server)["total"] == 1


def test_blocked_popup_falls_back_to_navigation_counted_once(live_server, host_site, reader):
    reader.add_init_script("window.open = function () { return null; };")  # a popup blocker
    page_url = host_site.add("/b.html", "<div data-share-widget></div>", live_server.url)
    reader.goto(page_url)
    bar(reader)
    reader.get_by_role("link", name="Partager sur LinkedIn (nouvelle fenêtre)").click()
    reader.wait_for_url(f"{live_server.url}/s/linkedin?**")  # this tab, no popup
    assert len(reader.shared) == 1 and len(reader.context.pages) == 1
    target = urlsplit(reader.shared[0])
    assert target.netloc == "www.linkedin.com"
    assert parse_qs(target.query)["url"] == [f"{CANONICAL}?utm_source=linkedin&{UTM}"]
    settle(lambda: counts(live_server)["networks"].get("linkedin", 0), 1)


def test_native_share_where_available_counts_native(live_server, host_site, reader):
    reader.add_init_script("""navigator.share = function (data) {
        window.__shared = data; return Promise.resolve(); };""")
    page_url = host_site.add("/s.html", "<div data-share-widget></div>", live_server.url)
    reader.goto(page_url)
    bar(reader)
    reader.get_by_role("button", name="Partager…").click()
    reader.wait_for_function("window.__shared")
    shared = reader.evaluate("window.__shared")
    assert shared["url"] == f"{CANONICAL}?utm_source=native&{UTM}"
    assert shared["title"] == OG_TITLE
    settle(lambda: counts(live_server).get("native", 0), 1)


def test_no_native_button_without_the_web_share_api(live_server, host_site, reader):
    reader.add_init_script("delete Navigator.prototype.share; delete navigator.share;")
    page_url = host_site.add("/ns.html", "<div data-share-widget></div>", live_server.url)
    reader.goto(page_url)
    host = bar(reader)
    assert host.locator(".k-native").count() == 0


# --- keyboard -----------------------------------------------------------------------------------------
def test_keyboard_only_tab_order_qr_dialog_escape_and_copy(live_server, host_site, reader):
    page_url = host_site.add("/k.html", '<div data-share-widget data-networks="facebook,x"></div>',
                             live_server.url)
    reader.goto(page_url)
    host = bar(reader)
    order = []
    for _ in range(4):
        reader.keyboard.press("Tab")
        order.append(reader.evaluate(DEEP_ACTIVE))
    assert order == ["Partager sur Facebook (nouvelle fenêtre)", "Partager sur X (nouvelle fenêtre)",
                     "Copier le lien", "Code QR"]
    # visible focus: an outline of at least 2px on the focused control
    outline = host.locator(".k-qr").evaluate("e => getComputedStyle(e).outlineWidth")
    assert float(outline.rstrip("px")) >= 2

    reader.keyboard.press("Enter")
    dialog = host.locator("dialog[open]")
    dialog.wait_for()
    assert dialog.get_attribute("aria-labelledby")
    assert reader.get_by_role("dialog", name="Continuer sur votre téléphone").is_visible()
    image = dialog.locator("img")
    assert image.get_attribute("alt") == "Code QR menant à cet article"
    reader.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=image.element_handle())
    assert urlsplit(image.get_attribute("src")).path == "/qr"
    assert reader.evaluate(DEEP_ACTIVE) == "Fermer"  # focus moved into the dialog
    settle(lambda: counts(live_server).get("qr", 0), 1)

    reader.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert reader.evaluate(DEEP_ACTIVE) == "Code QR"  # focus returned to its opener

    reader.keyboard.press("Shift+Tab")
    assert reader.evaluate(DEEP_ACTIVE) == "Copier le lien"
    reader.keyboard.press("Space")
    host.locator("[role=status]").filter(has_text="Copié !").wait_for()

    reader.keyboard.press("Shift+Tab")
    with reader.expect_popup() as popup_info:
        reader.keyboard.press("Enter")
    popup_info.value.wait_for_url(f"{live_server.url}/s/x?**")
    assert urlsplit(reader.shared[-1]).netloc == "x.com"
    settle(lambda: counts(live_server)["networks"].get("x", 0), 1)


# --- « Plus de contenu » -------------------------------------------------------------------------------
def test_plus_de_contenu_renders_recommendations_and_records_impression_and_click(
        live_server, host_site, reader, redis):
    seed_catalogue(live_server, redis)
    page_url = host_site.add("/m.html", '<div data-share-widget data-more="3"></div>', live_server.url)
    reader.goto(page_url)
    host = bar(reader)
    box = host.locator("section.mc")
    box.wait_for()
    assert reader.get_by_role("heading", name="Plus de contenu").is_visible()
    items = box.locator("li a")
    assert items.count() == 3
    hrefs = [items.nth(i).get_attribute("href") for i in range(3)]
    for href in hrefs:
        query = parse_qs(urlsplit(href).query)
        assert query["utm_source"] == ["more_content"]
        assert urlsplit(href).netloc == "www.lequotidien.example"
        assert not href.startswith(CANONICAL)  # never the article itself
    image = items.nth(0).locator("img")
    assert image.get_attribute("loading") == "lazy" and image.get_attribute("alt") == ""
    assert (image.get_attribute("width"), image.get_attribute("height")) == ("640", "360")
    titles = [items.nth(i).locator(".ti").inner_text() for i in range(3)]
    assert len(set(titles)) == 3 and all(t for t in titles)
    box.scroll_into_view_if_needed()
    # the answer names no method (words until semantic recommendations exist): "words"
    settle(lambda: totals(live_server, redis).get("rec_impression:words", 0), 1)
    items.nth(0).click()
    reader.wait_for_url("https://www.lequotidien.example/**")
    settle(lambda: totals(live_server, redis).get("rec_click:words", 0), 1)
    assert "rec_impression" not in totals(live_server, redis)  # every event says its method


def test_the_one_script_tag_shows_the_sites_plus_de_contenu(live_server, host_site, reader, redis):
    """No data-more: the site's default (recommendations.more, 4) from the injected config."""
    seed_catalogue(live_server, redis)
    page_url = host_site.add("/d.html", "<div data-share-widget></div>", live_server.url)
    reader.goto(page_url)
    host = bar(reader)
    host.locator("section.mc li").first.wait_for()
    assert host.locator("section.mc li").count() == live_server.app.config["SITES"]["default"].more == 4
    assert reader.get_by_role("heading", name="Plus de contenu").is_visible()
    assert reader.errors == [] and reader.third_party == []


def test_data_more_0_hides_plus_de_contenu_and_asks_nothing(live_server, host_site, reader, redis):
    seed_catalogue(live_server, redis)
    asked = []
    reader.on("request", lambda r: "/api/v1/recommendations" in r.url and asked.append(r.url))
    page_url = host_site.add("/z.html", '<div data-share-widget data-more="0"></div>'
                             '<share-buttons more="0"></share-buttons>', live_server.url)
    reader.goto(page_url)
    bar(reader, 0)
    bar(reader, 1)
    reader.wait_for_load_state("networkidle")
    assert reader.locator("[data-share-widget], share-buttons").evaluate_all(
        "hosts => hosts.map(h => h.shadowRoot.querySelectorAll('section.mc').length)") == [0, 0]
    assert asked == []


def test_a_site_that_shows_none_by_default(make_app, redis, host_site, reader):
    """recommendations.more = 0: no box (and no request) unless the page asks with data-more."""
    from conftest import TEST_HOSTS, LiveServer

    service = LiveServer(make_app({"SITES": {"default": {
        "allowed_hosts": TEST_HOSTS, "cors_origins": [host_site.url],
        "recommendations": {"more": 0}}}}))
    try:
        seed_catalogue(service, redis)
        asked = []
        reader.on("request", lambda r: "/api/v1/recommendations" in r.url and asked.append(r.url))
        page_url = host_site.add("/n0.html", '<div data-share-widget></div>'
                                 '<div data-share-widget data-more="2"></div>', service.url)
        reader.goto(page_url)
        bar(reader, 1).locator("section.mc li").first.wait_for()
        assert bar(reader, 1).locator("section.mc li").count() == 2
        assert bar(reader, 0).locator("section.mc").count() == 0
        assert len(asked) == 1 and "limit=2" in asked[0]
    finally:
        service.stop()


def test_beacons_carry_the_method_of_the_recommendations(live_server, host_site, reader, redis):
    """The answer says how its items were chosen ("method": "semantic"); the impression and the
    click are counted under that method."""
    import json

    seed_catalogue(live_server, redis)

    def semantic(route):
        answer = route.fetch()
        data = answer.json()
        assert "method" not in data or data["method"] in ("words", "semantic")
        route.fulfill(response=answer, body=json.dumps({**data, "method": "semantic"}))

    reader.route("**/api/v1/recommendations**", semantic)
    page_url = host_site.add("/sem.html", '<div data-share-widget data-more="2"></div>',
                             live_server.url)
    reader.goto(page_url)
    box = bar(reader).locator("section.mc")
    box.wait_for()
    box.scroll_into_view_if_needed()
    settle(lambda: totals(live_server, redis).get("rec_impression:semantic", 0), 1)
    box.locator("li a").first.click()
    reader.wait_for_url("https://www.lequotidien.example/**")
    settle(lambda: totals(live_server, redis).get("rec_click:semantic", 0), 1)
    fields = totals(live_server, redis)
    assert not [f for f in fields if f.startswith("rec_") and "semantic" not in f]


def test_plus_de_contenu_stays_hidden_when_nothing_to_show(live_server, host_site, reader, redis):
    page_url = host_site.add("/e.html", '<div data-share-widget data-more="4"></div>', live_server.url)
    reader.goto(page_url)
    host = bar(reader)
    reader.wait_for_load_state("networkidle")
    assert host.locator("section.mc").count() == 0
    assert reader.errors == []


# --- strict CSP, another origin, several widgets -----------------------------------------------------
def test_strict_csp_host_page_with_several_widgets_has_no_violation(live_server, host_site, reader, redis):
    seed_catalogue(live_server, redis)
    svc = live_server.url
    csp = (f"default-src 'none'; script-src {svc}; style-src {svc}; img-src {svc}; "
           f"connect-src {svc}; base-uri 'none'")
    page_url = host_site.add(
        "/csp.html",
        '<div data-share-widget data-counts="true"></div>'
        '<div data-share-widget data-theme="dark" data-layout="icons" data-networks="x,facebook"></div>'
        '<share-buttons theme="brand" layout="vertical" more="2"></share-buttons>',
        svc, headers={"Content-Security-Policy": csp})
    violations = []
    reader.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    reader.goto(page_url)
    for i in range(3):
        bar(reader, i)
    assert host_site.url != svc  # two origins
    # counts arrived (connect-src) and « Plus de contenu » rendered in the custom element
    bar(reader, 0).locator(".c:not([hidden])").first.wait_for()
    bar(reader, 2).locator("section.mc li").first.wait_for()
    # styles applied (style-src): the 44px rule comes from widget.css
    assert bar(reader, 1).locator("a.s").first.bounding_box()["height"] >= 44
    assert bar(reader, 1).locator("a.s").count() == 2
    # the QR image (img-src) and copy (clipboard) work too
    bar(reader, 0).locator(".k-qr").click()
    image = bar(reader, 0).locator("dialog img")
    reader.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=image.element_handle())
    reader.keyboard.press("Escape")
    bar(reader, 1).locator(".k-copy").click()
    bar(reader, 1).locator("[role=status]").filter(has_text="Copié !").wait_for()
    reader.wait_for_load_state("networkidle")
    assert violations == []
    assert reader.errors == []
    assert reader.third_party == []
    assert not [e for e in reader.console_errors if "share widget" in e]


# --- clickbacks -------------------------------------------------------------------------------------------
def test_clickback_records_one_visit_and_cleans_the_address_bar(live_server, host_site, reader, redis):
    host_site.add("/article.html", "<div data-share-widget></div>", live_server.url)
    reader.goto(f"{host_site.url}/article.html?id=7&utm_source=facebook&{UTM}#comments")
    bar(reader)
    reader.wait_for_function("!location.search.includes('utm_')")
    assert reader.url == f"{host_site.url}/article.html?id=7#comments"
    settle(lambda: totals(live_server, redis).get("visit:facebook", 0), 1)
    assert totals(live_server, redis).get("utm:facebook|social|share") == 1
    reader.reload()  # the tags are gone: a reload is no second clickback
    bar(reader)
    settle(lambda: totals(live_server, redis).get("visit:facebook", 0), 1)


def test_foreign_utm_tags_are_left_alone(live_server, host_site, reader, redis):
    host_site.add("/nl.html", "<div data-share-widget></div>", live_server.url)
    url = f"{host_site.url}/nl.html?utm_source=newsletter&utm_medium=email"
    reader.goto(url)
    bar(reader)
    reader.wait_for_load_state("networkidle")
    assert reader.url == url
    assert not any(k.startswith("visit:") for k in totals(live_server, redis))


# --- accessibility audit and screenshots -------------------------------------------------------------
def serious(results) -> list:
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_violation_on_the_demo(live_server, reader):
    from axe_playwright_python.sync_playwright import Axe

    reader.goto(live_server.url + "/demo")
    bar(reader).locator("section.mc li").first.wait_for()
    reader.locator("[data-share-widget]").scroll_into_view_if_needed()
    assert serious(Axe().run(reader)) == []
    assert reader.errors == []


@pytest.mark.parametrize("theme", ["light", "dark", "brand", "auto"])
def test_axe_and_screenshots_per_theme(live_server, host_site, reader, redis, artifacts_dir, theme):
    from axe_playwright_python.sync_playwright import Axe

    if theme == "auto":  # follows the reader's system setting: dark here
        reader.emulate_media(color_scheme="dark")

    seed_catalogue(live_server, redis, n=3)
    page_url = host_site.add(f"/{theme}.html",
                             f'<div data-share-widget data-theme="{theme}" data-more="3" data-counts="true"></div>'
                             f'<div data-share-widget data-theme="{theme}" data-layout="icons"></div>',
                             live_server.url)
    reader.goto(page_url)
    bar(reader, 0).locator("section.mc li").first.wait_for()
    bar(reader, 1)
    assert serious(Axe().run(reader)) == []
    reader.screenshot(path=f"{artifacts_dir}/widget-{theme}.png", full_page=True)
    bar(reader, 0).locator(".k-qr").click()
    bar(reader, 0).locator("dialog img").wait_for()
    assert serious(Axe().run(reader)) == []
    reader.screenshot(path=f"{artifacts_dir}/widget-{theme}-qr.png")


def test_embed_iframe_page_in_the_browser(live_server, reader, artifacts_dir):
    from axe_playwright_python.sync_playwright import Axe

    reader.goto(f"{live_server.url}/embed?url={CANONICAL}&title=Test&theme=dark")
    assert reader.locator("a.ssw-link").count() == 6
    assert serious(Axe().run(reader)) == []
    reader.screenshot(path=f"{artifacts_dir}/embed-dark.png")


def test_copy_fallback_without_the_clipboard_api(live_server, host_site, reader):
    """No async Clipboard API (old browser, or a page that is not a secure context): the link
    appears in a visible, selected read-only field, and execCommand('copy') is tried."""
    reader.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined});")
    page_url = host_site.add("/f.html", "<div data-share-widget></div>", live_server.url)
    reader.goto(page_url)
    host = bar(reader)
    reader.get_by_role("button", name="Copier le lien").click()
    field = host.locator("input.cf")
    field.wait_for()
    assert field.input_value() == f"{CANONICAL}?utm_source=copy&{UTM}"
    assert field.get_attribute("aria-label") == "Lien de cet article"
    assert field.evaluate("e => [e.selectionStart, e.selectionEnd]") == [0, len(field.input_value())]
    status = host.locator("[role=status]")
    status.filter(has_text="Copi").wait_for()
    if status.text_content() == "Copié !":  # Chromium still honours execCommand('copy')
        settle(lambda: counts(live_server).get("copy", 0), 1)
    else:
        assert status.text_content().startswith("Copie impossible")
        assert counts(live_server).get("copy", 0) == 0


def test_right_to_left_page_mirrors_the_bar(live_server, host_site, reader):
    page_url = host_site.add("/rtl.html", '<div dir="rtl"><div data-share-widget data-networks="facebook,x"></div></div>',
                             live_server.url)
    reader.goto(page_url)
    host = bar(reader)
    first, second = (host.locator("a.s").nth(i).bounding_box() for i in range(2))
    assert first["x"] > second["x"]  # Facebook first, on the right
    assert host.locator(".w").evaluate("e => getComputedStyle(e).direction") == "rtl"


def test_an_article_host_the_service_refuses_gets_no_bar_and_no_page_error(live_server, host_site, reader):
    page_url = host_site.add("/x.html", '<div data-share-widget data-url="https://evil.example/a"></div>'
                             '<div data-share-widget data-networks="facebook"></div>', live_server.url)
    reader.goto(page_url)
    bar(reader, 1)  # the good one renders
    assert reader.locator("[data-share-widget]").first.evaluate("e => e.shadowRoot") is None
    assert reader.errors == []
    assert any("share widget" in m and "evil.example" in m for m in reader.console_errors)


def test_qr_dialog_closes_on_the_backdrop_not_on_its_own_padding(live_server, host_site, reader):
    page_url = host_site.add("/q.html", "<div data-share-widget></div>", live_server.url)
    reader.goto(page_url)
    host = bar(reader)
    host.locator(".k-qr").click()
    dialog = host.locator("dialog[open]")
    box = dialog.bounding_box()
    reader.mouse.click(box["x"] + 5, box["y"] + 5)  # inside, on the padding
    assert dialog.count() == 1
    reader.mouse.click(5, 5)  # the backdrop
    dialog.wait_for(state="detached")
    assert reader.evaluate(DEEP_ACTIVE) == "Code QR"


def test_embed_frames_on_the_sites_origins_only(live_server, host_site, reader):
    from urllib.parse import quote

    src = f"{live_server.url}/embed?url={quote(CANONICAL, safe='')}&title=Titre"
    frame_html = f'<iframe src="{src}" title="Partager cet article" width="600" height="160"></iframe>'
    page_url = host_site.add("/frame.html", frame_html, live_server.url)
    reader.goto(page_url)
    frame = reader.frame_locator("iframe")
    assert frame.locator("a.ssw-link").first.get_attribute("href").startswith(f"{live_server.url}/s/")
    assert frame.locator("a.ssw-link").count() == 6

    other = HostSite()  # an origin that is not the site's
    try:
        refused = []
        reader.on("console", lambda m: "frame-ancestors" in m.text and refused.append(m.text))
        other.add("/frame.html", frame_html, live_server.url)
        reader.goto(other.url + "/frame.html")
        reader.wait_for_load_state("networkidle")
        assert reader.frame_locator("iframe").locator("a.ssw-link").count() == 0
        assert refused
    finally:
        other.stop()


def test_embed_plus_de_contenu_in_an_iframe_opens_articles_in_the_readers_page(
        live_server, host_site, reader, redis, artifacts_dir):
    """/embed in the publisher's iframe: « Plus de contenu » without any script, its images
    loaded under the page's own CSP (no violation), a click opening the article in the top
    page (not inside the small frame)."""
    from urllib.parse import quote

    from axe_playwright_python.sync_playwright import Axe

    seed_catalogue(live_server, redis, n=3)
    src = f"{live_server.url}/embed?url={quote(CANONICAL, safe='')}&title=Titre&theme=dark"
    frame_html = f'<iframe src="{src}" title="Partager cet article" width="900" height="420"></iframe>'
    violations = []
    reader.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    page_url = host_site.add("/frame-more.html", frame_html, live_server.url)
    reader.goto(page_url)
    frame = reader.frame_locator("iframe")
    region = frame.get_by_role("region", name="Plus de contenu")
    links = region.get_by_role("link")
    assert links.count() == 3
    embed = next(f for f in reader.frames if "/embed?" in f.url)
    embed.wait_for_function("""() => [...document.querySelectorAll('.ssw-more img')]
        .filter(e => e.complete && e.naturalWidth > 0).length === 3""")
    assert frame.locator("script").count() == 0
    reader.screenshot(path=f"{artifacts_dir}/embed-more-dark.png")
    first = links.first.get_attribute("href")
    assert "utm_source=more_content" in first
    links.first.click()
    reader.wait_for_url(first)  # the top page navigated
    assert violations == [] and reader.errors == []
    reader.goto(src)
    assert [v["id"] for v in Axe().run(reader).response["violations"]
            if v["impact"] in ("serious", "critical")] == []


def test_plus_de_contenu_and_counts_hidden_when_the_service_api_is_unreachable(live_server, host_site, reader):
    reader.route("**/api/v1/recommendations**", lambda r: r.abort())
    reader.route("**/api/v1/counts**", lambda r: r.fulfill(status=503, body="{}"))
    page_url = host_site.add("/u.html", '<div data-share-widget data-more="4" data-counts="true"></div>',
                             live_server.url)
    reader.goto(page_url)
    host = bar(reader)
    reader.wait_for_load_state("networkidle")
    assert host.locator("section.mc").count() == 0
    assert host.locator(".c:not([hidden])").count() == 0
    assert host.locator("a.s").count() == 6  # the share bar itself is unaffected
    assert reader.errors == []


# --- icons: the compact paths the widget gets draw like the registry's exact ones --------------------
@pytest.mark.parametrize("px", [48, 40])
def test_compact_icon_paths_render_like_the_exact_ones(browser, artifacts_dir, capsys, px):
    """Every network icon drawn by Chromium at 48 px (and at 40 px, where the icon grid does not
    fall on the rasteriser's sub-pixel grid), from the registry's exact path and from the
    whole-number path on a 0.1-unit grid (viewBox 0 0 240 240) that widget.js is served with,
    compared pixel by pixel (greyscale, 0-255). The same limits must catch the exact icon moved
    by one pixel (the control column), so they are tight enough to see a real change. A sheet of
    the three columns is saved to test-artifacts/."""
    import io

    from PIL import Image, ImageChops

    from share_service.sharing import networks
    from share_service.web.widget import assets as widget_assets

    def svg(d, shift="", size=24):
        return (f'<svg viewBox="0 0 {size} {size}" width="{px}" height="{px}" fill="#000" '
                f'xmlns="http://www.w3.org/2000/svg"><path d="{d}"{shift}/></svg>')

    nets = networks.all_networks()
    one_px = f"{24 / px:g}"  # one pixel, in icon units
    columns = {  # x of each column; row i at y = 8 + 64 i, all whole pixels
        120: lambda n: svg(n.icon),
        184: lambda n: svg(widget_assets.compact_path(n.icon), size=widget_assets.ICON_BOX),
        248: lambda n: svg(n.icon, f' transform="translate({one_px} 0)"'),  # control: 1 px right
    }
    cells = "".join(f'<b style="top:{24 + 64 * i}px">{n.id}</b>' + "".join(
        f'<i style="top:{8 + 64 * i}px;left:{x}px">{draw(n)}</i>' for x, draw in columns.items())
        for i, n in enumerate(nets))
    context = browser.new_context(device_scale_factor=1, viewport={"width": 310, "height": 980})
    page = context.new_page()
    page.set_content("<!doctype html><style>body{margin:0;background:#fff;font:14px sans-serif}"
                     "b,i{position:absolute;left:8px}svg{display:block}</style>" + cells)
    page.screenshot(path=f"{artifacts_dir}/icons-exact-compact-shifted-{px}px.png", full_page=True)

    def picture(x, y):
        shot = page.screenshot(clip={"x": x, "y": y, "width": px, "height": px})
        return Image.open(io.BytesIO(shot)).convert("L")

    def difference(a, b):
        """(largest pixel difference, mean difference, pixels off by more than 64)"""
        histogram = ImageChops.difference(a, b).histogram()
        worst = max(i for i, n in enumerate(histogram) if n)
        return worst, sum(i * n for i, n in enumerate(histogram)) / (px * px), sum(histogram[65:])

    def alike(d):
        # no pixel flipped (the largest differences: antialiasing along an edge moved by a
        # fraction of a pixel, e.g. at VK's rounded corners, which Chromium rasterises a little
        # differently as quadratics); 1.6 % on average; at most 1.5 % of the pixels off by > 64
        return d[0] < 160 and d[1] <= 4 and d[2] <= px * px * 3 // 200

    report = []
    for i, net in enumerate(nets):
        y = 8 + 64 * i
        exact, compact, shifted = picture(120, y), picture(184, y), picture(248, y)
        assert exact.getextrema()[0] == 0, f"{net.id}: nothing drawn"
        got, control = difference(exact, compact), difference(exact, shifted)
        report.append(f"{net.id} max {got[0]} mean {got[1]:.2f} >64: {got[2]} "
                      f"(1 px shift: max {control[0]} mean {control[1]:.1f} >64: {control[2]})")
        assert alike(got), report[-1]
        assert not alike(control), report[-1]
    context.close()
    with capsys.disabled():
        print(f"\ncompact icons vs exact at {px} px:\n  " + "\n  ".join(report))
