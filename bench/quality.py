"""Precision@5 of « Plus de contenu » on hand-written catalogues (bench/data/recommend/*.json),
as a reader sees it: every article of a catalogue is asked for its 5 recommendations through the
real engine (real Redis, real model); a recommendation is relevant when it tells the same
``story``. Shared by bench/recommend.py and tests/test_recommend_semantic.py.

The catalogues are ours, written by hand before any measurement and hard on purpose (each
file's ``description`` says how): related articles that share few or no words, unrelated ones
that share the newsroom's everyday words, English, German and mixed-language ones, and a
"natural" French one as a control. bench/data/recommend/src/*.txt are their sources
(build.py turns them into the JSON files).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from share_service.catalogue import store
from share_service.catalogue.records import normalize
from share_service.config import load_settings
from share_service.recommend import Recommender, vectors
from share_service.recommend.embedder import MODEL_ID, article_text

DATA = Path(__file__).resolve().parent / "data" / "recommend"
NOW = 1_790_000_000.0
HARD = ["fr_hard_overlap", "fr_no_shared_words", "en_hard_overlap", "de_hard_overlap",
        "mixed_lang"]
CONTROL = ["fr_natural"]


def load(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def _site_settings(cat: dict, overrides: dict | None = None):
    hosts = sorted({a["url"].split("/")[2] for a in cat["articles"]})
    settings = load_settings({"ALLOWED_HOSTS": hosts, "RECOMMEND_BACKGROUND_LOAD_MIN": 0,
                              **(overrides or {})})
    return settings, settings["SITES"]["default"]


def store_catalogue(client, cat: dict) -> list[dict]:
    """Write the catalogue into the (empty) Redis; the records in catalogue order."""
    _, site = _site_settings(cat)
    raw = [{"url": a["url"], "title": a["title"], "description": a["description"],
            "section": a["section"], "tags": a["tags"], "lang": a["lang"]}
           for a in cat["articles"]]
    records = [normalize(r, site, "push") for r in raw]
    store.save_articles(client, site.id, records)
    return records


def precision_at_5(client, cat: dict, records: list[dict], semantic: bool,
                   settings_overrides: dict | None = None) -> dict:
    """{"p5", "methods": {method: count}, "per_story": {story: p5}} over every article."""
    settings, site = _site_settings(cat, {"RECOMMEND_SEMANTIC": semantic,
                                          **(settings_overrides or {})})
    story = {r["url"]: a["story"] for r, a in zip(records, cat["articles"], strict=True)}
    rec = Recommender(settings, cache_size=0)
    hits, methods, per_story = [], {}, {}
    for r in records:
        answer = rec.recommend(client, site, r["url"], 5, now=NOW)
        items = answer["items"]
        assert len(items) == 5 and r["url"] not in [i["canonical_url"] for i in items]
        methods[answer["method"]] = methods.get(answer["method"], 0) + 1
        share = sum(story[i["canonical_url"]] == story[r["url"]] for i in items) / 5
        hits.append(share)
        per_story.setdefault(story[r["url"]], []).append(share)
    return {"p5": float(np.mean(hits)), "methods": methods,
            "per_story": {s: float(np.mean(v)) for s, v in per_story.items()}}


def embed(client, embedder) -> vectors.EmbedReport:
    return vectors.embed_pending(client, "default", embedder, model=MODEL_ID)


def vectors_alone(cat: dict, embedder) -> dict:
    """p@5 of the cosine ranking alone, with the model's float32 vectors and with the int8
    vectors as stored (what quantisation costs)."""
    texts = [article_text(a["title"], a["description"]) for a in cat["articles"]]
    f32 = embedder.encode(texts)
    q8, _ = vectors.unpack_many(vectors.pack_many(f32, [b"\0" * 8] * len(texts)))
    i8 = q8.astype(np.float32)
    i8 /= np.linalg.norm(i8, axis=1, keepdims=True)
    stories = np.array([a["story"] for a in cat["articles"]])
    out = {}
    for label, v in (("float32", f32), ("int8", i8)):
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        top = np.argsort(-sims, axis=1, kind="stable")[:, :5]
        out[label] = float((stories[top] == stories[:, None]).mean())
    return out
