"""How a related article is scored, and the diversity pass. Plain functions; no Flask, no Redis.

With the site's weights (``config.RecommendWeights``; defaults in config/defaults.toml):

    relevance = S * semantic + C * content + T * tags + E * section     (method "semantic")
    relevance = (C * content + T * tags + E * section) / (C + T + E)    (method "words")
    score     = relevance * (1 - R - P + R * recency + P * popularity)

* semantic: how much closer the two articles' sentence vectors are than the article is to the
  catalogue on average: (cosine - mean cosine) / (1 - mean cosine), 0 when below the mean (the
  mean is the query article's own baseline, so the figure means the same for every model and
  article);
* content: BM25 similarity of the two articles' title, description and tags (``text``),
  divided by the article's similarity with itself (0..1);
* tags: Jaccard overlap of their tag sets; section: 1 when they share a (non-empty) section;
* recency: 0.5 ** (age in days / half-life), 0 for an undated article;
* popularity: log(1 + recent shares) / log(1 + the most shared article's recent shares), from
  the share counters of the last days (each day weighted 1 / (1 + days ago)).

Popularity and recency only *boost* relevant articles (a multiplier between 1 - R - P and 1):
a popular but unrelated article never outranks a related one. Candidates below MIN_RELEVANCE are
not "related"; the answer is then completed with popular, then newest articles.

Diversity: maximal marginal relevance (MMR) over the candidates, with the similarity of two
candidates the Jaccard overlap of their terms; and two articles whose titles share half their
terms (or whose terms overlap by 60 %) are the same story: only the best one is kept.
Every ordering breaks ties by article id, so answers are deterministic.
"""

from __future__ import annotations

import math

MIN_RELEVANCE = 0.05
MMR_LAMBDA = 0.75
SAME_STORY_TITLE = 0.5
SAME_STORY_TERMS = 0.6


def jaccard(a, b) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter) if inter else 0.0


def recency(date: float, now: float, half_life_days: float) -> float:
    if date <= 0:
        return 0.0
    age = max(0.0, now - date) / 86400.0
    return 0.5 ** (age / half_life_days)


def popularity(shares: float, max_shares: float) -> float:
    if shares <= 0 or max_shares <= 0:
        return 0.0
    return math.log1p(shares) / math.log1p(max_shares)


def semantic(cosine: float, mean: float) -> float:
    """The cosine above the query's mean cosine, rescaled to 0..1."""
    if cosine <= mean or mean >= 1.0:
        return 0.0
    return min(1.0, (cosine - mean) / (1.0 - mean))


def relevance(weights, content: float, tags: float, section: float,
              sem: float | None = None) -> float:
    """``sem`` None: by words alone (the other weights rescaled to sum to 1)."""
    words = weights.content * content + weights.tags * tags + weights.section * section
    if sem is None:
        return words / (weights.content + weights.tags + weights.section)
    return weights.semantic * sem + words


def blend(weights, rel: float, rec: float, pop: float) -> float:
    return rel * (1.0 - weights.recency - weights.popularity + weights.recency * rec
                  + weights.popularity * pop)


def same_story(title_a, title_b, terms_a, terms_b) -> bool:
    return (jaccard(title_a, title_b) >= SAME_STORY_TITLE
            or jaccard(terms_a, terms_b) >= SAME_STORY_TERMS)


def mmr(candidates: list[dict], limit: int, lambda_: float = MMR_LAMBDA) -> list[dict]:
    """Pick up to ``limit`` candidates (dicts with "aid", "score", "terms", "title_terms"),
    trading score for novelty. Each picked dict gets "diversity_penalty" (its highest
    similarity to an item picked before it)."""
    pool = sorted(candidates, key=lambda c: (-c["score"], c["aid"]))
    top = pool[0]["score"] if pool and pool[0]["score"] > 0 else 1.0
    penalty = [0.0] * len(pool)      # max similarity to the picked items, kept up to date
    alive = list(range(len(pool)))
    picked: list[dict] = []
    while alive and len(picked) < limit:
        best, best_value = alive[0], -math.inf
        for i in alive:               # in score order: the first of equal values wins
            value = lambda_ * pool[i]["score"] / top - (1 - lambda_) * penalty[i]
            if value > best_value + 1e-12:
                best, best_value = i, value
        alive.remove(best)
        chosen = pool[best]
        if any(same_story(chosen["title_terms"], p["title_terms"], chosen["terms"], p["terms"])
               for p in picked):
            continue
        chosen["diversity_penalty"] = penalty[best]
        picked.append(chosen)
        for i in alive:
            sim = jaccard(pool[i]["terms"], chosen["terms"])
            if sim > penalty[i]:
                penalty[i] = sim
    return picked
