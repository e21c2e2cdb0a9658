"""The push API (PUT/DELETE /api/v1/articles) and GET /api/v1/recommendations."""

from __future__ import annotations

import json
import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from support import BROWSER_UA, add_shares

from share_service.accounts import api_keys
from share_service.catalogue import store
from share_service.catalogue.records import normalize
from share_service.recommend import Recommender
from share_service.storage import keyspace

pytestmark = pytest.mark.both_backends

HOST = "https://www.lequotidien.example"
NOW = time.time()
DAY = 86400


def art(path, title, description="", section="", tags=(), age_days=1.0, **extra):
    return {"url": HOST + path, "title": title, "description": description, "section": section,
            "tags": list(tags), "published": int(NOW - age_days * DAY), **extra}


CURRENT = art("/societe/canicule-provence.html",
              "Canicule : records de chaleur battus en Provence",
              "Météo-France relève 44 °C à Carpentras, la sécheresse menace les cultures.",
              "Société", ["Climat", "Météo"])
SAME_STORY = [
    art(f"/societe/canicule-provence-{i}.html",
        f"Canicule : records de chaleur battus en Provence ({suffix})",
        "Météo-France relève des records, la sécheresse menace les cultures.",
        "Société", ["Climat", "Météo"], age_days=1 + i / 10)
    for i, suffix in enumerate(["direct", "vidéo", "carte", "témoignages"])
]
RELATED = [
    art("/societe/secheresse-agriculteurs.html", "Sécheresse : les agriculteurs inquiets",
        "La canicule et le manque de pluie menacent les récoltes en Provence.", "Société",
        ["Climat"], age_days=2),
    art("/sciences/glaciers-fonte.html", "Les glaciers fondent à un rythme record",
        "Le réchauffement climatique accélère la fonte, canicule après canicule.", "Sciences",
        ["Climat"], age_days=3),
    art("/societe/incendies-var.html", "Incendies dans le Var après la canicule",
        "La chaleur et la sécheresse favorisent les feux de forêt.", "Société",
        ["Climat", "Incendies"], age_days=4),
    art("/meteo/previsions-chaleur.html", "Météo : la chaleur va durer toute la semaine",
        "Météo-France prolonge la vigilance canicule en Provence.", "Météo",
        ["Météo"], age_days=2),
]
UNRELATED = [
    art(f"/sport/ligue1-{i}.html", f"Ligue 1 : victoire de Lyon face à Nantes, journée {i}",
        "Un but à la dernière minute du buteur lyonnais.", "Sport", ["Football"], age_days=i)
    for i in range(1, 6)
]
EXCLUDED = art("/partenaires/climatiseur.html",
               "Canicule : nos climatiseurs contre les records de chaleur en Provence",
               "Offre partenaire canicule sécheresse Météo-France.", "Partenaires",
               ["Climat", "Météo"])
TOO_OLD = art("/archives/canicule-2003.html",
              "Canicule de 2003 : les records de chaleur en Provence",
              "Météo-France relève 44 °C, la sécheresse menace les cultures.", "Société",
              ["Climat", "Météo"], age_days=400)
ALL = [CURRENT, *SAME_STORY, *RELATED, *UNRELATED, EXCLUDED, TOO_OLD]
SITE = {"default": {"allowed_hosts": ["www.lequotidien.example", "lequotidien.example"],
                    "recommendations": {"max_age_days": 365,
                                        "excluded_sections": ["Partenaires"]}}}


@pytest.fixture
def app(make_app, redis):
    return make_app({"SITES": SITE})


@pytest.fixture
def catalogue(app, redis):
    site = app.config["SITES"]["default"]
    store.save_articles(redis, "default", [normalize(a, site, "push") for a in ALL])
    return ALL


def admin_key(redis, sites=None, role="admin"):
    raw, _ = api_keys.create_api_key(redis, "cms", role=role, sites=sites)
    return {"X-Api-Key": raw}


def recs(client, url, **params):
    return client.get("/api/v1/recommendations", query_string={"url": url, **params})


