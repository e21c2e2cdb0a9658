"""« Plus de contenu »: the recommendations of one article. No Flask here.

A :class:`Recommender` lives once per worker process (the web layer keeps it in
``app.extensions["recommender"]``; benchmarks and tests build their own). Per request it:

1. syncs the site's :class:`~.index.SiteIndex` with the catalogue's change log (one HMGET when
   nothing changed; only the changed articles otherwise — never a full rebuild);
2. refreshes the site's recent share popularity at most every RECOMMEND_POPULARITY_TTL seconds
   (the ``keyspace.top_day`` sets of the last RECOMMEND_POPULARITY_DAYS days, weighted
   1 / (1 + days ago) and added up inside Redis by ``lua/popular.lua``, one call per group of
   shards; the POP_TOP best are kept);
3. takes candidates: the articles closest in meaning (one matrix product over the site's
   sentence vectors, ``matrix.SlotVectors``) when the article has a vector and enough of the
   catalogue has one (method "semantic"), plus those sharing its strongest words (numpy over
   the postings of the inverted index); scores them (``scoring``, with the site's weights),
   applies the diversity pass, completes with popular then newest articles if needed — or, for
   an unknown article, answers those with ``"fallback": true``. The answer's ``method`` says
   whether vectors served it ("semantic") or words alone ("words": no vector yet for the
   article or most of the catalogue, no embedder, no model);
4. reads the chosen articles' display fields from Redis (one pipeline) and tags their links
   ``utm_source=more_content``.

Answers are cached per worker for the same article, limit and catalogue/popularity state, for at
most a minute (the recency clock moves by the minute).

With ``snapshot_dir`` (the web layer uses ``INSTANCE_PATH/recommend``), a worker that indexed in
bulk (a full load) saves its index there; a restarted worker loads it and syncs only the changes
made since, instead of re-reading the whole catalogue.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..catalogue import store
from ..sharing import urls
from ..storage import fanout, keyspace, scripts
from ..storage.client import UNAVAILABLE
from . import scoring, text
from .embedder import MODEL_ID
from .index import SiteIndex
from .matrix import SlotVectors

log = logging.getLogger("share_service.recommend")
MAX_QUERY_TERMS = 24
CANDIDATES = 60
POP_TOP = 1000          # most-shared articles kept (weighted shares of the last days)
POPULAR = scripts.load(__file__, "popular")  # lua/popular.lua


class Recommender:
    def __init__(self, settings, cache_size: int = 2048, snapshot_dir: str | None = None):
        self.settings = settings
        self.snapshot_dir = snapshot_dir
        self.half_life = float(settings.get("RECOMMEND_HALF_LIFE_DAYS", 7.0))
        self.pop_days = int(settings.get("RECOMMEND_POPULARITY_DAYS", 7))
        self.pop_ttl = float(settings.get("RECOMMEND_POPULARITY_TTL", 30))
        self.indexes: dict[str, SiteIndex] = {}
        self.popularity: dict[str, tuple[float, int, dict[str, float], list[str]]] = {}
        self.cache: OrderedDict = OrderedDict()
        self.cache_size = cache_size
        self.background_min = int(settings.get("RECOMMEND_BACKGROUND_LOAD_MIN", 20000))
        self.semantic = bool(settings.get("RECOMMEND_SEMANTIC", True))
        self.min_coverage = float(settings.get("RECOMMEND_SEMANTIC_MIN_COVERAGE", 0.5))
        self.exact_max = int(settings.get("RECOMMEND_SEMANTIC_EXACT_MAX", 20000))
        self.coarse_dims = int(settings.get("RECOMMEND_SEMANTIC_COARSE_DIMS", 128))
        self.told: set[str] = set()   # sites whose missing vectors were logged
        self.loading: dict[str, threading.Thread] = {}
        self.lock = threading.Lock()

    # -- state ---------------------------------------------------------------------------------
    def _snapshot_path(self, site) -> str | None:
        return str(Path(self.snapshot_dir) / f"{site.id}.index") if self.snapshot_dir else None

    def _vectors(self, site) -> SlotVectors | None:
        if not self.semantic:
            return None
        return SlotVectors(site.id, MODEL_ID, self.exact_max, self.coarse_dims)

    def index(self, client, site) -> SiteIndex | None:
        """The site's index, synced. None while a big catalogue is being loaded in the
        background (no snapshot, at least RECOMMEND_BACKGROUND_LOAD_MIN articles)."""
        idx = self.indexes.get(site.id)
        path = self._snapshot_path(site)
        if idx is None:
            idx = SiteIndex.from_snapshot(site, path, self._vectors(site)) if path else None
            if idx is None:
                if site.id in self.loading:
                    return None
                if self.background_min and client.zcard(
                        keyspace.catalogue_changes(site.id)) >= self.background_min:
                    thread = threading.Thread(target=self._load, args=(client, site),
                                              name=f"recommend-load-{site.id}", daemon=True)
                    self.loading[site.id] = thread
                    thread.start()
                    return None
                idx = SiteIndex(site, self._vectors(site))
            self.indexes[site.id] = idx
        idx.sync(client)
        if idx.bulk_synced or idx.from_disk:
            if path and idx.bulk_synced:
                idx.save_snapshot(path)
            _freeze()
            idx.from_disk = False
        return idx

    def _load(self, client, site) -> None:
        """Build a site's index off the request path; requests meanwhile get the degraded
        (most shared) answer instead of waiting — a full load of 100k articles takes longer than
        a worker timeout."""
        try:
            idx = SiteIndex(site, self._vectors(site))
            idx.sync(client)
            path = self._snapshot_path(site)
            if path:
                idx.save_snapshot(path)
            _freeze()
            with self.lock:
                self.indexes[site.id] = idx
        except Exception:  # noqa: BLE001 - Redis failing: the next request tries again
            log.exception("loading the recommendation index of %s failed", site.id)
        finally:
            with self.lock:
                self.loading.pop(site.id, None)

    def wait_loaded(self, site_id: str, timeout: float = 60.0) -> bool:
        """Wait for a background load of ``site_id`` (tests, warm-up scripts)."""
        thread = self.loading.get(site_id)
        if thread is not None:
            thread.join(timeout)
        return site_id in self.indexes

    def shares(self, client, site, now: float) -> tuple[int, dict[str, float], list[str]]:
        """(version, aid -> weighted recent shares, aids most shared first)."""
        cached = self.popularity.get(site.id)
        if cached and cached[0] > now:
            return cached[1], cached[2], cached[3]
        today = datetime.fromtimestamp(now, site.tz).date()
        try:
            totals = self._read_popularity(client, site, today)
        except UNAVAILABLE as exc:
            # A master holding some of the site's shards is down (a cluster): recommendations
            # still come from the index and the catalogue; popularity is the last known one.
            log.warning("share popularity of %s unavailable (%s): %s", site.id,
                        type(exc).__name__, "kept the last one" if cached else "none for now")
            if cached:
                self.popularity[site.id] = (now + self.pop_ttl, *cached[1:])
                return cached[1], cached[2], cached[3]
            self.popularity[site.id] = (now + self.pop_ttl, 0, {}, [])
            return 0, {}, []
        ranked = list(totals)
        version = (cached[1] + 1) if cached else 1
        if cached and cached[2] == totals:
            version = cached[1]
        self.popularity[site.id] = (now + self.pop_ttl, version, totals, ranked)
        return version, totals, ranked

    def _read_popularity(self, client, site, today) -> dict[str, float]:
        """aid -> weighted shares of the last days, the POP_TOP best, best first."""
        days = [(today - timedelta(days=back)).strftime("%Y%m%d") for back in range(self.pop_days)]
        weights = [1.0 / (1 + back) for back in range(self.pop_days)]
        calls = [POPULAR.call(
            [keyspace.scratch(site.id, group[0]),
             *(keyspace.top_day(site.id, shard, day) for day in days for shard in group)],
            [POP_TOP, *(w for w in weights for _ in group)])
            for group in fanout.shard_groups(client)]
        scored = [(rows[i], float(rows[i + 1])) for rows in fanout.run(client, calls)
                  for i in range(0, len(rows), 2)]
        scored.sort(key=lambda item: (-item[1], item[0]))
        return dict(scored[:POP_TOP])

    # -- the answer ----------------------------------------------------------------------------
    def recommend(self, client, site, canonical_url: str, limit: int = 5, debug: bool = False,
                  now: float | None = None) -> dict:
        """The recommendations answer (contracts.md "Recommendations API") for an article."""
        now = float(int((time.time() if now is None else now) // 60) * 60)  # minute clock
        with self.lock:
            idx = self.index(client, site)
            pop_version, shares, ranked = self.shares(client, site, now)
            if idx is None:
                return self._while_loading(client, site, canonical_url, limit, debug, shares,
                                           ranked, now)
            key = (site.id, canonical_url, limit, debug)
            state = (idx.epoch, idx.version, pop_version, now)
            hit = self.cache.get(key)
            if hit is not None and hit[0] == state:
                self.cache.move_to_end(key)
                return hit[1]
            chosen, fallback, method = self._choose(idx, site, canonical_url, limit, shares,
                                                    ranked, now)
        answer = {"url": canonical_url, "method": method, "fallback": fallback,
                  "items": self._items(client, site, chosen, debug)}
        if self.cache_size:
            with self.lock:
                self.cache[key] = (state, answer)
                if len(self.cache) > self.cache_size:
                    self.cache.popitem(last=False)
        return answer

    def _choose(self, idx: SiteIndex, site, canonical_url, limit, shares, ranked, now):
        """(chosen candidates, fallback, method)."""
        aid = keyspace.article_id(canonical_url)
        slot = idx.slot_of.get(aid)
        allowed = idx.allowed(now, site.max_age_days)
        max_shares = shares[ranked[0]] if ranked else 0.0
        chosen: list[dict] = []
        method = "words"
        if slot is not None:
            allowed[slot] = False
            content = idx.candidates(slot, allowed, MAX_QUERY_TERMS, CANDIDATES)
            vecs = idx.vectors
            cosines: dict[int, float] = {}
            mean = 0.0
            if vecs is not None and not vecs.count and site.id not in self.told:
                self.told.add(site.id)     # once per worker and site
                log.info("no sentence vectors for site %s yet: recommendations by words until "
                         "`flask --app wsgi recommend embed` has run", site.id)
            if vecs is not None and vecs.has_row(slot) and \
                    vecs.coverage(allowed) >= self.min_coverage:
                method = "semantic"
                cosines, mean = vecs.similar(slot, allowed, CANDIDATES)
                # word candidates the vector search did not bring: their exact cosine
                extra = [c for c in content if c not in cosines and vecs.has[c]]
                cosines.update(zip(extra, vecs.cosines(slot, extra).tolist(), strict=True))
            pool = self._score(idx, site, slot, content, cosines, mean, method, shares,
                               max_shares, now, limit)
            chosen = scoring.mmr(pool, limit)
        if len(chosen) < limit:
            chosen += self._fill(idx, allowed, limit - len(chosen), chosen, shares, ranked,
                                 max_shares, now, site.weights)
        return chosen, slot is None, method

    def _score(self, idx, site, slot, content, cosines, mean, method, shares, max_shares,
               now, limit) -> list[dict]:
        """The best candidates, scored, as dicts for the diversity pass."""
        weights = site.weights
        my_tags, my_section = set(idx.doc_tags[slot]), idx.doc_section[slot]
        doc_tags, doc_section, dates, aids = idx.doc_tags, idx.doc_section, idx.dates, idx.aids
        semantic = method == "semantic"
        rows = []  # tuples first (cheap); dicts only for the pool kept for diversity
        for cand in (content.keys() | cosines.keys()) if semantic else content:
            sim = content.get(cand, 0.0)
            tags = scoring.jaccard(my_tags, set(doc_tags[cand])) if my_tags else 0.0
            section = 1.0 if my_section and my_section == doc_section[cand] else 0.0
            cosine = cosines.get(cand)
            sem = scoring.semantic(cosine, mean) if cosine is not None else 0.0
            rel = scoring.relevance(weights, sim, tags, section, sem if semantic else None)
            if rel < scoring.MIN_RELEVANCE:
                continue
            rec = scoring.recency(float(dates[cand]), now, self.half_life)
            cand_aid = aids[cand]
            count = shares.get(cand_aid, 0.0)
            pop = scoring.popularity(count, max_shares)
            rows.append((-scoring.blend(weights, rel, rec, pop), cand_aid, cand, sim, tags,
                         section, cosine, sem, rel, rec, pop, count))
        rows.sort()
        pool = []
        for score, cand_aid, cand, sim, tags, section, cosine, sem, rel, rec, pop, count in \
                rows[: max(4 * limit, 20)]:
            components = {"content": sim, "tags": tags, "section": section}
            if semantic:
                components["cosine"] = cosine if cosine is not None else 0.0
                components["semantic"] = sem
            components.update(relevance=rel, recency=rec, popularity=pop, shares=count)
            pool.append({
                "aid": cand_aid, "slot": cand, "source": "related", "score": -score,
                "components": components,
                "terms": frozenset(idx.doc_terms[cand]),
                "title_terms": frozenset(idx.doc_title[cand]),
            })
        return pool

    def _fill(self, idx, allowed, count, chosen, shares, ranked, max_shares, now,
              weights) -> list[dict]:
        """Most shared recently, then newest: allowed articles not yet chosen, one per story."""
        taken = {c["aid"] for c in chosen}
        picked = list(chosen)
        out = []

        def consider(slot: int, source: str) -> None:
            aid = idx.aids[slot]
            if aid in taken:
                return
            terms, title = frozenset(idx.doc_terms[slot]), frozenset(idx.doc_title[slot])
            if any(scoring.same_story(title, p["title_terms"], terms, p["terms"])
                   for p in picked if "terms" in p):
                return
            rec = scoring.recency(float(idx.dates[slot]), now, self.half_life)
            pop = scoring.popularity(shares.get(aid, 0.0), max_shares)
            item = {"aid": aid, "slot": slot, "source": source, "terms": terms,
                    "title_terms": title,
                    "score": scoring.blend(weights, 1.0, rec, pop) * 0.01,
                    "components": {"recency": rec, "popularity": pop,
                                   "shares": shares.get(aid, 0.0)}}
            taken.add(aid)
            picked.append(item)
            out.append(item)

        for aid in ranked:
            if len(out) >= count:
                return out
            slot = idx.slot_of.get(aid)
            if slot is not None and allowed[slot]:
                consider(slot, "popular")
        for slot in idx.newest(allowed, count * 4 + len(taken)):
            if len(out) >= count:
                break
            consider(slot, "newest")
        return out

    def _while_loading(self, client, site, canonical_url, limit, debug, shares, ranked,
                       now) -> dict:
        """Degraded answer while the index loads: the most shared articles, checked against
        the site's rules from their records (age, excluded sections, not the article itself)."""
        excluded = {text.section_key(s) for s in site.excluded_sections}
        cutoff = now - site.max_age_days * 86400.0 if site.max_age_days > 0 else None
        me = keyspace.article_id(canonical_url)
        candidates = [aid for aid in ranked[: limit * 4] if aid != me]
        records = store.get_articles(client, site.id, candidates)
        max_shares = shares[ranked[0]] if ranked else 0.0
        chosen = []
        for aid in candidates:
            record = records.get(aid)
            if record is None or text.section_key(record.get("section", "")) in excluded:
                continue
            date = _int_or_none(record.get("published")) or _int_or_none(
                record.get("modified")) or 0
            if cutoff is not None and 0 < date < cutoff:
                continue
            pop = scoring.popularity(shares.get(aid, 0.0), max_shares)
            rec = scoring.recency(float(date), now, self.half_life)
            chosen.append({"aid": aid, "source": "popular (index loading)",
                           "score": scoring.blend(site.weights, 1.0, rec, pop) * 0.01,
                           "components": {"recency": rec, "popularity": pop,
                                          "shares": shares.get(aid, 0.0)}})
            if len(chosen) == limit:
                break
        return {"url": canonical_url, "method": "words", "fallback": True,
                "items": self._items(client, site, chosen, debug, records)}

    def _items(self, client, site, chosen: list[dict], debug: bool,
               records: dict | None = None) -> list[dict]:
        if records is None:
            records = store.get_articles(client, site.id, [c["aid"] for c in chosen])
        items = []
        for cand in chosen:
            record = records.get(cand["aid"])
            if record is None:
                continue  # deleted since the index saw it
            item = {
                "url": urls.tag(record["url"], site, "more_content"),
                "canonical_url": record["url"],
                "title": record.get("title", ""),
                "description": record.get("description", ""),
                "image": record.get("image") or None,
                "image_width": _int_or_none(record.get("image_width")),
                "image_height": _int_or_none(record.get("image_height")),
                "section": record.get("section", ""),
                "published": _iso(record.get("published")),
                "score": round(cand["score"], 6),
            }
            if debug:
                components = {k: round(v, 6) for k, v in cand["components"].items()}
                components["source"] = cand["source"]
                if "diversity_penalty" in cand:
                    components["diversity_penalty"] = round(cand["diversity_penalty"], 6)
                item["components"] = components
            items.append(item)
        return items


def _freeze() -> None:
    """Move everything alive now (a freshly loaded index: millions of objects) out of the
    cyclic garbage collector's reach, so that its full collections do not walk the index on
    the request path (pauses of a second at 100k articles otherwise)."""
    gc.collect()
    gc.freeze()


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _iso(value) -> str | None:
    stamp = _int_or_none(value)
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")
