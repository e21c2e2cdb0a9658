"""The per-process recommendation index of one site, kept up to date incrementally. No Flask.

Layout (all in this worker's memory, rebuilt from Redis only at start or after a catalogue reset):

* every article version gets a *slot*; per slot: its id, date (published, else modified),
  section, tags, title terms, top terms (``text.weights``) and an ``eligible`` flag (alive and
  not in an excluded section);
* an inverted index: term id -> (slots, weights) in growable ``array`` buffers, read by numpy
  without copying;
* ``df`` counts live articles per term (for IDF), so answers depend only on the catalogue, not
  on the order in which articles arrived.

Incremental sync: the catalogue writes (``catalogue.store``) bump ``keys.catalogue_seq`` and
record ``aid -> seq`` in ``keys.catalogue_changes``. :meth:`SiteIndex.sync` reads the sequence
(one HMGET); when it moved, it reads only the changes after the last one it saw
(ZRANGEBYSCORE) and the changed records (pipelined HMGETs). A changed article gets a new slot
and its old slot is marked dead; when dead slots pass a third of the total the index compacts
itself in memory (no Redis reads). A different ``epoch`` (the catalogue was emptied or replaced)
means a full reload.
"""

from __future__ import annotations

import json
import logging
import math
from array import array

import numpy as np

from .. import keys
from . import text

log = logging.getLogger("share_service.recommend")
INDEX_FIELDS = ("title", "description", "tags", "section", "published", "modified")
LOAD_CHUNK = 1000


