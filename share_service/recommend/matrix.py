"""This worker's copy of a site's article vectors, row i = slot i of the site's ``SiteIndex``,
and the neighbour search over them. No Flask here.

Kept in sync from the vector change log (``vectors``; one HMGET when nothing changed, only the
changed vectors otherwise) and saved with the index snapshot. Layout, for n articles:

* ``q8`` (n x 512 int8) and ``scale`` (n float32, 1 / the row's norm): the vectors as stored in
  Redis, so that a cosine is ``q8[a] . q8[b] * scale[a] * scale[b]``;
* ``dense`` (n x k float32, contiguous): what one matrix product scans. Up to
  ``RECOMMEND_SEMANTIC_EXACT_MAX`` articles it holds the vectors themselves (k = 512) and the
  product gives exact cosines. Past it (a matrix-vector product over 100,000 x 512 floats reads
  205 MB: about 20 ms on one core here), it holds their projection on the
  ``RECOMMEND_SEMANTIC_COARSE_DIMS`` main axes of the site's vectors (uncentred PCA, fitted on
  up to 20,000 of them, refitted when the catalogue doubles): the product over n x k picks the
  ``RERANK`` best candidates, whose exact cosines are then computed from ``q8``
  (bench/recommend.py measures the recall of this two-step search against the exact one).

Rows are moved with the index: a re-indexed article keeps its vector (its text may not have
changed: the embedder skips it then, and re-embeds it otherwise), a compaction reorders them,
a vector that arrives before its article is kept aside until the index sees the article.
"""

from __future__ import annotations

import copy
import logging
import os
import secrets
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..storage import client as storage_client
from ..storage import keyspace
from . import vectors

log = logging.getLogger("share_service.recommend")
LOAD_CHUNK = 2000
RERANK = 400              # coarse candidates whose exact cosine is computed (projected mode)
FIT_SAMPLE = 20000
MAX_ORPHANS = 10000


_LIMITED = False


def single_threaded_blas() -> None:
    """Run this process's matrix products on one BLAS thread (once per process). A request's
    product spread over the threads of a shared 2-core machine took 4x longer in wall time than
    on one (24 ms against 6 ms for 10,000 x 512, measured under load): workers serve requests
    side by side instead. The embedder raises it for its batches (RECOMMEND_EMBED_THREADS)."""
    global _LIMITED
    if _LIMITED:
        return
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
    except Exception as exc:  # noqa: BLE001 - only slower without it
        log.warning("cannot limit BLAS threads (%s)", exc)
    _LIMITED = True