# --- push API -------------------------------------------------------------------------------------
def test_push_requires_an_admin_key(client, redis):
    body = art("/a.html", "Un titre")
    assert client.put("/api/v1/articles", json=body).status_code == 401
    assert client.put("/api/v1/articles", json=body,
                      headers={"X-Api-Key": "ssk_wrong"}).status_code == 401
    response = client.put("/api/v1/articles", json=body, headers=admin_key(redis, role="viewer"))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert store.count(redis, "default") == 0


def test_push_key_scoped_to_another_site(make_app, redis):
    app = make_app({"SITES": {**SITE, "other": {"allowed_hosts": ["other.example"]}}})
    client = app.test_client()
    response = client.put("/api/v1/articles", json=art("/a.html", "Un titre"),
                          headers=admin_key(redis, sites=["other"]))
    assert response.status_code == 403
    assert store.count(redis, "default") == 0


def test_push_stores_and_skips_unchanged(client, redis):
    headers = admin_key(redis)
    body = art("/politique/debat.html?utm_source=cms", "Débat : la réforme « adoptée »",
               "Le texte passe à l’Assemblée.", "Politique", ["Assemblée"],
               image="https://cdn.lequotidien.example/d.jpg", image_width=1200,
               image_height=675, author="Claire Dupont", lang="fr",
               modified="2026-11-03T10:00:00+01:00")
    response = client.put("/api/v1/articles", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert (data["stored"], data["changed"]) == (1, 1)
    canonical = HOST + "/politique/debat.html"
    assert data["articles"] == [{"id": keyspace.article_id(canonical), "url": canonical,
                                 "changed": True}]
    record = redis.hgetall(keyspace.article("default", keyspace.article_id(canonical)))
    assert record["title"] == "Débat : la réforme « adoptée »"
    assert json.loads(record["tags"]) == ["Assemblée"]
    assert record["modified"] == "1793696400"
    assert (record["image_width"], record["source"]) == ("1200", "push")

    again = client.put("/api/v1/articles", json={"articles": [body]}, headers=headers)
    assert again.get_json()["changed"] == 0


@pytest.mark.parametrize("body, field", [
    ({"title": "Sans URL"}, "url"),
    (art("/x.html", ""), "title"),
    (art("/x.html", "x" * 301), "title"),
    (art("/x.html", "T", image="javascript:alert(1)"), "image"),
    (art("/x.html", "T", image="https://cdn.example/i.jpg", image_width="large"), "image_width"),
    (art("/x.html", "T", published="hier"), "published"),
    ({**art("/x.html", "T"), "tags": "a,b"}, "tags"),
    (art("/x.html", "T", tags=[1, 2]), "tags"),
    (art("/x.html", "T", lang="français"), "lang"),
    (art("/x.html", "T", colour="red"), None),
    ({**art("/x.html", "T"), "url": "https://evil.example/x.html"}, None),
    ({**art("/x.html", "T"), "url": "javascript:alert(1)"}, None),
])
def test_push_rejects_bad_articles(client, redis, body, field):
    response = client.put("/api/v1/articles", json=body, headers=admin_key(redis))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] in ("invalid_article", "host_not_allowed", "invalid_url")
    if field:
        assert error["field"] == field
    assert store.count(redis, "default") == 0


def test_push_batch_is_all_or_nothing(client, redis):
    good = art("/ok.html", "Bon article")
    bad = art("/ko.html", "")
    response = client.put("/api/v1/articles", json={"articles": [good, bad]},
                          headers=admin_key(redis))
    assert response.status_code == 400
    assert response.get_json()["error"]["index"] == 1
    assert store.count(redis, "default") == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'{"articles": []}', b'"text"'])
def test_push_malformed_bodies(client, redis, raw):
    response = client.put("/api/v1/articles", data=raw, content_type="application/json",
                          headers=admin_key(redis))
    assert response.status_code == 400
    assert "error" in response.get_json()
    assert store.count(redis, "default") == 0


def test_delete_article(client, redis, catalogue):
    headers = admin_key(redis)
    target = RELATED[0]["url"]
    assert target in [i["canonical_url"] for i in recs(client, CURRENT["url"]).get_json()["items"]]
    assert client.delete("/api/v1/articles", query_string={"url": target},
                         headers=headers).status_code == 204
    assert client.delete("/api/v1/articles", query_string={"url": target},
                         headers=headers).status_code == 404
    items = recs(client, CURRENT["url"], limit=10).get_json()["items"]
    assert target not in [i["canonical_url"] for i in items]