class SiteIndex:
    def __init__(self, site):
        self.site = site
        self.excluded = frozenset(text.section_key(s) for s in site.excluded_sections)
        self.epoch: str | None = None
        self.seq = 0
        self._reset()

    def _reset(self) -> None:
        self.slot_of: dict[str, int] = {}
        self.aids: list[str] = []
        self.doc_terms: list[array] = []       # term ids
        self.doc_weights: list[array] = []     # their weights
        self.doc_tags: list[frozenset] = []    # tag term ids
        self.doc_title: list[frozenset] = []   # title term ids
        self.doc_section: list[int] = []
        self.capacity = 1024
        self.dates = np.zeros(self.capacity, dtype=np.float64)
        self.eligible = np.zeros(self.capacity, dtype=bool)
        self.term_id: dict[str, int] = {}
        self.terms: list[str] = []
        self.postings: list[tuple[array, array]] = []
        self.df: list[int] = []
        self.section_id: dict[str, int] = {"": 0}
        self.sections: list[str] = [""]
        self.alive = 0
        self.dead = 0
        self.version = 0  # bumped at every applied change (result caches key on it)

    # -- building ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.alive

    def _tid(self, term: str) -> int:
        tid = self.term_id.get(term)
        if tid is None:
            tid = len(self.terms)
            self.term_id[term] = tid
            self.terms.append(term)
            self.postings.append((array("i"), array("f")))
            self.df.append(0)
        return tid

    def _grow(self) -> None:
        self.capacity *= 2
        for name in ("dates", "eligible"):
            old = getattr(self, name)
            new = np.zeros(self.capacity, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def _kill(self, slot: int) -> None:
        self.eligible[slot] = False
        for tid in self.doc_terms[slot]:
            self.df[tid] -= 1
        self.aids[slot] = ""
        self.alive -= 1
        self.dead += 1

    def remove(self, aid: str) -> None:
        slot = self.slot_of.pop(aid, None)
        if slot is not None:
            self._kill(slot)
            self.version += 1

    def upsert(self, aid: str, record: dict) -> None:
        """Index (or re-index) one article from its catalogue record."""
        old = self.slot_of.get(aid)
        if old is not None:
            self._kill(old)
        try:
            tags = json.loads(record.get("tags") or "[]")
            tags = [str(t) for t in tags] if isinstance(tags, list) else []
        except ValueError:
            tags = []
        term_weights, title_words = text.analyze(record.get("title") or "",
                                                 record.get("description") or "", tags)
        slot = len(self.aids)
        if slot >= self.capacity:
            self._grow()
        tids, ws = array("i"), array("f")
        for term, weight in sorted(term_weights.items()):
            tid = self._tid(term)
            tids.append(tid)
            ws.append(weight)
            slots, weights = self.postings[tid]
            slots.append(slot)
            weights.append(weight)
            self.df[tid] += 1
        section = text.section_key(record.get("section") or "")
        sid = self.section_id.get(section)
        if sid is None:
            sid = self.section_id[section] = len(self.sections)
            self.sections.append(section)
        title_terms = frozenset(self.term_id[t] for t in title_words if t in self.term_id)
        date = _int(record.get("published")) or _int(record.get("modified")) or 0
        self.aids.append(aid)
        self.doc_terms.append(tids)
        self.doc_weights.append(ws)
        self.doc_tags.append(frozenset(self.term_id[t] for t in map(text.tag_term, tags)
                                       if t in self.term_id))
        self.doc_title.append(title_terms)
        self.doc_section.append(sid)
        self.dates[slot] = date
        self.eligible[slot] = section not in self.excluded
        self.slot_of[aid] = slot
        self.alive += 1
        self.version += 1

    def compact(self) -> None:
        """Drop dead slots: rebuild the arrays from the live articles' stored terms."""
        live = [(aid, slot) for aid, slot in self.slot_of.items()]
        live.sort(key=lambda item: item[1])
        old = (self.doc_terms, self.doc_weights, self.doc_tags, self.doc_title,
               self.doc_section, self.dates.copy(), self.eligible.copy(), self.terms)
        terms, weights, tags, titles, sections, dates, eligible, names = old
        section_names = self.sections
        self._reset()
        self.terms, self.term_id = [], {}
        for aid, slot in live:
            new = len(self.aids)
            if new >= self.capacity:
                self._grow()
            tids = array("i")
            for tid, weight in zip(terms[slot], weights[slot], strict=True):
                nid = self._tid(names[tid])
                tids.append(nid)
                slots, ws = self.postings[nid]
                slots.append(new)
                ws.append(weight)
                self.df[nid] += 1
            remap = {tid: self.term_id[names[tid]] for tid in terms[slot]}
            self.aids.append(aid)
            self.doc_terms.append(tids)
            self.doc_weights.append(array("f", weights[slot]))
            self.doc_tags.append(frozenset(remap[t] for t in tags[slot] if t in remap))
            self.doc_title.append(frozenset(remap[t] for t in titles[slot] if t in remap))
            section = section_names[sections[slot]]
            sid = self.section_id.setdefault(section, len(self.sections))
            if sid == len(self.sections):
                self.sections.append(section)
            self.doc_section.append(sid)
            self.dates[new] = dates[slot]
            self.eligible[new] = eligible[slot]
            self.slot_of[aid] = new
            self.alive += 1
        self.version += 1

    # -- syncing from Redis --------------------------------------------------------------------
    def sync(self, client) -> bool:
        """Apply the catalogue changes made since the last sync. Returns True if any."""
        epoch, seq = client.hmget(keys.catalogue_seq(self.site.id), "epoch", "seq")
        seq = int(seq or 0)
        if epoch != self.epoch:
            if self.epoch is not None:
                log.info("catalogue of %s was reset: reloading the index", self.site.id)
            self._reset()
            self.epoch, self.seq = epoch, 0
            if epoch is None:
                return False
        elif seq <= self.seq:
            return False
        changes = client.zrangebyscore(keys.catalogue_changes(self.site.id), f"({self.seq}",
                                       "+inf", withscores=True)
        if not changes:
            return False
        changes.sort(key=lambda item: item[1])
        for start in range(0, len(changes), LOAD_CHUNK):
            chunk = changes[start:start + LOAD_CHUNK]
            pipe = client.pipeline(transaction=False)
            for aid, _ in chunk:
                pipe.hmget(keys.article(self.site.id, aid), *INDEX_FIELDS)
            for (aid, _), values in zip(chunk, pipe.execute(), strict=True):
                if values[0] is None:
                    self.remove(aid)
                else:
                    self.upsert(aid, dict(zip(INDEX_FIELDS, values, strict=True)))
        self.seq = int(changes[-1][1])
        if self.dead > 1000 and self.dead * 3 > len(self.aids):
            self.compact()
        return True

    # -- querying ------------------------------------------------------------------------------
    def idf(self, tid: int) -> float:
        df = self.df[tid]
        return math.log(1.0 + (self.alive - df + 0.5) / (df + 0.5))

    def candidates(self, slot: int, allowed: np.ndarray, max_terms: int, count: int):
        """Slots most similar in content to ``slot`` among ``allowed`` ones: a dict slot ->
        similarity in [0, 1] (BM25 score divided by the article's score against itself)."""
        query = []
        for tid, weight in zip(self.doc_terms[slot], self.doc_weights[slot], strict=True):
            if self.df[tid] > 1:
                query.append((weight * self.idf(tid), tid, weight))
        self_score = sum(q * w for q, _, w in query) or 1.0
        query.sort(key=lambda item: (-item[0], item[1]))
        query = query[:max_terms]
        if not query:
            return {}
        n = len(self.aids)
        idx_parts, weight_parts = [], []
        for q, tid, _ in sorted(query, key=lambda item: item[1]):
            slots, weights = self.postings[tid]
            idx_parts.append(np.frombuffer(slots, dtype=np.int32, count=len(slots)))
            weight_parts.append(np.frombuffer(weights, dtype=np.float32, count=len(weights)) * q)
        scores = np.bincount(np.concatenate(idx_parts), weights=np.concatenate(weight_parts),
                             minlength=n)
        del idx_parts
        scores[~allowed[:n]] = 0.0
        scores[slot] = 0.0
        hits = np.flatnonzero(scores > 0)
        if len(hits) > count:
            # every slot scoring at least the count-th best (ties at the boundary all kept)
            threshold = np.partition(scores[hits], len(hits) - count)[len(hits) - count]
            hits = hits[scores[hits] >= threshold]
        return {int(s): min(1.0, float(scores[s]) / self_score) for s in hits}

    def newest(self, allowed: np.ndarray, count: int) -> list[int]:
        """Up to ``count`` allowed slots, newest first (ties: article id)."""
        n = len(self.aids)
        dates = np.where(allowed[:n], self.dates[:n], -1.0)
        hits = np.flatnonzero(dates >= 0)
        if len(hits) > count:
            threshold = np.partition(dates[hits], len(hits) - count)[len(hits) - count]
            hits = hits[dates[hits] >= threshold]
        ordered = sorted(hits.tolist(), key=lambda s: (-self.dates[s], self.aids[s]))
        return ordered[:count]

    def allowed(self, now: float, max_age_days: int) -> np.ndarray:
        """Eligible slots (alive, section not excluded) within the site's maximum age. Articles
        without any date are kept (they get no recency credit)."""
        n = len(self.aids)
        mask = self.eligible[:n].copy()
        if max_age_days > 0:
            cutoff = now - max_age_days * 86400.0
            dates = self.dates[:n]
            mask &= ~((dates > 0) & (dates < cutoff))
        return mask


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
