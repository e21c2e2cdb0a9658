"""The incremental index: a worker that followed the catalogue change by change, one that loaded
it at once (bulk), and one that compacted after many rewrites all give the same answers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from support import add_shares

from share_service.catalogue import store
from share_service.catalogue.records import normalize
from share_service.config import load_settings
from share_service.recommend import Recommender

pytestmark = pytest.mark.both_backends

_spec = importlib.util.spec_from_file_location(
    "bench_corpus", Path(__file__).parent.parent / "bench" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)

NOW = 1_790_000_000.0


def setup():
    settings = load_settings({"ALLOWED_HOSTS": ["www.lequotidien.example"]})
    site = settings["SITES"]["default"]
    articles = corpus.make_corpus(900, seed=21, now=NOW, own_title=0.3, own_description=0.2,
                                  noise=0.1, foreign_tag=0.3)
    return settings, site, [normalize(a, site, "push") for a in articles]


def answers(recommender, redis, site, records):
    return [recommender.recommend(redis, site, r["url"], 6, debug=True, now=NOW)
            for r in records[::60]]


def test_incremental_bulk_and_compacted_indexes_agree(redis):
    settings, site, records = setup()
    follower = Recommender(settings, cache_size=0)
    # the follower sees the catalogue grow 100 articles at a time (incremental upserts)
    for start in range(0, len(records), 100):
        store.save_articles(redis, "default", records[start:start + 100])
        follower.recommend(redis, site, records[0]["url"], 5, now=NOW)
    index = follower.indexes["default"]
    assert len(index) == 900 and index.pending  # built by appends, not yet merged everywhere

    # a new worker loads all 900 at once (bulk build)
    fresh = Recommender(settings, cache_size=0)
    assert answers(follower, redis, site, records) == answers(fresh, redis, site, records)

    # 700 articles rewritten twice: the follower retires 1,400 slots, then compacts itself
    for round_ in range(2):
        changed = [dict(r, description=r["description"] + f" Mise à jour {round_}.")
                   for r in records[:700]]
        store.save_articles(redis, "default", changed)
        follower.recommend(redis, site, records[0]["url"], 5, now=NOW)
    index = follower.indexes["default"]
    assert len(index) == 900
    assert index.dead == 0 and len(index.aids) == 900  # compacted
    records = [dict(r, description=r["description"] + " Mise à jour 1.") if i < 700 else r
               for i, r in enumerate(records)]
    again = Recommender(settings, cache_size=0)
    assert answers(follower, redis, site, records) == answers(again, redis, site, records)


def test_catalogue_reset_is_noticed(redis):
    settings, site, records = setup()
    store.save_articles(redis, "default", records[:50])
    recommender = Recommender(settings, cache_size=0)
    recommender.recommend(redis, site, records[0]["url"], 5, now=NOW)
    assert len(recommender.indexes["default"]) == 50
    redis.flushall()                      # the catalogue is emptied, then refilled differently
    store.save_articles(redis, "default", records[100:160])
    answer = recommender.recommend(redis, site, records[0]["url"], 5, now=NOW)
    assert answer["fallback"] is True     # the old article is gone with the old catalogue
    assert len(recommender.indexes["default"]) == 60


def test_restarted_worker_starts_from_its_snapshot(redis, tmp_path):
    settings, site, records = setup()
    store.save_articles(redis, "default", records[:800])
    first = Recommender(settings, cache_size=0, snapshot_dir=str(tmp_path))
    first.recommend(redis, site, records[0]["url"], 5, now=NOW)   # full (bulk) load
    assert (tmp_path / "default.index").exists()
    snapshot_version = first.indexes["default"].version

    store.save_articles(redis, "default", records[800:810])        # while it was down
    restarted = Recommender(settings, cache_size=0, snapshot_dir=str(tmp_path))
    restarted.recommend(redis, site, records[0]["url"], 5, now=NOW)
    index = restarted.indexes["default"]
    assert index.version == snapshot_version + 10   # the snapshot plus ten incremental changes
    assert len(index) == 810
    cold = Recommender(settings, cache_size=0)
    assert answers(restarted, redis, site, records[:810]) == answers(cold, redis, site,
                                                                       records[:810])

    (tmp_path / "default.index").write_bytes(b"not a pickle")      # damaged: ignored
    again = Recommender(settings, cache_size=0, snapshot_dir=str(tmp_path))
    assert len(again.recommend(redis, site, records[0]["url"], 5, now=NOW)["items"]) == 5
    assert len(again.indexes["default"]) == 810


def test_big_catalogue_loads_in_the_background(redis):
    """A worker meeting a big catalogue without a snapshot answers at once with the most
    shared articles (site rules applied), and with related ones once its index is built."""
    from datetime import datetime

    from share_service.storage import keyspace

    settings, site, records = setup()
    settings = dict(settings, RECOMMEND_BACKGROUND_LOAD_MIN=500)
    store.save_articles(redis, "default", records)
    today = datetime.fromtimestamp(NOW, site.tz).strftime("%Y%m%d")
    shared = {keyspace.article_id(r["url"]): 100 - i for i, r in enumerate(records[1:8])}
    add_shares(redis, "default", today, shared)
    recommender = Recommender(settings, cache_size=0)
    first = recommender.recommend(redis, site, records[1]["url"], 5, debug=True, now=NOW)
    assert first["fallback"] is True
    got = [i["canonical_url"] for i in first["items"]]
    assert got == [r["url"] for r in records[2:7]]      # most shared first, never itself
    assert first["items"][0]["components"]["source"] == "popular (index loading)"
    assert recommender.wait_loaded("default", timeout=60)
    later = recommender.recommend(redis, site, records[1]["url"], 5, debug=True, now=NOW)
    assert later["fallback"] is False
    assert later["items"][0]["components"]["source"] == "related"
