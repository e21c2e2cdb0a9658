"""The dashboard in real headless Chromium: log in, charts render, filter, drill down, export
(a real download), today's figures refresh by themselves, dark mode. Screenshots are kept in
test-artifacts/."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from stats_helpers import expected, generate, send

from share_service.accounts import users

pytestmark = pytest.mark.browser


@pytest.fixture
def app(make_app, redis):
    # The live panel polls every second here so the test can watch it change.
    return make_app({"DASHBOARD_REFRESH_SECONDS": 1})


def shot(page, artifacts_dir, name):
    page.screenshot(path=str(Path(artifacts_dir) / f"dashboard-{name}.png"), full_page=True)


def digits(text: str) -> int:
    return int("".join(c for c in text if c.isdigit()))


def sign_in(page, live_server, email="marketing@exemple.fr"):
    page.goto(live_server.url + "/dashboard?period=7d")
    assert "/login" in page.url
    page.fill("#email", email)
    page.fill("#password", "s3cret-pass")
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard?period=7d")


def test_dashboard_in_chromium(app, redis, live_server, page, artifacts_dir):
    traffic = generate(seed=21, visitors=30)
    send(app, traffic)
    exp = expected(traffic)
    users.create_user(redis, "marketing@exemple.fr", "s3cret-pass", "viewer")
    foreign = []
    page.on("request", lambda req: foreign.append(req.url)
            if not req.url.startswith(live_server.url) else None)

    sign_in(page, live_server)
    assert digits(page.text_content('[data-kpi="total"] .kpi-value')) == exp["total"]
    # the time-series chart is drawn (a real, non-empty SVG box with lines)
    box = page.locator("#chart-series").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    assert page.locator("#chart-series polyline").count() >= 2
    assert page.locator("#chart-networks rect").count() == len(exp["networks"])
    # each chart's data table opens
    page.click("#chart-series ~ details summary, section:has(#chart-series) details summary")
    assert page.locator("#table-series tbody tr").first.is_visible()
    shot(page, artifacts_dir, "overview")

    # filter: today, facebook only — the filters land in the URL
    page.select_option("#f-period", "today")
    page.select_option("#f-network", "facebook")
    page.click("#f-apply")
    page.wait_for_url("**network=facebook**")
    query = parse_qs(urlsplit(page.url).query)
    assert query["period"] == ["today"] and query["network"] == ["facebook"]
    assert digits(page.text_content('[data-kpi="total"] .kpi-value')) == exp["networks"]["facebook"]
    shot(page, artifacts_dir, "filtered")

    # a bookmarked view opens as it was (a colleague's link)
    page.goto(page.url)
    assert page.locator("#f-network").input_value() == "facebook"

    # export: a real CSV download equal to what the page shows
    with page.expect_download() as info:
        page.click("#export-top")
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert rows[0] == ["rank", "id", "url", "title", "shares"]
    assert sum(int(r[4]) for r in rows[1:]) == exp["networks"]["facebook"]

    # drill down to the most shared article
    page.goto(live_server.url + "/dashboard?period=today")
    first = page.locator("a.drill").first
    url = first.get_attribute("href")
    first.click()
    page.wait_for_url("**/dashboard/article**")
    article_url = parse_qs(urlsplit(url).query)["url"][0]
    assert digits(page.text_content('[data-kpi="total"] .kpi-value')) == exp["per_article"][article_url]
    assert page.locator("#chart-article polyline").count() >= 1
    shot(page, artifacts_dir, "article")

    # today's figures refresh by themselves: count one more share and watch the panel
    page.goto(live_server.url + "/dashboard?period=today")
    before = digits(page.text_content('#live [data-live="total"]'))
    send(app, [("192.0.2.77", "events", {"type": "share", "url": article_url, "network": "x"})])
    page.wait_for_function(
        "n => Number(document.querySelector('#live [data-live=\"total\"]').textContent"
        ".replace(/\\D/g, '')) === n", arg=before + 1, timeout=10000)

    # dark mode: the page follows the system colour scheme
    page.emulate_media(color_scheme="dark")
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(17, 20, 24)"
    shot(page, artifacts_dir, "dark")

    # English
    page.goto(live_server.url + "/dashboard?period=today&lang=en")
    assert page.locator("h1").first.text_content().startswith("Overview")

    assert foreign == []
    assert page.page_errors == []


def test_admin_creates_a_key_in_chromium(app, redis, live_server, page, artifacts_dir):
    users.create_user(redis, "admin@exemple.fr", "s3cret-pass", "admin")
    sign_in(page, live_server, "admin@exemple.fr")
    page.click("text=Clés d'API")
    page.fill("#create-key input[name=name]", "tableau")
    page.fill("#create-key input[name=expires]", "30")
    page.click("#create-key button[type=submit]")
    raw = page.text_content("#new-key")
    assert raw.startswith("ssk_")
    shot(page, artifacts_dir, "admin-keys")
    import requests

    resp = requests.get(live_server.url + "/api/v1/stats/summary", headers={"X-Api-Key": raw},
                        timeout=5)
    assert resp.status_code == 200
    assert page.page_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_dashboard_has_no_serious_axe_violation(app, redis, live_server, page, scheme):
    from axe_playwright_python.sync_playwright import Axe

    send(app, generate(seed=2, visitors=10))
    users.create_user(redis, "marketing@exemple.fr", "s3cret-pass", "admin")
    page.emulate_media(color_scheme=scheme)
    sign_in(page, live_server)
    page.goto(live_server.url + "/dashboard?period=today")
    article = page.locator("a.drill").first.get_attribute("href")
    for path in ("/dashboard?period=7d", "/dashboard?period=today&lang=en", article,
                 "/admin/keys", "/admin/users", "/admin/sites", "/login"):
        page.goto(live_server.url + path)
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        violations = Axe().run(page).response["violations"]
        serious = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations
                   if v["impact"] in ("serious", "critical")]
        assert serious == [], (path, serious)