# --- recommendations ------------------------------------------------------------------------------
def test_related_items_shape_and_rules(client, catalogue):
    response = recs(client, CURRENT["url"] + "?utm_source=facebook#top")
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    data = response.get_json()
    assert data["url"] == CURRENT["url"] and data["fallback"] is False
    items = data["items"]
    assert len(items) == 5
    got = [i["canonical_url"] for i in items]
    assert CURRENT["url"] not in got                          # never the current article
    assert EXCLUDED["url"] not in got                         # excluded section
    assert TOO_OLD["url"] not in got                          # beyond max_age_days
    assert not set(got) & {a["url"] for a in UNRELATED}       # five related ones exist
    assert len(set(got) & {a["url"] for a in SAME_STORY}) == 1  # one item of that story
    first = items[0]
    assert set(first) == {"url", "canonical_url", "title", "description", "image",
                          "image_width", "image_height", "section", "published", "score"}
    query = parse_qs(urlsplit(first["url"]).query)
    assert query["utm_source"] == ["more_content"]
    assert first["published"].endswith("Z")
    scores = [i["score"] for i in items]
    assert all(isinstance(s, float) for s in scores)


def test_deterministic_across_calls_and_workers(app, client, catalogue):
    one = recs(client, CURRENT["url"], limit=8).get_json()
    two = recs(client, CURRENT["url"], limit=8).get_json()
    app.extensions["recommender"] = Recommender(app.config)  # a fresh worker: its own index
    three = recs(client, CURRENT["url"], limit=8).get_json()
    assert one == two == three


def test_debug_components(client, catalogue):
    response = recs(client, CURRENT["url"], debug=1, limit=10)
    assert response.headers["Cache-Control"] == "no-store"
    items = response.get_json()["items"]
    related = [i for i in items if i["components"]["source"] == "related"]
    assert related
    for item in related:
        c = item["components"]
        assert {"content", "tags", "section", "relevance", "recency", "popularity"} <= set(c)
        assert 0 <= c["content"] <= 1 and 0 <= c["recency"] <= 1
        expected = c["relevance"] * (0.70 + 0.15 * c["recency"] + 0.15 * c["popularity"])
        assert item["score"] == pytest.approx(expected, abs=1e-5)
    # ordered by score among the related ones except where diversity intervened
    assert related[0]["score"] == max(i["score"] for i in related)


def test_popularity_from_share_counters(app, client, redis, catalogue):
    site = app.config["SITES"]["default"]
    today = datetime.now(ZoneInfo(site.timezone)).strftime("%Y%m%d")
    glaciers = keyspace.article_id(RELATED[1]["url"])
    add_shares(redis, "default", today, {glaciers: 40})
    items = recs(client, CURRENT["url"], debug=1, limit=10).get_json()["items"]
    by_url = {i["canonical_url"]: i["components"] for i in items}
    assert by_url[RELATED[1]["url"]]["popularity"] == 1.0
    assert by_url[RELATED[1]["url"]]["shares"] == 40
    assert by_url[RELATED[0]["url"]]["popularity"] == 0.0


def test_unknown_article_falls_back_to_most_shared_then_newest(app, client, redis, catalogue):
    site = app.config["SITES"]["default"]
    today = datetime.now(ZoneInfo(site.timezone)).strftime("%Y%m%d")
    football = keyspace.article_id(UNRELATED[3]["url"])
    add_shares(redis, "default", today, {football: 12, keyspace.article_id(EXCLUDED["url"]): 99})
    response = recs(client, HOST + "/pas-encore-dans-le-catalogue.html", debug=1)
    assert response.status_code == 200
    data = response.get_json()
    assert data["fallback"] is True and len(data["items"]) == 5
    assert data["items"][0]["canonical_url"] == UNRELATED[3]["url"]   # most shared first
    assert data["items"][0]["components"]["source"] == "popular"
    sources = [i["components"]["source"] for i in data["items"][1:]]
    assert sources == ["newest"] * 4
    dates = [i["published"] for i in data["items"][1:]]
    assert dates == sorted(dates, reverse=True)
    assert EXCLUDED["url"] not in [i["canonical_url"] for i in data["items"]]


