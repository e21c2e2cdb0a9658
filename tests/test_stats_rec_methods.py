"""« Plus de contenu » impressions, clicks and CTR split by method (words or semantic), through
the real endpoints: events sent to POST /api/v1/events, read from the stats API (JSON and CSV)
and the dashboard. The overall rec_impression / rec_click / rec_ctr stay the sum of every event,
with or without a method."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from stats_helpers import PARIS, login, record_at
from support import BROWSER_UA, flush_recorder

from share_service.accounts import api_keys, users
from share_service.stats import params

A = "https://www.lequotidien.example/politique/2026/11/26/reformes"
TARGETS = [f"https://www.lequotidien.example/politique/2026/11/2{i}/suite-{i}" for i in range(3)]
# (method or None, readers who saw the box, of whom clicked)
TRAFFIC = [("words", 12, 3), ("semantic", 8, 4), (None, 5, 1)]


@pytest.fixture
def key(redis):
    raw, _ = api_keys.create_api_key(redis, "tests", "viewer")
    return {"X-Api-Key": raw}


def send_traffic(app, traffic=TRAFFIC):
    """Each reader (their own address) sees the box once and may click one item."""
    client = app.test_client()
    n = 0
    for method, shown, clicked in traffic:
        for i in range(shown):
            n += 1
            extra = {"method": method} if method else {}
            events = [{"type": "rec_impression", "url": A, **extra}]
            if i < clicked:
                events.append({"type": "rec_click", "url": A, "target": TARGETS[i % 3], **extra})
            response = client.post("/api/v1/events", json={"events": events},
                                   environ_base={"REMOTE_ADDR": f"203.0.113.{n}"},
                                   headers={"User-Agent": BROWSER_UA})
            assert response.status_code == 204, response.get_data(as_text=True)
    flush_recorder(app)


def today(app) -> str:
    return params.today(app.config["SITES"]["default"]).isoformat()


def test_summary_splits_ctr_by_method_and_keeps_the_overall_figures(app, client, key):
    send_traffic(app)
    day = today(app)
    data = client.get("/api/v1/stats/summary", query_string={"from": day, "to": day},
                      headers=key).json
    cur = data["current"]
    shown = sum(s for _, s, _ in TRAFFIC)
    clicked = sum(c for _, _, c in TRAFFIC)
    # the overall figures: every impression and click, with or without a method
    assert (cur["rec_impression"], cur["rec_click"]) == (shown, clicked) == (25, 8)
    assert cur["rec_ctr"] == round(8 / 25, 4)
    assert cur["rec_by_method"] == {
        "words": {"rec_impression": 12, "rec_click": 3, "rec_ctr": 0.25},
        "semantic": {"rec_impression": 8, "rec_click": 4, "rec_ctr": 0.5},
    }
    # nothing the day before: no change can be computed
    assert data["previous"]["rec_by_method"]["semantic"]["rec_ctr"] is None
    assert data["change"]["rec_by_method"]["semantic"]["rec_ctr"] is None
    # the series still adds every impression and click (the method fields included)
    series = client.get("/api/v1/stats/timeseries", query_string={"from": day, "to": day},
                        headers=key).json
    assert sum(p["rec_impression"] for p in series["points"]) == 25
    assert sum(p["rec_click"] for p in series["points"]) == 8


def test_change_of_each_methods_ctr_against_the_previous_period(app, client, key, flush):
    site = app.config["SITES"]["default"]
    now = datetime.now(PARIS)
    yesterday = now - timedelta(days=1)
    for i in range(10):  # yesterday: semantic 10 shown, 2 clicked (20 %)
        record_at(app, yesterday, {"type": "rec_impression", "url": A, "method": "semantic"}, f"v{i}")
        if i < 2:
            record_at(app, yesterday, {"type": "rec_click", "url": A, "target": TARGETS[0],
                                       "method": "semantic"}, f"v{i}")
    flush()
    send_traffic(app)  # today: semantic 8 shown, 4 clicked (50 %)
    day = params.today(site, now)
    data = client.get("/api/v1/stats/summary", query_string={"from": day.isoformat(),
                                                             "to": day.isoformat()},
                      headers=key).json
    assert data["previous"]["rec_by_method"]["semantic"] == {
        "rec_impression": 10, "rec_click": 2, "rec_ctr": 0.2}
    assert data["change"]["rec_by_method"]["semantic"] == {
        "rec_impression": -0.2, "rec_click": 1.0, "rec_ctr": 1.5}
    assert data["previous"]["rec_impression"] == 10 and data["previous"]["rec_click"] == 2


def test_csv_summary_has_a_row_per_method_equal_to_the_json(app, client, key):
    send_traffic(app)
    day = today(app)
    query = {"from": day, "to": day}
    data = client.get("/api/v1/stats/summary", query_string=query, headers=key).json
    response = client.get("/api/v1/stats/summary", query_string={**query, "format": "csv"},
                          headers=key)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = {r[0]: r[1:] for r in csv.reader(io.StringIO(response.get_data(as_text=True))) if r}
    assert rows["rec_impression"][0] == "25" and rows["rec_click"][0] == "8"
    assert rows["rec_ctr"][0] == str(data["current"]["rec_ctr"])
    for method, by in data["current"]["rec_by_method"].items():
        for name in ("rec_impression", "rec_click", "rec_ctr"):
            assert rows[f"{name}:{method}"][0] == str(by[name]), (name, method)
    assert rows["rec_ctr:semantic"] == ["0.5", "", ""]  # previous: none, change: none


def test_article_stats_split_by_method_too(app, client, key):
    send_traffic(app)
    day = today(app)
    data = client.get("/api/v1/stats/article", query_string={"from": day, "to": day, "url": A},
                      headers=key).json
    assert data["figures"]["rec_impression"] == 25
    assert data["figures"]["rec_by_method"]["words"]["rec_ctr"] == 0.25


def test_dashboard_shows_ctr_per_method(app, redis):
    send_traffic(app)
    users.create_user(redis, "admin@exemple.fr", "s3cret-pass", "admin", None)
    client = app.test_client()
    assert login(client, "admin@exemple.fr", "s3cret-pass").status_code == 303
    html = client.get("/dashboard?period=7d&lang=fr").get_data(as_text=True)
    table = re.search(r'<table class="data" id="table-rec-methods">.*?</table>', html, re.S).group(0)
    rows = dict(re.findall(r'<tr data-method="(\w+)">(.*?)</tr>', table, re.S))
    assert set(rows) == {"words", "semantic"}
    cells = {m: re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for m, row in rows.items()}
    assert cells["words"][:4] == ["Mots", "12", "3", "25,0\u202f%"]
    assert cells["semantic"][:4] == ["Sémantique", "8", "4", "50,0\u202f%"]
    # the overall KPI is every click over every impression
    assert re.search(r'data-kpi="rec_ctr">.*?<div class="kpi-value">32,0\u202f%</div>', html, re.S)
    english = client.get("/dashboard?period=7d&lang=en").get_data(as_text=True)
    assert '<th scope="row">Semantic</th><td>8</td><td>4</td><td data-ctr>50.0%</td>' in english
