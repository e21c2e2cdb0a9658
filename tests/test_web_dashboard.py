"""The server-rendered dashboard and admin pages (no browser): figures, charts with data tables,
filters in the URL, exports, languages, escaping and headers."""

from __future__ import annotations

import re

import pytest
from stats_helpers import ARTICLES, csrf_of, expected, generate, login, send

from share_service.accounts import api_keys, users
from share_service.sharing import colours, networks
from share_service.storage import keyspace
from share_service.web.dashboard import charts
from share_service.web.dashboard.i18n import MESSAGES


def logged_in(app, redis, role="admin", sites=None):
    users.create_user(redis, f"{role}@exemple.fr", "s3cret-pass", role, sites)
    client = app.test_client()
    assert login(client, f"{role}@exemple.fr", "s3cret-pass").status_code == 303
    return client


def kpi_value(html: str, name: str) -> str:
    m = re.search(rf'data-kpi="{name}">.*?<div class="kpi-value">([^<]*)</div>', html, re.S)
    return m.group(1).replace("\u202f", "").replace(",", "")


def test_languages_have_the_same_messages():
    assert set(MESSAGES["fr"]) == set(MESSAGES["en"])


def test_overview_shows_the_figures_charts_and_tables(app, redis):
    traffic = generate(seed=5, visitors=25)
    send(app, traffic)
    exp = expected(traffic)
    client = logged_in(app, redis)
    resp = client.get("/dashboard?period=7d")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert kpi_value(html, "total") == str(exp["total"])
    assert kpi_value(html, "clickbacks") == str(exp["clickbacks"])
    assert kpi_value(html, "copy") == str(exp["copy"])
    # three SVG charts, each an image with a title, each followed by its data table
    assert html.count('role="img"') == 3
    for table in ("table-series", "table-networks", "table-clickbacks", "table-top"):
        assert f'id="{table}"' in html
    for net, n in exp["networks"].items():
        assert re.search(rf'data-network="{net}"><th scope="row">[^<]+</th><td>{n}</td>', html)
    # top articles link to the drill-down page
    assert html.count('class="drill"') == len(exp["per_article"])
    # exports are links to the stats API with the same filters
    assert 'id="export-top" href="/api/v1/stats/top?site=default&amp;from=' in html
    # filters are in the URL: the form reflects them
    assert '<option value="7d" selected>' in html
    # nothing from another origin
    assert not re.search(r'(src|href)="(https?:)?//', html.split("<main")[0])
    headers = resp.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_filters_and_drill_down(app, redis):
    traffic = generate(seed=9, visitors=25)
    send(app, traffic)
    exp = expected(traffic)
    client = logged_in(app, redis)
    html = client.get("/dashboard?period=today&network=facebook").get_data(as_text=True)
    assert kpi_value(html, "total") == str(exp["networks"]["facebook"])
    assert '<option value="facebook" selected>' in html
    url = max(exp["per_article"], key=exp["per_article"].get)
    page = client.get("/dashboard/article", query_string={"url": url, "period": "today"})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert kpi_value(body, "total") == str(exp["per_article"][url])
    assert 'id="table-utm"' in body
    bad = client.get("/dashboard?period=custom&from=2026-02-30")
    assert bad.status_code == 400 and "2026-02-30" in bad.get_data(as_text=True)
    assert client.get("/dashboard?network=myspace").status_code == 400


