"""The per-process recommendation index of one site, kept up to date incrementally. No Flask.

Layout (all in this worker's memory, rebuilt from Redis only at start or after a catalogue reset):

* every article version gets a *slot*; per slot: its id, date (published, else modified),
  section, tags, title terms, top terms (``text.weights``) and an ``eligible`` flag (alive and
  not in an excluded section);
* an inverted index: term id -> (slots, weights) as numpy arrays (after a full load, views into
  one array sorted by term), plus small ``array`` buffers of appends since, merged into the
  numpy arrays the first time the term is read;
* ``df`` counts live articles per term (for IDF), so answers depend only on the catalogue, not
  on the order in which articles arrived.

Incremental sync: the catalogue writes (``catalogue.store``) bump ``keyspace.catalogue_seq`` and
record ``aid -> seq`` in ``keyspace.catalogue_changes``. :meth:`SiteIndex.sync` reads the sequence
(one HMGET); when it moved, it reads only the changes after the last one it saw
(ZRANGEBYSCORE) and the changed records (pipelined HMGETs); 500 or more changes at once (a
cold start, a big import) are indexed in bulk. A changed article gets a new slot
and its old slot is marked dead; when dead slots pass a third of the total the index compacts
itself in memory (no Redis reads). A different ``epoch`` (the catalogue was emptied or replaced)
means a full reload.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
from array import array
from pathlib import Path

import numpy as np

from ..storage import fanout, keyspace
from . import text
from .matrix import SlotVectors

log = logging.getLogger("share_service.recommend")
INDEX_FIELDS = ("title", "description", "tags", "section", "published", "modified")
LOAD_CHUNK = 2000
BULK_THRESHOLD = 500   # changes at once (a full load, a big import): postings built in bulk
_EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
SNAPSHOT_FORMAT = 3


class SiteIndex:
    def __init__(self, site, vectors: SlotVectors | None = None):
        self.site = site
        self.vectors = vectors    # the article vectors, row = slot (None: words only)
        self.excluded = frozenset(text.section_key(s) for s in site.excluded_sections)
        self.epoch: str | None = None
        self.seq = 0
        self.from_disk = False
        self.bulk_synced = False
        self._reset()

    def _reset(self) -> None:
        self.slot_of: dict[str, int] = {}
        self.aids: list[str] = []
        self.doc_terms: list[array] = []       # term ids
        self.doc_weights: list[array] = []     # their weights
        self.doc_tags: list[tuple] = []        # tag term ids (tuples: a third of a frozenset's
        self.doc_title: list[tuple] = []       # memory; sets are made for candidates only)
        self.doc_section: list[int] = []
        self.capacity = 1024
        self.dates = np.zeros(self.capacity, dtype=np.float64)
        self.eligible = np.zeros(self.capacity, dtype=bool)
        self.term_id: dict[str, int] = {}
        self.terms: list[str] = []
        # postings of a term: a numpy base (slots int32, weights float32; often views into one
        # big array after a bulk build) plus appends since, merged into the base when read
        self.base: list[tuple[np.ndarray, np.ndarray]] = []
        self.pending: dict[int, tuple[array, array]] = {}
        self.df: list[int] = []
        self.section_id: dict[str, int] = {"": 0}
        self.sections: list[str] = [""]
        self.alive = 0
        self.dead = 0
        self.version = 0  # bumped at every applied change (result caches key on it)
        self._allowed_key: tuple | None = None
        self._allowed = _EMPTY[0]
        if self.vectors is not None:      # slots are renumbered: every vector is read again
            self.vectors.forget()
            self.vectors.grow(self.capacity)

    # -- building ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.alive

    def _tid(self, term: str) -> int:
        tid = self.term_id.get(term)
        if tid is None:
            tid = len(self.terms)
            self.term_id[term] = tid
            self.terms.append(term)
            self.base.append(_EMPTY)
            self.df.append(0)
        return tid

    def postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        pending = self.pending.pop(tid, None)
        if pending is not None:
            slots, weights = self.base[tid]
            self.base[tid] = (
                np.concatenate([slots, np.array(pending[0], dtype=np.int32)]),
                np.concatenate([weights, np.array(pending[1], dtype=np.float32)]),
            )
        return self.base[tid]

    def _grow(self, needed: int = 0) -> None:
        while self.capacity <= max(needed, len(self.aids)):
            self.capacity *= 2
        for name in ("dates", "eligible"):
            old = getattr(self, name)
            if len(old) == self.capacity:
                continue
            new = np.zeros(self.capacity, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
        if self.vectors is not None:
            self.vectors.grow(self.capacity)

    def _kill(self, slot: int) -> None:
        self.eligible[slot] = False
        if self.vectors is not None:
            self.vectors.drop(slot)
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

    def _add_doc(self, aid: str, record: dict) -> tuple[int, array, array]:
        """Analyse one record and give it a new slot (postings are the caller's business)."""
        try:
            tags = json.loads(record.get("tags") or "[]")
            tags = [str(t) for t in tags] if isinstance(tags, list) else []
        except ValueError:
            tags = []
        term_weights, title_words = text.analyze(record.get("title") or "",
                                                 record.get("description") or "", tags)
        slot = len(self.aids)
        if slot >= self.capacity:
            self._grow(slot)
        tid = self._tid
        items = sorted(term_weights.items())
        tids = array("i", [tid(term) for term, _ in items])
        weights = array("f", [weight for _, weight in items])
        for t in tids:
            self.df[t] += 1
        section = text.section_key(record.get("section") or "")
        sid = self.section_id.get(section)
        if sid is None:
            sid = self.section_id[section] = len(self.sections)
            self.sections.append(section)
        term_id = self.term_id
        self.aids.append(aid)
        self.doc_terms.append(tids)
        self.doc_weights.append(weights)
        self.doc_tags.append(tuple(sorted({term_id[t] for t in map(text.tag_term, tags)
                                           if t in term_id})))
        self.doc_title.append(tuple(sorted({term_id[t] for t in title_words if t in term_id})))
        self.doc_section.append(sid)
        self.dates[slot] = _int(record.get("published")) or _int(record.get("modified")) or 0
        self.eligible[slot] = section not in self.excluded
        self.slot_of[aid] = slot
        self.alive += 1
        return slot, tids, weights

    def _replace(self, aid: str, record: dict) -> tuple[int, array, array]:
        """Give ``aid`` a new slot (its old one, if any, dies); its vector follows it."""
        old = self.slot_of.get(aid)
        had = self.vectors is not None and self.vectors.has_row(old)
        if old is not None:
            self._kill(old)
        out = self._add_doc(aid, record)
        if self.vectors is not None:
            if had:
                self.vectors.copy(old, out[0])
            else:
                self.vectors.adopt(aid, out[0])
        return out

    def upsert(self, aid: str, record: dict) -> None:
        """Index (or re-index) one article from its catalogue record."""
        slot, tids, weights = self._replace(aid, record)
        for t, w in zip(tids, weights, strict=True):
            pending = self.pending.get(t)
            if pending is None:
                pending = self.pending[t] = (array("i"), array("f"))
            pending[0].append(slot)
            pending[1].append(w)
        self.version += 1

    def bulk_load(self, items) -> None:
        """Index many new articles at once (a full load): postings are built with numpy in one
        sort instead of one append per term and article."""
        first = len(self.aids)
        for aid, record in items:
            self._replace(aid, record)
        self._rebuild_postings(range(first, len(self.aids)))
        self.version += 1

    def _rebuild_postings(self, slots) -> None:
        """Add the postings of ``slots`` (new, consecutive articles) to the bases, in bulk."""
        slots = [s for s in slots if self.aids[s]]
        if not slots:
            return
        lengths = np.fromiter((len(self.doc_terms[s]) for s in slots), dtype=np.int64,
                              count=len(slots))
        tids = np.frombuffer(b"".join(self.doc_terms[s].tobytes() for s in slots),
                             dtype=np.int32)
        weights = np.frombuffer(b"".join(self.doc_weights[s].tobytes() for s in slots),
                                dtype=np.float32)
        owners = np.repeat(np.array(slots, dtype=np.int32), lengths)
        order = np.argsort(tids, kind="stable")    # by term, then slot (stable)
        tids, owners, weights = tids[order], owners[order], weights[order]
        counts = np.bincount(tids, minlength=len(self.terms))
        ends = np.cumsum(counts)
        for tid in np.flatnonzero(counts).tolist():
            start = int(ends[tid] - counts[tid])
            new = (owners[start:ends[tid]], weights[start:ends[tid]])
            old = self.postings(tid)
            self.base[tid] = new if not len(old[0]) else (
                np.concatenate([old[0], new[0]]), np.concatenate([old[1], new[1]]))

    def compact(self) -> None:
        """Drop dead slots: renumber the live articles and rebuild the postings from their
        stored terms (no text analysis, no Redis)."""
        live = sorted(self.slot_of.items(), key=lambda item: item[1])
        old = (self.doc_terms, self.doc_weights, self.doc_tags, self.doc_title,
               self.doc_section, self.dates, self.eligible)
        terms, weights, tags, titles, sections, dates, eligible = old
        self.slot_of, self.aids = {}, []
        self.doc_terms, self.doc_weights, self.doc_tags, self.doc_title = [], [], [], []
        self.doc_section = []
        self.capacity = 1024
        while self.capacity <= len(live):
            self.capacity *= 2
        self.dates = np.zeros(self.capacity, dtype=np.float64)
        self.eligible = np.zeros(self.capacity, dtype=bool)
        self.base = [_EMPTY] * len(self.terms)
        self.pending = {}
        for new, (aid, slot) in enumerate(live):
            self.slot_of[aid] = new
            self.aids.append(aid)
            self.doc_terms.append(terms[slot])
            self.doc_weights.append(weights[slot])
            self.doc_tags.append(tags[slot])
            self.doc_title.append(titles[slot])
            self.doc_section.append(sections[slot])
            self.dates[new] = dates[slot]
            self.eligible[new] = eligible[slot]
        self.dead = 0
        if self.vectors is not None:
            self.vectors.reorder([slot for _, slot in live], self.capacity)
        self._rebuild_postings(range(len(self.aids)))
        self.version += 1

    # -- snapshots: a restarted worker starts from its last full index, then syncs the rest ---
    def save_snapshot(self, path) -> None:
        """Write this index to ``path`` (atomically). Only this service reads it back."""
        for tid in list(self.pending):
            self.postings(tid)
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("site", "pending", "_allowed", "_allowed_key", "bulk_synced",
                              "from_disk", "base")}
        # postings as three flat arrays (one object each instead of two per term)
        lengths = np.fromiter((len(b[0]) for b in self.base), dtype=np.int64,
                              count=len(self.base))
        state["base_flat"] = (
            lengths,
            np.concatenate([b[0] for b in self.base]) if self.base else _EMPTY[0],
            np.concatenate([b[1] for b in self.base]) if self.base else _EMPTY[1],
        )
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if self.vectors is not None:
                state["vectors"] = self.vectors.for_snapshot(str(path))
            with Path(tmp).open("wb") as fh:
                pickle.dump((SNAPSHOT_FORMAT, self.site.id, self.excluded, state), fh,
                            protocol=pickle.HIGHEST_PROTOCOL)
            Path(tmp).replace(path)
            SlotVectors.prune_snapshots(str(path), state["vectors"].mapped
                                        if self.vectors is not None else None)
        except OSError as exc:
            log.warning("cannot write the index snapshot %s: %s", path, exc)

    @classmethod
    def from_snapshot(cls, site, path, vectors: SlotVectors | None = None) -> SiteIndex | None:
        """The index saved at ``path`` for this site (same excluded sections), or None. Its
        vectors are kept if ``vectors`` (the wanted settings) names the same model."""
        try:
            with Path(path).open("rb") as fh:
                fmt, site_id, excluded, state = pickle.load(fh)
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged snapshot is simply not used
            log.warning("index snapshot %s unreadable (%s): ignored", path, exc)
            return None
        index = cls(site, vectors)
        if fmt != SNAPSHOT_FORMAT or site_id != site.id or excluded != index.excluded:
            return None
        lengths, slots, weights = state.pop("base_flat")
        saved = state.pop("vectors", None)
        index.__dict__.update(state)
        if vectors is not None and saved is not None and saved.model == vectors.model:
            saved.exact_max, saved.coarse_dims = vectors.exact_max, vectors.coarse_dims
            saved.attach(str(path))
            index.vectors = saved
        elif vectors is not None:
            vectors.grow(index.capacity)
        index.from_disk = True
        ends = np.cumsum(lengths).tolist()
        starts = [0] + ends[:-1]
        index.base = [(slots[a:b], weights[a:b]) for a, b in zip(starts, ends, strict=True)]
        return index

    # -- syncing from Redis --------------------------------------------------------------------
    def sync(self, client) -> bool:
        """Apply the catalogue changes, then the vector changes, made since the last sync.
        Returns True if any. ``self.bulk_synced`` tells whether this sync indexed in bulk
        (worth a snapshot)."""
        self.bulk_synced = False
        pipe = client.pipeline(transaction=False)     # both sequences in one round trip
        pipe.hmget(keyspace.catalogue_seq(self.site.id), "epoch", "seq")
        if self.vectors is not None:
            self.vectors.read_seq(pipe)
        heads = pipe.execute()
        changed = self._sync_catalogue(client, *heads[0])
        # (new vectors never make a sync "bulk": while the embedder works through a big
        # catalogue they arrive batch after batch, and the snapshot is not rewritten each time;
        # `ingest --snapshot` refreshes it with the vectors)
        if self.vectors is not None and self.vectors.sync(client, self.slot_of, *heads[1]):
            changed = True
            self.version += 1
        return changed

    def _sync_catalogue(self, client, epoch, seq) -> bool:
        seq = int(seq or 0)
        if epoch != self.epoch:
            if self.epoch is not None:
                log.info("catalogue of %s was reset: reloading the index", self.site.id)
            self._reset()
            self.epoch, self.seq = epoch, 0
            if epoch is None:
                return False
        elif seq < self.seq:  # the catalogue went back in time (a restored backup): reload
            log.info("catalogue of %s is older than the index: reloading", self.site.id)
            self._reset()
            self.seq = 0
        elif seq == self.seq:
            return False
        changes = client.zrangebyscore(keyspace.catalogue_changes(self.site.id), f"({self.seq}",
                                       "+inf", withscores=True)
        if not changes:
            return False
        changes.sort(key=lambda item: item[1])
        bulk = self.bulk_synced = len(changes) >= BULK_THRESHOLD
        for start in range(0, len(changes), LOAD_CHUNK):
            chunk = changes[start:start + LOAD_CHUNK]
            replies = fanout.run(client, [
                fanout.command("HMGET", keyspace.article(self.site.id, aid), *INDEX_FIELDS)
                for aid, _ in chunk])
            found = []
            for (aid, _), values in zip(chunk, replies, strict=True):
                if values[0] is None:
                    self.remove(aid)
                elif bulk:
                    found.append((aid, dict(zip(INDEX_FIELDS, values, strict=True))))
                else:
                    self.upsert(aid, dict(zip(INDEX_FIELDS, values, strict=True)))
            if found:
                self.bulk_load(found)
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
            slots, weights = self.postings(tid)
            idx_parts.append(slots)
            weight_parts.append(weights * q)
        scores = np.bincount(np.concatenate(idx_parts), weights=np.concatenate(weight_parts),
                             minlength=n)
        hits = np.flatnonzero(scores)            # every article sharing a query term
        hits = hits[allowed[hits]]               # eligible, recent enough, not the article
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
        without any date are kept (they get no recency credit). A fresh copy: callers may
        change it; the mask itself is cached for the same index state and minute."""
        key = (self.version, len(self.aids), now, max_age_days)
        if self._allowed_key == key:
            return self._allowed.copy()
        self._allowed_key, self._allowed = key, self._allowed_mask(now, max_age_days)
        return self._allowed.copy()

    def _allowed_mask(self, now: float, max_age_days: int) -> np.ndarray:
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
