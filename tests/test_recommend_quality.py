"""Recommendation quality on generated catalogues with a known topical structure: the related
items of an article should be about its topic. Prints precision@5 (run with -s to see it)."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

from share_service.catalogue import store
from share_service.catalogue.records import normalize
from share_service.config import load_settings
from share_service.recommend import Recommender, text

pytestmark = pytest.mark.both_backends

_spec = importlib.util.spec_from_file_location(
    "bench_corpus", Path(__file__).parent.parent / "bench" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)

NOW = 1_790_000_000.0


def precision_at_5(redis, articles, queries) -> float:
    settings = load_settings({"ALLOWED_HOSTS": ["www.lequotidien.example"]})
    site = settings["SITES"]["default"]
    records = [normalize(a, site, "push") for a in articles]
    store.save_articles(redis, "default", records)
    topic = {r["url"]: a["topic"] for r, a in zip(records, articles, strict=True)}
    recommender = Recommender(settings, cache_size=0)
    hits = total = 0
    for record in queries(records):
        items = recommender.recommend(redis, site, record["url"], 5, now=NOW)["items"]
        assert len(items) == 5
        assert record["url"] not in [i["canonical_url"] for i in items]
        total += len(items)
        hits += sum(topic[i["canonical_url"]] == topic[record["url"]] for i in items)
    return hits / total


def test_precision_at_5_french_topics(redis):
    """Six hand-written French topics (accents, sections shared between topics). Hard on
    purpose: only 30 % of title words and 20 % of description words come from the topic, 10 %
    from another topic, the rest from general vocabulary; one article in three carries a tag of
    another topic."""
    articles = corpus.make_corpus(1200, seed=11, now=NOW, own_title=0.3, own_description=0.2,
                                  noise=0.1, foreign_tag=0.33)
    p5 = precision_at_5(redis, articles, lambda records: records[::4])
    print(f"\nprecision@5 (6 French topics, 1,200 articles, 300 queries): {p5:.3f}")
    assert p5 >= 0.9


def test_precision_at_5_many_synthetic_topics(redis):
    """Forty pseudo-French topics and a 2,000-word general vocabulary: harder, closer to a real
    catalogue's spread."""
    topics = corpus.synthetic_topics(40, random.Random(5))
    articles = corpus.make_corpus(3000, seed=12, topics=topics, now=NOW, general_extra=2000,
                                  own_title=0.3, own_description=0.2, noise=0.1,
                                  foreign_tag=0.33)
    p5 = precision_at_5(redis, articles, lambda records: records[::15])
    print(f"\nprecision@5 (40 synthetic topics, 3,000 articles, 200 queries): {p5:.3f}")
    assert p5 >= 0.8


def test_random_ranking_would_fail_the_floor():
    """The floor means something: picking five articles at random from six topics hits the
    topic about one time in six."""
    rng = random.Random(3)
    topics = [i % 6 for i in range(1200)]
    hits = sum(topics[rng.randrange(1200)] == topics[q] for q in range(300) for _ in range(5))
    assert hits / 1500 < 0.3


@pytest.mark.parametrize("a, b", [
    ("Les électeurs appelés aux urnes", "electeurs urne"),
    ("Élection présidentielle", "élections PRÉSIDENTIELLES"),
    ("Cœur de la forêt", "coeur forets"),
    ("Les journaux régionaux", "journal régional"),
])
def test_accent_folding_and_light_stemming(a, b):
    assert set(text.tokens(b)) <= set(text.tokens(a))


def test_stop_words_do_not_count():
    assert text.tokens("Le la les des et ou dans pour the and of with") == []