def test_english_and_french(app, redis):
    client = logged_in(app, redis)
    assert "Statistiques de partage" in client.get("/dashboard").get_data(as_text=True)
    assert "Overview" in client.get("/dashboard?lang=en").get_data(as_text=True)
    html = client.get("/dashboard", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="en">' in html


def test_titles_are_escaped(app, redis):
    send(app, [("203.0.113.1", "events", {"type": "share", "url": ARTICLES[0], "network": "x"})])
    redis.hset(keyspace.article("default", keyspace.article_id(ARTICLES[0])), "title",
               '<script>alert("x")</script>')
    client = logged_in(app, redis)
    html = client.get("/dashboard").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html


def test_most_shared_shows_catalogue_titles_not_bare_urls(app, redis):
    """An article shared as http://lequotidien.example/... and catalogued under its canonical
    https://www.lequotidien.example/.../ is listed by its title."""
    from share_service.catalogue import store
    from share_service.catalogue.records import normalize

    site = app.config["SITES"]["default"]
    store.save_articles(redis, site.id, [normalize(
        {"url": "https://www.lequotidien.example/societe/canicule/", "title": "Canicule : alerte rouge"},
        site, "push")])
    send(app, [("203.0.113.1", "events", {"type": "share", "network": "facebook",
                                          "url": "http://lequotidien.example/societe/canicule"})])
    html = logged_in(app, redis).get("/dashboard").get_data(as_text=True)
    table = html[html.index('id="table-top"'):]
    table = table[:table.index("</table>")]
    assert ">Canicule : alerte rouge</a>" in table
    assert ">http://lequotidien.example/societe/canicule</a>" not in table


def test_admin_keys_page_shows_a_new_key_once(app, redis):
    client = logged_in(app, redis)
    page = client.get("/admin/keys").get_data(as_text=True)
    resp = client.post("/admin/keys", data={"name": "bi-tool", "role": "viewer", "site": "default",
                                            "expires": "10", "csrf_token": csrf_of(page)})
    html = resp.get_data(as_text=True)
    raw = re.search(r'<code id="new-key">([^<]+)</code>', html).group(1)
    assert app.test_client().get("/api/v1/stats/summary",
                                 headers={"X-Api-Key": raw}).status_code == 200
    again = client.get("/admin/keys").get_data(as_text=True)
    assert raw not in again and "bi-tool" in again
    key_id = api_keys.list_api_keys(redis)[0]["id"]
    client.post("/admin/keys", data={"action": "revoke", "id": key_id, "csrf_token": csrf_of(again)})
    assert app.test_client().get("/api/v1/stats/summary",
                                 headers={"X-Api-Key": raw}).status_code == 401


def test_admin_users_page(app, redis):
    client = logged_in(app, redis)
    page = client.get("/admin/users").get_data(as_text=True)
    client.post("/admin/users", data={"email": "lea@exemple.fr", "password": "short",
                                      "role": "viewer", "csrf_token": csrf_of(page)})
    assert users.get_user(redis, "lea@exemple.fr") is None  # refused: too short
    client.post("/admin/users", data={"email": "lea@exemple.fr", "password": "long-enough",
                                      "role": "viewer", "csrf_token": csrf_of(page)})
    assert users.get_user(redis, "lea@exemple.fr")["role"] == "viewer"
    assert "lea@exemple.fr" in client.get("/admin/users").get_data(as_text=True)
    client.post("/admin/users", data={"action": "delete", "email": "lea@exemple.fr",
                                      "csrf_token": csrf_of(page)})
    assert users.get_user(redis, "lea@exemple.fr") is None


def test_svg_chart_escapes_and_scales():
    svg = charts.line_chart(["a", "b"], [("<b>", [0, 7])], "T<", chart_id="c")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "T&lt;" in svg
    bars = charts.bar_chart([("Facebook", 3), ("X", 1)], "N")
    assert bars.count("<rect") == 2


@pytest.mark.parametrize("peak, expected", [
    (0, [0, 1]), (1, [0, 1]), (2, [0, 1, 2]), (3, [0, 1, 2, 3]), (4, [0, 1, 2, 3, 4]),
    (5, [0, 2, 4, 6]), (7, [0, 2, 4, 6, 8]), (9, [0, 5, 10]), (230, [0, 100, 200, 300]),
    (1234, [0, 500, 1000, 1500]),
])
def test_count_axes_have_whole_number_ticks(peak, expected):
    assert charts.ticks(peak) == expected
    svg = charts.line_chart(["a", "b"], [("total", [0, peak])], "T", chart_id="c")
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', svg)
    assert [int(label.replace("\u202f", "")) for label in labels] == expected


def test_networks_are_drawn_in_their_brand_colours_readable_on_both_themes(client):
    css = client.get("/dashboard/networks.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    text = css.get_data(as_text=True)
    light, dark = text.split("@media (prefers-color-scheme: dark)")
    for net in networks.all_networks():
        for part, card in ((light, charts.LIGHT_CARD), (dark, charts.DARK_CARD)):
            colour = re.search(rf"\.net-{net.id}\{{stroke:(#[0-9a-f]{{6}})", part).group(1)
            assert colours.contrast(colour, card) >= 3, (net.id, colour, card)
    facebook = re.search(r"\.net-facebook\{stroke:(#[0-9a-f]{6})", light).group(1)
    x = re.search(r"\.net-x\{stroke:(#[0-9a-f]{6})", light).group(1)
    assert facebook == networks.get("facebook").color.lower()  # the brand colour itself
    assert colours.contrast(facebook, x) > 3  # no longer two near-identical oranges
    svg = charts.bar_chart([("Facebook", 3, charts.net_class("facebook")),
                            ("copies", 1, charts.net_class("copy"))], "N")
    assert 'class="net-facebook"' in svg and 'class="series-1"' in svg


def test_favicon(client):
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.mimetype == "image/vnd.microsoft.icon"
    assert ico.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in svg.data