class SlotVectors:
    def __init__(self, site_id: str, model: str, exact_max: int = 20000,
                 coarse_dims: int = 128):
        self.site_id, self.model = site_id, model
        self.exact_max, self.coarse_dims = int(exact_max), int(coarse_dims)
        self.capacity = 1024
        self.dim = 0
        self.hint = 0          # articles in the index (sizes the first allocation)
        self.forget()

    # -- state ---------------------------------------------------------------------------------
    def forget(self) -> None:
        """Drop every row (the index was rebuilt: slots changed); the next sync reloads all."""
        self.epoch: str | None = None
        self.seq = 0
        self.count = 0
        self.proj: np.ndarray | None = None
        self.fitted_rows = 0
        self.orphans: OrderedDict[str, bytes] = OrderedDict()
        self.has = np.zeros(self.capacity, dtype=bool)
        self.rows = 0          # rows allocated in q8, scale, dense (slots with a vector < rows)
        self.q8 = self.scale = self.dense = None

    def _ensure(self, max_slot: int) -> None:
        """Room for a vector at ``max_slot``: rows grow by a quarter (not by doubling like the
        index's small arrays: at 100,000 articles a row is 1 KB)."""
        if max_slot < self.rows:
            return
        rows = min(self.capacity, max(max_slot + 1, int(self.rows * 1.25) + 64))
        old = (self.q8, self.scale, self.dense)
        self.q8 = np.zeros((rows, self.dim), dtype=np.int8)
        self.scale = np.zeros(rows, dtype=np.float32)
        self.dense = np.zeros((rows, self.width), dtype=np.float32)
        if self.rows:
            for new, prev in zip((self.q8, self.scale, self.dense), old, strict=True):
                new[: self.rows] = prev
        self.rows = rows

    @property
    def width(self) -> int:
        return self.dim if self.proj is None else self.proj.shape[1]

    @property
    def mode(self) -> str:
        return "exact" if self.proj is None else f"projected {self.width}"

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.has, self.q8, self.scale, self.dense)
                   if a is not None)

    def grow(self, capacity: int) -> None:
        """The index grew to ``capacity`` slots."""
        if capacity <= self.capacity:
            return
        old = self.has
        self.capacity = capacity
        self.has = np.zeros(capacity, dtype=bool)
        self.has[: len(old)] = old

    def has_row(self, slot: int | None) -> bool:
        return slot is not None and slot < self.capacity and bool(self.has[slot])

    def copy(self, old: int, new: int) -> None:
        """An article moved from slot ``old`` to ``new``: its vector goes with it."""
        self._ensure(new)
        self.q8[new], self.scale[new], self.dense[new] = self.q8[old], self.scale[old], \
            self.dense[old]
        if not self.has[new]:
            self.has[new] = True
            self.count += 1

    def drop(self, slot: int) -> None:
        if slot < self.capacity and self.has[slot]:
            self.has[slot] = False
            self.count -= 1

    def adopt(self, aid: str, slot: int) -> None:
        """The index added ``aid`` at ``slot``: take its vector if it arrived first."""
        blob = self.orphans.pop(aid, None) if self.orphans else None
        if blob is not None:
            self._set_rows(np.array([slot]), [blob])

    def reorder(self, old_slots: list[int], capacity: int) -> None:
        """The index compacted itself: new slot i is old slot ``old_slots[i]``."""
        idx = np.array(old_slots, dtype=np.int64)
        has = np.zeros(capacity, dtype=bool)
        has[: len(idx)] = self.has[idx] if len(idx) else False
        if self.rows:
            moved = np.flatnonzero(has[: len(idx)])
            rows = min(capacity, int(len(idx) * 1.125) + 64)
            q8 = np.zeros((rows, self.dim), dtype=np.int8)
            scale = np.zeros(rows, dtype=np.float32)
            dense = np.zeros((rows, self.width), dtype=np.float32)
            q8[moved], scale[moved], dense[moved] = \
                self.q8[idx[moved]], self.scale[idx[moved]], self.dense[idx[moved]]
            self.q8, self.scale, self.dense, self.rows = q8, scale, dense, rows
        self.has, self.capacity = has, capacity
        self.count = int(has.sum())

    # -- snapshots: the big arrays go to .npy files, memory-mapped back copy-on-write ---------
    def for_snapshot(self, path: str) -> SlotVectors:
        """Write ``q8`` and ``dense`` beside the index snapshot at ``path`` and return a copy of
        this object without them, to pickle. Workers restarted from the snapshot map the files
        copy-on-write: their pages stay shared between the workers of a machine (and with the
        page cache) until a worker writes a row."""
        clone = copy.copy(self)
        clone.q8 = clone.dense = None
        clone.mapped = None
        if self.rows:
            token = secrets.token_hex(4)
            for name in ("q8", "dense"):
                final = Path(f"{path}.{token}.{name}.npy")
                tmp = final.with_suffix(".tmp")
                with tmp.open("wb") as fh:
                    np.save(fh, np.ascontiguousarray(getattr(self, name)))
                    fh.flush()
                    os.fsync(fh.fileno())   # on disk, and its cached pages clean: shareable
                tmp.replace(final)
            clone.mapped = token
        return clone

    @staticmethod
    def prune_snapshots(path: str, keep: str | None) -> None:
        """Remove the array files of older snapshots at ``path`` (mapped files live on until
        their workers unmap them)."""
        for old in Path(path).parent.glob(f"{Path(path).name}.*.npy"):
            if keep is None or f".{keep}." not in old.name:
                old.unlink(missing_ok=True)

    def attach(self, path: str) -> None:
        """Map the arrays saved by :meth:`for_snapshot` (missing: forget, reload from Redis)."""
        token = getattr(self, "mapped", None)
        self.mapped = None
        if not token:
            return
        try:
            self.q8 = np.load(f"{path}.{token}.q8.npy", mmap_mode="c")
            self.dense = np.load(f"{path}.{token}.dense.npy", mmap_mode="c")
        except (OSError, ValueError) as exc:
            log.warning("vectors of the snapshot %s unreadable (%s): reloading them", path, exc)
            self.forget()

    # -- syncing from Redis --------------------------------------------------------------------
    def read_seq(self, pipe) -> None:
        """Queue the read of the vector log's head (epoch, seq) for :meth:`sync`."""
        pipe.hmget(keyspace.vector_seq(self.site_id, self.model), "epoch", "seq")

    def sync(self, client, slot_of: dict[str, int], epoch=None, seq=None) -> bool:
        """Apply the vector changes made since the last sync (the log's head ``epoch``,
        ``seq`` as :meth:`read_seq` read it). True if any."""
        self.hint = len(slot_of)
        seq = int(seq or 0)
        if epoch != self.epoch or seq < self.seq:
            if self.epoch is not None:
                log.info("vectors of %s were replaced: reloading them", self.site_id)
            self.forget()
            self.epoch = epoch
            if epoch is None:
                return False
        elif seq == self.seq:
            return False
        changes = client.zrangebyscore(keyspace.vector_changes(self.site_id, self.model),
                                       f"({self.seq}", "+inf", withscores=True)
        if not changes:
            return False
        changes.sort(key=lambda item: item[1])
        if self.dim and len(changes) >= LOAD_CHUNK and slot_of:   # a full load: size it once
            top = max(slot_of.values())
            self._ensure(min(self.capacity - 1, int(top * 1.125) + 64))
        binary = storage_client.binary(client)
        key = keyspace.vectors(self.site_id, self.model)
        for start in range(0, len(changes), LOAD_CHUNK):
            aids = [aid for aid, _ in changes[start:start + LOAD_CHUNK]]
            slots, blobs = [], []
            for aid, blob in zip(aids, binary.hmget(key, *aids), strict=True):
                slot = slot_of.get(aid)
                if blob is None:
                    self.orphans.pop(aid, None)
                    if slot is not None:
                        self.drop(slot)
                elif slot is None:
                    self.orphans[aid] = blob
                    self.orphans.move_to_end(aid)
                    while len(self.orphans) > MAX_ORPHANS:
                        self.orphans.popitem(last=False)
                else:
                    slots.append(slot)
                    blobs.append(blob)
            if slots:
                self._set_rows(np.array(slots, dtype=np.int64), blobs)
        self.seq = int(changes[-1][1])
        self._choose_mode()
        return True

    def _set_rows(self, slots: np.ndarray, blobs: list[bytes]) -> None:
        q8, _ = vectors.unpack_many(blobs)
        if not self.dim:
            self.dim = q8.shape[1]
        elif q8.shape[1] != self.dim:
            log.warning("vectors of %s: %d dimensions, expected %d: ignored", self.site_id,
                        q8.shape[1], self.dim)
            return
        rows = q8.astype(np.float32)
        norms = np.linalg.norm(rows, axis=1)
        inv = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
        rows *= inv[:, None]
        top = int(slots.max())
        if top >= self.rows:   # the first rows: room for the index's slots, and some to grow
            self._ensure(top if self.rows else min(self.capacity - 1,
                                                   int(max(top, self.hint) * 1.125) + 64))
        self.count += int((~self.has[slots]).sum())
        self.q8[slots], self.scale[slots], self.has[slots] = q8, inv, True
        self.dense[slots] = rows if self.proj is None else rows @ self.proj

    def _unit(self, slots: np.ndarray) -> np.ndarray:
        return self.q8[slots].astype(np.float32) * self.scale[slots][:, None]

    def _choose_mode(self) -> None:
        if self.count > (self.exact_max if self.proj is None else 2 * self.fitted_rows):
            self._fit()
        elif self.proj is not None and self.count < self.exact_max // 2:
            self.proj, self.fitted_rows = None, 0
            self._rebuild_dense()

    def _fit(self) -> None:
        """Uncentred PCA of (a deterministic sample of) the rows: the k axes that keep most of
        every dot product."""
        rows = np.flatnonzero(self.has)
        sample = rows[:: max(1, len(rows) // FIT_SAMPLE)]
        x = self._unit(sample)
        _, vecs = np.linalg.eigh((x.T @ x).astype(np.float64))
        k = min(self.coarse_dims, self.dim)
        proj = vecs[:, ::-1][:, :k].astype(np.float32)
        # a deterministic sign per axis (eigh may flip one between runs of other data)
        proj *= np.where(proj[np.abs(proj).argmax(axis=0), np.arange(k)] < 0, -1.0, 1.0)
        self.proj, self.fitted_rows = np.ascontiguousarray(proj), len(rows)
        self._rebuild_dense()

    def _rebuild_dense(self) -> None:
        self.dense = np.zeros((self.rows, self.width), dtype=np.float32)
        rows = np.flatnonzero(self.has)
        for start in range(0, len(rows), 8192):
            part = rows[start:start + 8192]
            unit = self._unit(part)
            self.dense[part] = unit if self.proj is None else unit @ self.proj

    # -- querying ------------------------------------------------------------------------------
    def coverage(self, mask: np.ndarray) -> float:
        """Share of the ``mask`` slots that have a vector."""
        total = int(mask.sum())
        return float((mask & self.has[: len(mask)]).sum()) / total if total else 0.0

    def similar(self, slot: int, mask: np.ndarray, count: int) -> tuple[dict[int, float], float]:
        """The ``count`` slots among ``mask`` (with a vector) of highest cosine with ``slot``,
        as {slot: cosine}, and the mean cosine over every such slot (the query's baseline)."""
        n = min(len(mask), self.rows)      # no vector beyond self.rows
        valid = mask[:n] & self.has[:n]
        total = int(np.count_nonzero(valid))
        if not total or not self.has_row(slot):
            return {}, 0.0
        scores = self.dense[:n] @ self.dense[slot]     # the one matrix product
        mean = float(scores @ valid.astype(np.float32)) / total
        np.negative(scores, out=scores)
        scores[~valid] = np.inf                        # (negated: smallest first)
        keep = min(total, count if self.proj is None else max(count, RERANK))
        cand = np.argpartition(scores, keep - 1)[:keep] if keep < n else np.flatnonzero(valid)
        cand = cand[np.isfinite(scores[cand])]
        found = -scores[cand]
        if self.proj is not None:
            found = self.cosines(slot, cand)
            if count < len(cand):
                part = np.argpartition(-found, count - 1)[:count]
                cand, found = cand[part], found[part]
        return dict(zip(cand.tolist(), found.tolist(), strict=True)), mean

    def cosines(self, slot: int, slots: np.ndarray) -> np.ndarray:
        """Exact cosines (from the int8 vectors) of ``slot`` with each of ``slots``."""
        slots = np.asarray(slots, dtype=np.int64)
        if not len(slots):
            return np.zeros(0, dtype=np.float32)
        dots = self.q8[slots].astype(np.float32) @ self.q8[slot].astype(np.float32)
        return dots * self.scale[slots] * self.scale[slot]
