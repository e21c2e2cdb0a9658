"""Ingestion of feeds, sitemaps and article pages served by a local HTTP server; conditional GETs;
malformed and hostile documents rejected without touching the catalogue; the ingest CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalogue_server import CatalogueServer
from support import all_keys

from share_service.catalogue import store
from share_service.catalogue.ingest import ingest_url, refresh
from share_service.config import load_settings
from share_service.recommend import Recommender, text
from share_service.storage import keyspace

pytestmark = pytest.mark.both_backends


@pytest.fixture(scope="module")
def server():
    srv = CatalogueServer()
    yield srv
    srv.stop()


@pytest.fixture
def settings():
    # The local test server is on 127.0.0.1: private addresses allowed for these tests only.
    return load_settings({"CATALOGUE_FETCH_ALLOW_PRIVATE": True, "ALLOWED_HOSTS": ["127.0.0.1"],
                          "CATALOGUE_FETCH_MAX_BYTES": 1024 * 1024, "CATALOGUE_FETCH_READ_TIMEOUT": 1.0})


@pytest.fixture
def site(settings):
    return settings["SITES"]["default"]


def record(redis, server, path):
    from share_service.sharing import urls

    aid = keyspace.article_id(urls.canonical(server.url(path)))
    data = redis.hgetall(keyspace.article("default", aid))
    return data or None


def catalogue_urls(redis) -> set[str]:
    """The URLs of every record in the default site's catalogue."""
    aids = redis.hkeys(keyspace.article_digests("default"))
    return {redis.hget(keyspace.article("default", aid), "url") for aid in aids}


def test_rss_feed(redis, server, settings, site):
    report = ingest_url(redis, settings, site, server.url("/rss.xml"))
    assert (report.status, report.kind) == ("ok", "feed")
    assert (report.found, report.valid, report.changed, report.skipped) == (4, 2, 2, 2)

    art = record(redis, server, "/politique/municipales-electeurs.html")
    assert art["url"] == server.url("/politique/municipales-electeurs.html")  # utm_* dropped
    assert art["title"] == "Municipales : les électeurs appelés aux urnes dimanche"
    assert art["description"] == "Le scrutin s’annonce serré à Lyon & Marseille."
    assert art["image"] == "https://cdn.lequotidien.example/img/urnes.jpg"
    assert (art["image_width"], art["image_height"]) == ("1200", "675")
    assert art["section"] == "Politique"
    assert json.loads(art["tags"]) == ["Politique", "Élections municipales"]
    assert art["author"] == "Claire Dupont"
    assert art["lang"] == "fr"
    assert art["published"] == "1793604600"  # 2026-11-02T07:30:00Z
    assert art["source"] == "feed"
    sport = record(redis, server, "/sport/ligue1-lyon.html")
    assert sport["image"] == "https://cdn.lequotidien.example/img/stade.jpg"
    # the item on another host and the one without a title were not stored
    assert catalogue_urls(redis) == {server.url("/politique/municipales-electeurs.html"),
                                     server.url("/sport/ligue1-lyon.html")}


def test_atom_feed(redis, server, settings, site):
    report = ingest_url(redis, settings, site, server.url("/atom.xml"))
    assert (report.status, report.kind, report.changed) == ("ok", "feed", 2)
    art = record(redis, server, "/culture/cannes-palme.html")
    assert art["title"] == "Cannes : la Palme d’or pour un premier film"
    assert art["description"] == "Le jury a salué « une œuvre bouleversante »."
    assert art["author"] == "Jean Martin"
    assert json.loads(art["tags"]) == ["Cinéma", "Festival de Cannes"]
    assert art["published"] == "1793689200"  # 2026-11-03T07:00:00Z
    assert art["modified"] == "1793696400"
    # an entry without <published> keeps its updated date for recency
    assert record(redis, server, "/culture/festival-programmation.html")["modified"]