def test_empty_catalogue_answers_empty_list(client):
    data = recs(client, HOST + "/rien.html").get_json()
    assert data == {"url": HOST + "/rien.html", "method": "words", "fallback": True, "items": []}


@pytest.mark.parametrize("limit, count", [("1", 1), ("2", 2), ("20", 6)])
def test_limit(client, catalogue, limit, count):
    items = recs(client, CURRENT["url"], limit=limit).get_json()["items"]
    # 6 stories are eligible: the four related articles, one of the four near-duplicates of the
    # current story, one of the five near-identical football reports
    assert len(items) == count


@pytest.mark.parametrize("params, code", [
    ({"limit": "0"}, "invalid_limit"), ({"limit": "21"}, "invalid_limit"),
    ({"limit": "-1"}, "invalid_limit"), ({"limit": "cinq"}, "invalid_limit"),
    ({"url": ""}, "missing_url"), ({"url": "javascript:alert(1)"}, "invalid_url"),
    ({"url": "https://evil.example/a.html"}, "host_not_allowed"),
    ({"url": HOST + "/" + "a" * 2100}, "url_too_long"),
    ({"site": "nope"}, "unknown_site"),
])
def test_bad_input(client, catalogue, params, code):
    query = {"url": CURRENT["url"], **params}
    response = client.get("/api/v1/recommendations", query_string=query)
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"]["code"] == code


def test_index_follows_pushes_incrementally(app, client, redis, catalogue):
    recs(client, CURRENT["url"])
    index = app.extensions["recommender"].indexes["default"]
    size, version = len(index), index.version
    fresh = art("/societe/canicule-nuit.html", "Canicule : une nuit tropicale record",
                "Météo-France relève 30 °C la nuit en Provence, la sécheresse s’aggrave.",
                "Société", ["Climat", "Météo"], age_days=0.1)
    response = client.put("/api/v1/articles", json=fresh, headers=admin_key(redis))
    assert response.status_code == 200
    items = recs(client, CURRENT["url"]).get_json()["items"]
    assert fresh["url"] in [i["canonical_url"] for i in items]
    assert app.extensions["recommender"].indexes["default"] is index  # not rebuilt
    assert (len(index), index.version) == (size + 1, version + 1)


def test_openapi_describes_the_routes(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"get"} <= set(spec["paths"]["/api/v1/recommendations"])
    assert {"put", "delete"} <= set(spec["paths"]["/api/v1/articles"])


def test_impressions_and_clicks_give_the_dashboard_a_ctr(app, client, redis, catalogue, flush):
    """What the widget does with an answer: one rec_impression for the page, one rec_click with
    the clicked item as target (its tagged link; counted on the page's canonical article)."""
    from share_service.stats import params, queries

    items = recs(client, CURRENT["url"]).get_json()["items"]
    browser = {"User-Agent": BROWSER_UA}
    other = {"User-Agent": BROWSER_UA.replace("Chrome/131", "Chrome/132")}  # a second reader
    for body, headers in (({"type": "rec_impression", "url": CURRENT["url"]}, browser),
                          ({"type": "rec_impression", "url": CURRENT["url"]}, other),
                          ({"type": "rec_click", "url": CURRENT["url"],
                            "target": items[1]["url"]}, browser)):
        response = client.post("/api/v1/events", data=json.dumps(body), headers=headers,
                               content_type="text/plain")
        assert response.status_code == 204
    flush()
    site = app.config["SITES"]["default"]
    figures = queries.summary(redis, site, params.preset_range(site, "today"))["current"]
    assert (figures["rec_impression"], figures["rec_click"]) == (2, 1)
    assert figures["rec_ctr"] == 0.5
    totals = redis.hgetall(keyspace.article_totals("default", keyspace.article_id(CURRENT["url"])))
    assert (totals["rec_impression"], totals["rec_click"]) == ("2", "1")


def test_redis_down_is_a_503_json_error(make_app, dead_store):
    app = make_app({"SITES": SITE, **dead_store})
    response = app.test_client().get("/api/v1/recommendations",
                                     query_string={"url": CURRENT["url"]})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
