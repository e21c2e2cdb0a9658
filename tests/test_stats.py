"""The stats API against real Redis, with traffic generated through the real endpoints
(POST /api/v1/events, GET /s/<network>) and, for past days, through the counting recorder with
explicit timestamps: every figure equals the events sent."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from stats_helpers import ARTICLES, NETS, PARIS, expected, generate, record_at, send
from support import all_keys

from share_service.accounts import api_keys
from share_service.stats import params, queries
from share_service.storage import keyspace

pytestmark = pytest.mark.both_backends


@pytest.fixture
def key(redis):
    raw, _ = api_keys.create_api_key(redis, "tests", "viewer")
    return {"X-Api-Key": raw}


def get(client, key, path, **params):
    resp = client.get(path, query_string=params, headers=key)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json


def get_csv(client, key, path, **params):
    resp = client.get(path, query_string={**params, "format": "csv"}, headers=key)
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True))))


# --- a day of real traffic ------------------------------------------------------------------------
def test_summary_equals_the_events_sent(app, client, key):
    traffic = generate()
    send(app, traffic)
    exp = expected(traffic)
    today = params.today(app.config["SITES"]["default"]).isoformat()
    data = get(client, key, "/api/v1/stats/summary", **{"from": today, "to": today})
    cur = data["current"]
    assert cur["total"] == exp["total"] > 0
    assert cur["networks"] == dict(exp["networks"])
    for kind in ("copy", "qr", "native", "rec_impression", "rec_click", "clickbacks"):
        assert cur[kind] == exp[kind], kind
    assert cur["clickbacks_by_source"] == dict(exp["by_source"])
    assert cur["rec_ctr"] == round(exp["rec_click"] / exp["rec_impression"], 4)
    actions = exp["total"] + exp["copy"] + exp["qr"] + exp["native"]
    assert cur["amplification"] == round(exp["clickbacks"] / actions, 4)
    for net in NETS:
        if exp["networks"][net]:
            assert cur["amplification_by_source"][net] == round(
                exp["by_source"][net] / exp["networks"][net], 4)
    # unique sharers: a HyperLogLog (0.81 % standard error; tiny sets are near exact)
    assert abs(cur["uniques"] - len(exp["sharers"])) <= max(1, 0.02 * len(exp["sharers"]))
    # the previous period (yesterday) is empty: no change can be computed
    assert data["previous"]["total"] == 0 and data["change"]["total"] is None
    assert data["previous"]["from"] == data["previous"]["to"] == (
        date.fromisoformat(today) - timedelta(days=1)).isoformat()


def test_timeseries_top_and_article_equal_the_events_sent(app, client, key):
    traffic = generate(seed=11)
    send(app, traffic)
    exp = expected(traffic)
    today = params.today(app.config["SITES"]["default"]).isoformat()
    rng = {"from": today, "to": today}

    series = get(client, key, "/api/v1/stats/timeseries", **rng)
    assert series["granularity"] == "hour" and len(series["points"]) == 24
    assert sum(p["total"] for p in series["points"]) == exp["total"]
    assert sum(p["clickbacks"] for p in series["points"]) == exp["clickbacks"]
    nets = Counter()
    for p in series["points"]:
        nets.update(p["networks"])
    assert dict(nets) == dict(exp["networks"])
    daily = get(client, key, "/api/v1/stats/timeseries", granularity="day", **rng)
    assert [p["total"] for p in daily["points"]] == [exp["total"]]

    top = get(client, key, "/api/v1/stats/top", limit=100, **rng)
    assert {it["url"]: it["shares"] for it in top["items"]} == dict(exp["per_article"])
    shares = [it["shares"] for it in top["items"]]
    assert shares == sorted(shares, reverse=True)
    assert [it["rank"] for it in top["items"]] == list(range(1, len(shares) + 1))
    top2 = get(client, key, "/api/v1/stats/top", limit=2, **rng)
    assert [it["shares"] for it in top2["items"]] == shares[:2]

    fb = get(client, key, "/api/v1/stats/top", network="facebook", limit=100, **rng)
    assert {it["url"]: it["shares"] for it in fb["items"]} == dict(exp["per_article_net"]["facebook"])
    # the alias resolves to the registry id
    assert get(client, key, "/api/v1/stats/top", network="twitter", **rng)["network"] == "x"

    url = max(exp["per_article"], key=exp["per_article"].get)
    art = get(client, key, "/api/v1/stats/article", url=url + "?utm_source=x#frag", **rng)
    assert art["url"] == url and art["id"] == keyspace.article_id(url)
    want_nets = {n: c[url] for n, c in exp["per_article_net"].items() if c[url]}
    assert art["figures"]["networks"] == want_nets
    assert art["figures"]["total"] == exp["per_article"][url]
    assert {(u["source"], u["medium"], u["campaign"]): u["visits"] for u in art["utm"]} == dict(
        exp["utm"][url])
    assert art["figures"]["clickbacks"] == sum(exp["utm"][url].values())
    assert art["all_time"]["total"] == exp["per_article"][url]


def test_csv_equals_json(app, client, key):
    send(app, generate(seed=3, visitors=15))
    today = params.today(app.config["SITES"]["default"])
    rng = {"from": (today - timedelta(days=9)).isoformat(), "to": today.isoformat()}

    data = get(client, key, "/api/v1/stats/summary", **rng)
    rows = get_csv(client, key, "/api/v1/stats/summary", **rng)
    assert rows[0] == ["metric", "current", "previous", "change"]
    by_metric = {r[0]: r[1:] for r in rows[1:]}
    for name in queries.SCALARS:
        value = data["current"][name]
        assert by_metric[name][0] == ("" if value is None else str(value)), name
    for net, n in data["current"]["networks"].items():
        assert by_metric[f"share:{net}"][0] == str(n)
    for src, n in data["current"]["clickbacks_by_source"].items():
        assert by_metric[f"visit:{src}"][0] == str(n)

    series = get(client, key, "/api/v1/stats/timeseries", **rng)
    rows = get_csv(client, key, "/api/v1/stats/timeseries", **rng)
    header = rows[0]
    assert len(rows) - 1 == len(series["points"]) == 10
    for row, p in zip(rows[1:], series["points"], strict=True):
        rec = dict(zip(header, row, strict=True))
        assert rec["t"] == p["t"] and int(rec["total"]) == p["total"]
        assert int(rec["clickbacks"]) == p["clickbacks"] and int(rec["copy"]) == p["copy"]
        for col in header:
            if col.startswith("share:"):
                assert int(rec[col]) == p["networks"].get(col[6:], 0)

    top = get(client, key, "/api/v1/stats/top", limit=50, **rng)
    rows = get_csv(client, key, "/api/v1/stats/top", limit=50, **rng)
    assert [[int(r[0]), r[1], r[2], int(r[4])] for r in rows[1:]] == [
        [it["rank"], it["id"], it["url"], it["shares"]] for it in top["items"]]

    url = top["items"][0]["url"]
    art = get(client, key, "/api/v1/stats/article", url=url, **rng)
    rows = get_csv(client, key, "/api/v1/stats/article", url=url, **rng)
    series_rows = rows[1: 1 + len(art["series"])]
    assert [int(r[1]) for r in series_rows] == [p["total"] for p in art["series"]]


# --- time zones, range borders, previous period, top over closed days ----------------------------
def test_local_day_borders_and_previous_period(app, client, key, flush):
    # 23:30 in Paris on 14 July is 21:30 UTC: it belongs to 14 July; 00:30 on the 15th to the 15th.
    late = datetime(2026, 7, 14, 23, 30, tzinfo=PARIS)
    early = datetime(2026, 7, 15, 0, 30, tzinfo=PARIS)
    record_at(app, late, {"type": "share", "url": ARTICLES[0], "network": "facebook"}, "v1")
    record_at(app, early, {"type": "share", "url": ARTICLES[0], "network": "x"}, "v2")
    record_at(app, early, {"type": "share", "url": ARTICLES[1], "network": "x"}, "v3")
    flush()

    def total(f, t, **extra):
        return get(client, key, "/api/v1/stats/summary", **{"from": f, "to": t}, **extra)

    d14 = total("2026-07-14", "2026-07-14")
    assert d14["current"]["total"] == 1 and d14["current"]["networks"] == {"facebook": 1}
    d15 = total("2026-07-15", "2026-07-15")
    assert d15["current"]["total"] == 2 and d15["current"]["networks"] == {"x": 2}
    # inclusive borders
    assert total("2026-07-14", "2026-07-15")["current"]["total"] == 3
    assert total("2026-07-15", "2026-07-16")["current"]["total"] == 2
    assert total("2026-07-10", "2026-07-13")["current"]["total"] == 0
    # previous period of the same length, and the change against it
    assert d15["previous"]["from"] == d15["previous"]["to"] == "2026-07-14"
    assert d15["previous"]["total"] == 1 and d15["change"]["total"] == 1.0
    assert d15["change"]["networks"] == {"x": None}
    # network filter narrows shares
    assert total("2026-07-14", "2026-07-15", network="x")["current"]["total"] == 2

    hours = get(client, key, "/api/v1/stats/timeseries", **{"from": "2026-07-14", "to": "2026-07-15"})
    by_t = {p["t"]: p["total"] for p in hours["points"] if p["total"]}
    assert by_t == {"2026-07-14T23:00": 1, "2026-07-15T00:00": 2}

    top = get(client, key, "/api/v1/stats/top", **{"from": "2026-07-14", "to": "2026-07-15"})
    assert [(it["url"], it["shares"]) for it in top["items"]] == [(ARTICLES[0], 2), (ARTICLES[1], 1)]
    only14 = get(client, key, "/api/v1/stats/top", **{"from": "2026-07-14", "to": "2026-07-14"})
    assert [(it["url"], it["shares"]) for it in only14["items"]] == [(ARTICLES[0], 1)]


def test_top_merges_cached_closed_days_with_today(app, client, key, flush):
    site = app.config["SITES"]["default"]
    today = params.today(site)
    noon = datetime.combine(today, datetime.min.time(), PARIS).replace(hour=12)
    for back, url, n in ((3, ARTICLES[0], 5), (1, ARTICLES[1], 3), (2, ARTICLES[2], 4)):
        for i in range(n):
            record_at(app, noon - timedelta(days=back),
                      {"type": "share", "url": url, "network": "facebook"}, f"p{back}-{i}")
    flush()
    rng = {"from": (today - timedelta(days=3)).isoformat(), "to": today.isoformat()}
    first = get(client, key, "/api/v1/stats/top", **rng)["items"]
    assert [(it["url"], it["shares"]) for it in first] == [
        (ARTICLES[0], 5), (ARTICLES[2], 4), (ARTICLES[1], 3)]
    assert redis_has_cache(app, site)
    # today's shares (real endpoint) are merged into the cached union, exactly
    send(app, [(f"203.0.113.{i}", "redirect", {"type": "share", "url": ARTICLES[1], "network": "x"})
               for i in range(3)] + [("203.0.113.50", "events",
                                      {"type": "share", "url": ARTICLES[3], "network": "x"})])
    again = get(client, key, "/api/v1/stats/top", **rng)["items"]
    assert [(it["url"], it["shares"]) for it in again] == [
        (ARTICLES[1], 6), (ARTICLES[0], 5), (ARTICLES[2], 4), (ARTICLES[3], 1)]
    limited = get(client, key, "/api/v1/stats/top", limit=1, **rng)["items"]
    assert [(it["url"], it["shares"]) for it in limited] == [(ARTICLES[1], 6)]


def redis_has_cache(app, site) -> bool:
    r = app.extensions["storage"].client
    return bool(all_keys(r, keyspace.stats_cache_patterns(site.id)["top"]))


def test_titles_come_from_the_catalogue(app, client, key):
    send(app, [("203.0.113.1", "events", {"type": "share", "url": ARTICLES[0], "network": "x"})])
    r = app.extensions["storage"].client
    r.hset(keyspace.article("default", keyspace.article_id(ARTICLES[0])), "title", "« Le titre » d'été")
    items = get(client, key, "/api/v1/stats/top")["items"]
    assert items[0]["title"] == "« Le titre » d'été"


def test_titles_of_articles_the_catalogue_knows_under_a_lookalike_url(app, client, key):
    """The catalogue names the page by its <link rel=canonical> (https, www., trailing slash);
    readers shared it as http://lequotidien.example/...: the top list and the article page show
    its title, and the counts stay under the URL that was shared."""
    from share_service.catalogue import store
    from share_service.catalogue.records import normalize

    site = app.config["SITES"]["default"]
    catalogued = "https://www.lequotidien.example/politique/la-crue/"
    shared = "http://lequotidien.example/politique/la-crue"
    other = "https://www.lequotidien.example/politique/inconnu.html"
    store.save_articles(app.extensions["storage"].client, site.id, [normalize(
        {"url": catalogued, "title": "La crue de la Loire", "section": "Environnement"},
        site, "push")])
    send(app, [("203.0.113.1", "events", {"type": "share", "url": shared, "network": "x"}),
               ("203.0.113.2", "events", {"type": "share", "url": shared, "network": "x"}),
               ("203.0.113.3", "events", {"type": "share", "url": other, "network": "x"})])
    items = get(client, key, "/api/v1/stats/top")["items"]
    assert [(it["url"], it["title"], it["shares"]) for it in items] == [
        (shared, "La crue de la Loire", 2), (other, None, 1)]
    art = get(client, key, "/api/v1/stats/article", url=shared)
    assert (art["title"], art["figures"]["total"]) == ("La crue de la Loire", 2)
    rows = get_csv(client, key, "/api/v1/stats/top")
    assert rows[1][2:4] == [shared, "La crue de la Loire"]


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path,params,code", [
    ("summary", {"from": "2026-02-30"}, "bad_date"),
    ("summary", {"from": "26-01-01"}, "bad_date"),
    ("summary", {"to": "0001-01-01"}, "bad_date"),
    ("timeseries", {"from": "2026-05-02", "to": "2026-05-01"}, "bad_range"),
    ("top", {"from": "2024-01-01", "to": "2026-01-01"}, "range_too_long"),
    ("top", {"network": "myspace"}, "unknown_network"),
    ("top", {"limit": "0"}, "bad_limit"),
    ("top", {"limit": "abc"}, "bad_limit"),
    ("summary", {"format": "xml"}, "bad_format"),
    ("timeseries", {"from": "2026-01-01", "to": "2026-01-31", "granularity": "hour"},
     "bad_granularity"),
    ("article", {}, "missing_url"),
    ("article", {"url": "javascript:alert(1)"}, "invalid_url"),
    ("article", {"url": "https://evil.example/a"}, "host_not_allowed"),
])
def test_bad_input_gets_400_json(client, key, path, params, code):
    resp = client.get(f"/api/v1/stats/{path}", query_string=params, headers=key)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.json["error"]["code"] == code
    assert "<" not in resp.json["error"]["message"] or code == "invalid_url"


def test_unknown_site_is_404(client, key):
    resp = client.get("/api/v1/stats/summary?site=nowhere", headers=key)
    assert resp.status_code == 404 and resp.json["error"]["code"] == "unknown_site"


def test_csv_cells_cannot_be_formulas(app, client, key, redis):
    url = ARTICLES[0]
    send(app, [("203.0.113.1", "events", {"type": "share", "url": url, "network": "x"})])
    redis.hset(keyspace.article("default", keyspace.article_id(url)), "title", "=HYPERLINK(\"x\")")
    rows = get_csv(client, key, "/api/v1/stats/top")
    assert rows[1][3] == "'=HYPERLINK(\"x\")"


def test_redis_down_gives_503_not_500(make_app, redis, dead_client):
    raw, _ = api_keys.create_api_key(redis, "k", "viewer")
    app = make_app()
    client = app.test_client()
    app.extensions["storage"].client = dead_client
    resp = client.get("/api/v1/stats/summary", headers={"X-Api-Key": raw})
    assert resp.status_code == 503 and resp.json["error"]["code"] == "unavailable"
    page = client.get("/login")
    assert page.status_code in (200, 503)


def test_openapi_describes_every_stats_route(client):
    spec = client.get("/api/v1/openapi.json").json
    for name in ("summary", "timeseries", "top", "article", "sites"):
        op = spec["paths"][f"/api/v1/stats/{name}"]["get"]
        assert {"ApiKey": []} in op["security"]
    assert spec["components"]["securitySchemes"]["ApiKey"]["name"] == "X-Api-Key"
    assert "text/csv" in spec["paths"]["/api/v1/stats/top"]["get"]["responses"]["200"]["content"]


def test_summary_and_series_merge_cached_closed_days_with_today(app, client, key, redis, flush):
    site = app.config["SITES"]["default"]
    today = params.today(site)
    noon = datetime.combine(today, datetime.min.time(), PARIS).replace(hour=12)
    for back in (1, 2):
        for i in range(back * 2):
            record_at(app, noon - timedelta(days=back),
                      {"type": "share", "url": ARTICLES[back], "network": "linkedin"}, f"c{back}-{i}")
    flush()
    rng = {"from": (today - timedelta(days=2)).isoformat(), "to": today.isoformat()}
    first = get(client, key, "/api/v1/stats/summary", **rng)["current"]
    assert first["total"] == 6 and first["uniques"] == 6
    series = get(client, key, "/api/v1/stats/timeseries", granularity="day", **rng)["points"]
    assert [p["total"] for p in series] == [4, 2, 0]
    # the closed days are now cached (with an expiry) ...
    patterns = keyspace.stats_cache_patterns(site.id)
    cached = all_keys(redis, patterns["sum"]) + all_keys(redis, patterns["series"])
    assert cached and all(0 < redis.ttl(k) <= queries.CACHE_SECONDS for k in cached)
    # ... and today's traffic still shows at once, exactly
    send(app, [(f"203.0.113.{i}", "events",
                {"type": "share", "url": ARTICLES[0], "network": "linkedin"}) for i in range(5)])
    again = get(client, key, "/api/v1/stats/summary", **rng)["current"]
    assert again["total"] == 11 and again["networks"] == {"linkedin": 11}
    assert abs(again["uniques"] - 11) <= 1
    series = get(client, key, "/api/v1/stats/timeseries", granularity="day", **rng)["points"]
    assert [p["total"] for p in series] == [4, 2, 5]
    hourly = get(client, key, "/api/v1/stats/timeseries", **rng)["points"]
    assert sum(p["total"] for p in hourly) == 11 and len(hourly) == 72


def test_unique_sharers_are_the_same_whichever_cache_expired(app, client, key, redis, flush):
    site = app.config["SITES"]["default"]
    today = params.today(site)
    noon = datetime.combine(today, datetime.min.time(), PARIS).replace(hour=12)
    for back in (1, 2, 3):  # 12 sharers over closed days, some of them sharing on two days
        for i in range(back * 3):
            record_at(app, noon - timedelta(days=back),
                      {"type": "share", "url": ARTICLES[i % len(ARTICLES)],
                       "network": NETS[back]}, f"u{i}")
    flush()
    send(app, [(f"203.0.113.{i}", "events", {"type": "copy", "url": ARTICLES[i]}) for i in range(4)])
    rng = {"from": (today - timedelta(days=3)).isoformat(), "to": today.isoformat()}
    first = get(client, key, "/api/v1/stats/summary", **rng)["current"]
    assert first["total"] == 18 and first["copy"] == 4
    assert first["uniques"] == 9 + 4  # u0..u8 (some on several days), and today's four
    patterns = keyspace.stats_cache_patterns(site.id)
    for expired in (["union"], ["sum", "hll"], ["sum", "hll", "union"]):
        for kind in expired:
            for k in all_keys(redis, patterns[kind]):
                redis.delete(k)
        again = get(client, key, "/api/v1/stats/summary", **rng)["current"]
        assert (again["total"], again["uniques"]) == (18, 13), expired