def test_sitemap_index_news_gzip_and_pages(redis, server, settings, site):
    report = ingest_url(redis, settings, site, server.url("/sitemap_index.xml"))
    assert (report.status, report.kind) == ("ok", "sitemapindex")
    kinds = {child.url.rsplit("/", 1)[1]: (child.status, child.kind, child.changed)
             for child in report.children}
    assert kinds == {"sitemap_news.xml": ("ok", "sitemap", 2),
                     "sitemap_pages.xml.gz": ("ok", "sitemap", 2)}
    assert report.totals()["pages"] == 2

    news = record(redis, server, "/economie/inflation-novembre.html")
    assert news["title"] == "Inflation : les prix de l’énergie repartent à la hausse"
    assert json.loads(news["tags"]) == ["Économie", "Inflation", "Énergie"]
    assert news["image"] == "https://cdn.lequotidien.example/img/prix.jpg"
    assert news["published"] == "1793688300"
    assert news["source"] == "sitemap"

    # OpenGraph page: rel=canonical wins over the fetched URL and og:url
    og = record(redis, server, "/societe/canicule-records.html")
    assert og["title"] == "Canicule : des records de température battus en Provence"
    assert og["description"].startswith("Météo-France a relevé 44 °C")
    assert (og["image"], og["image_width"], og["image_height"]) == (
        "https://cdn.lequotidien.example/img/canicule.jpg", "1200", "630")
    assert og["section"] == "Société"
    assert json.loads(og["tags"]) == ["Climat", "Météo"]
    assert og["author"] == "Sophie Bernard"
    assert og["published"] == "1793680200"  # 2026-11-03T04:30:00Z
    assert og["source"] == "page"

    # JSON-LD NewsArticle page (inside @graph), fetched as ?from=sitemap, canonical elsewhere
    ld = record(redis, server, "/sciences/glaciers-fonte.html")
    assert ld["title"] == "Les glaciers alpins ont perdu 10 % de leur volume en deux ans"
    assert ld["description"] == "Une étude suisse mesure une fonte « sans précédent »."
    assert (ld["image"], ld["image_width"], ld["image_height"]) == (
        "https://cdn.lequotidien.example/img/glacier.jpg", "1600", "900")
    assert ld["section"] == "Sciences"
    assert json.loads(ld["tags"]) == ["Climat", "Glaciers", "Alpes"]
    assert ld["author"] == "Luc Petit"
    assert ld["published"] == "1793620800"

    # a second run: every child answers 304 through its index... the index itself is 304 first
    again = ingest_url(redis, settings, site, server.url("/sitemap_index.xml"))
    assert again.status == "not_modified"


def test_single_pages(redis, server, settings, site):
    report = ingest_url(redis, settings, site, server.url("/twitter_only.html"))
    assert (report.status, report.kind, report.changed) == ("ok", "page", 1)
    card = record(redis, server, "/twitter_only.html")
    assert card["title"] == "Only a Twitter card here"
    assert card["description"] == "Cards are the last resort for metadata."
    assert card["image"] == "https://cdn.lequotidien.example/img/card.jpg"
    assert card["lang"] == "en"

    bad = ingest_url(redis, settings, site, server.url("/not_an_article.html"))
    assert (bad.status, bad.reason) == ("rejected", "not_an_article")


def test_conditional_get_and_changed_items(redis, server, settings, site):
    feed = "/feed-changing.xml"
    server.overrides[feed] = server.template("rss.xml")
    first = ingest_url(redis, settings, site, server.url(feed))
    assert first.changed == 2
    seq = redis.hget(keyspace.catalogue_seq("default"), "seq")
    recommender = Recommender(settings, cache_size=0)
    index = recommender.index(redis, site)
    assert len(index) == 2
    version = index.version

    # unchanged: the server answers 304 to our validators; nothing is re-indexed
    second = ingest_url(redis, settings, site, server.url(feed))
    assert second.status == "not_modified"
    assert server.hits(feed)[-1].get("If-None-Match", "").startswith('"')
    assert redis.hget(keyspace.catalogue_seq("default"), "seq") == seq
    assert recommender.index(redis, site).version == version

    # one item changed: the document is read again, only that item is rewritten
    server.overrides[feed] = server.template("rss.xml").replace(
        "Ligue 1 : Lyon s’impose".encode(), "Ligue 1 : Lyon l’emporte".encode())
    third = ingest_url(redis, settings, site, server.url(feed))
    assert (third.status, third.valid, third.changed) == ("ok", 2, 1)
    assert int(redis.hget(keyspace.catalogue_seq("default"), "seq")) == int(seq) + 1
    assert record(redis, server, "/sport/ligue1-lyon.html")["title"].startswith(
        "Ligue 1 : Lyon l’emporte")
    index = recommender.index(redis, site)
    assert index.version == version + 1 and index.dead == 1  # only that article re-indexed
    assert len(index) == 2
    assert text.tokens("l’emporte")[0] in index.term_id  # the new title is searchable

    # refresh() re-reads every remembered source with its validators
    reports = refresh(redis, settings, site)
    assert {r.url: r.status for r in reports}[server.url(feed)] == "not_modified"


@pytest.mark.parametrize("path, reason", [
    ("/malformed.xml", "malformed_xml"),
    ("/billion_laughs.xml", "hostile_xml"),
    ("/xxe.xml", "hostile_xml"),
    ("/huge", "too_large"),
    ("/huge_declared", "too_large"),
    ("/bomb", "too_large"),
    ("/bomb.gz", "too_large"),
    ("/slow", "timeout"),
    ("/missing.xml", "http_error"),
])
def test_bad_documents_rejected_catalogue_untouched(redis, server, settings, site, path, reason,
                                                    caplog):
    ingest_url(redis, settings, site, server.url("/atom.xml"))
    before = {k: redis.dump(k) for k in all_keys(redis)}
    report = ingest_url(redis, settings, site, server.url(path))
    assert (report.status, report.reason) == ("rejected", reason)
    assert f"rejected: {reason}" in caplog.text
    after = {k: redis.dump(k) for k in all_keys(redis)}
    assert after == before  # nothing written, nothing registered for refresh


def test_cli_ingest_refresh_and_list(redis, server, make_app):
    app = make_app({"CATALOGUE_FETCH_ALLOW_PRIVATE": True})
    runner = app.test_cli_runner()
    url = server.url("/atom.xml")
    result = runner.invoke(args=["ingest", url])
    assert result.exit_code == 0, result.output
    assert f"{url}: feed, 2 items, 2 valid, 2 new or changed, 0 skipped" in result.output
    assert store.count(redis, "default") == 2

    result = runner.invoke(args=["ingest", "--refresh"])
    assert result.exit_code == 0, result.output
    assert f"{url}: not modified (304)" in result.output

    result = runner.invoke(args=["ingest", "--list"])
    assert url in result.output and '"last_status": "not_modified"' in result.output

    result = runner.invoke(args=["ingest", "--snapshot"])
    assert result.exit_code == 0, result.output
    assert "default: index snapshot of 2 articles" in result.output
    assert (Path(app.instance_path) / "recommend" / "default.index").stat().st_size > 0

    result = runner.invoke(args=["ingest", server.url("/billion_laughs.xml")])
    assert result.exit_code == 1
    assert "rejected (hostile_xml)" in result.output


def test_cli_refuses_private_address_by_default(redis, server, make_app):
    app = make_app()  # CATALOGUE_FETCH_ALLOW_PRIVATE false (the default)
    result = app.test_cli_runner().invoke(args=["ingest", server.url("/atom.xml")])
    assert result.exit_code == 1
    assert "rejected (private_address)" in result.output
    assert store.count(redis, "default") == 0


def test_feed_refused_by_fastfeedparser_is_read_by_feedparser(redis, server, settings, site):
    report = ingest_url(redis, settings, site, server.url("/rss_no_channel.xml"))
    assert (report.status, report.kind, report.changed) == ("ok", "feed", 1)
    assert record(redis, server, "/lisible.html")["title"] == "Un flux mal formé mais lisible"


def test_sitemap_page_failures_are_skipped_not_fatal(redis, server, settings, site):
    server.overrides["/sitemap_mixed.xml"] = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f'<url><loc>{server.url("/article_og.html")}</loc></url>'
        f'<url><loc>{server.url("/disparu.html")}</loc></url>'
        '<url><loc>https://evil.example/ailleurs.html</loc></url>'
        '</urlset>').encode()
    report = ingest_url(redis, settings, site, server.url("/sitemap_mixed.xml"))
    assert (report.status, report.found, report.changed, report.skipped) == ("ok", 3, 1, 2)
    assert record(redis, server, "/societe/canicule-records.html") is not None
    # a second run: the page is catalogued and has no newer <lastmod>: not fetched again
    server.overrides["/sitemap_mixed.xml"] += b" "
    pages_before = len(server.hits("/article_og.html"))
    again = ingest_url(redis, settings, site, server.url("/sitemap_mixed.xml"))
    assert again.status == "ok" and again.changed == 0
    assert len(server.hits("/article_og.html")) == pages_before


def test_redis_down_rejects_without_crashing(server, settings, site, dead_client):
    report = ingest_url(dead_client, settings, site, server.url("/atom.xml"))
    assert (report.status, report.reason) == ("rejected", "store_unavailable")
