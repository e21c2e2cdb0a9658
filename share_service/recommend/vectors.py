"""Article vectors in Redis: stored once per site for every worker, and the queue of articles to
embed. No Flask here.

Storage (``storage.keyspace``):

* ``vectors(site, model)``: HASH article id -> packed vector (:func:`pack`): 8 bytes of digest of
  the embedded text, a float32 scale, then one int8 per dimension (524 bytes for 512
  dimensions; float32 would take 2,048). Quantising costs nothing measurable in precision@5
  (bench/recommend.py prints both);
* ``vector_changes`` / ``vector_seq``: a change log like the catalogue's, which each worker's
  matrix (``matrix.SlotVectors``) follows incrementally;
* the queue: the catalogue's own change log. Every write of ``catalogue.store.save_articles``
  already gets the next number of the site's change sequence; ``vector_seq``'s ``cursor`` is
  the number embedded up to, so the articles to embed are the catalogue changes after it.
  Ingestion pays nothing more for it (bench/recommend.py measures its rate).

:func:`embed_pending` (the CLI ``recommend embed``, once from cron or in a loop with
``--watch``) takes the queue in batches: reads the changed records, skips those whose embedded
text did not change (same digest), embeds the others in one call, and writes the batch with
``lua/save_vectors.lua`` (vectors, their change log and the new cursor at once). A deleted
article's vector is removed. One embedder per site at a time (``keyspace.embed_lock``).
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import time
from dataclasses import dataclass

import numpy as np

from ..storage import client as storage_client
from ..storage import keyspace, scripts
from .embedder import article_text

SAVE = scripts.load(__file__, "save_vectors")   # lua/save_vectors.lua
HEADER = 12               # digest (8 bytes) + float32 scale
LOCK_TTL = 120            # seconds an embedder holds a site without renewing (each batch
                          # renews it; a killed embedder's lock lapses after this)


def text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


def pack_many(vecs: np.ndarray, digests: list[bytes]) -> list[bytes]:
    """int8 with one float32 scale per vector: round(v / scale), scale = max |v| / 127."""
    vecs = np.asarray(vecs, dtype=np.float32)
    scales = np.abs(vecs).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    q8 = np.clip(np.rint(vecs / scales[:, None]), -127, 127).astype(np.int8)
    return [d + struct.pack("<f", float(s)) + row.tobytes()
            for d, s, row in zip(digests, scales, q8, strict=True)]


def pack(vec: np.ndarray, digest: bytes) -> bytes:
    return pack_many(np.asarray(vec, dtype=np.float32)[None, :], [digest])[0]


def unpack_many(blobs: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(q8 (n, d) int8, scales (n,) float32) of blobs of one dimension."""
    if not blobs:
        return np.zeros((0, 0), dtype=np.int8), np.zeros(0, dtype=np.float32)
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), -1)
    scales = raw[:, 8:HEADER].copy().view("<f4").reshape(-1).astype(np.float32)
    q8 = raw[:, HEADER:].view(np.int8)
    return q8, scales


def unpack(blob: bytes) -> np.ndarray:
    """The float32 vector of one packed blob."""
    q8, scales = unpack_many([blob])
    return q8[0].astype(np.float32) * scales[0]


def blob_digest(blob: bytes | None) -> bytes | None:
    return blob[:8] if blob else None


# --- the queue ---------------------------------------------------------------------------------
def _str(value):
    return value.decode() if isinstance(value, bytes) else value


def state(client, site_id: str, model: str) -> dict:
    """The queue of a site: catalogue changes not embedded yet (``pending``), stored vectors,
    catalogue size."""
    pipe = client.pipeline(transaction=False)
    pipe.hmget(keyspace.vector_seq(site_id, model), "cursor", "cat_epoch")
    pipe.hget(keyspace.catalogue_seq(site_id), "epoch")
    pipe.hlen(keyspace.vectors(site_id, model))
    pipe.hlen(keyspace.article_digests(site_id))
    (cursor, cat_epoch), epoch_now, stored, articles = pipe.execute()
    cursor = int(cursor or 0) if _str(cat_epoch) == _str(epoch_now) else 0
    pending = client.zcount(keyspace.catalogue_changes(site_id), f"({cursor}", "+inf")
    return {"pending": int(pending), "vectors": int(stored), "articles": int(articles)}


def pending_ids(client, site_id: str, model: str) -> list[str]:
    """Ids of the articles queued for embedding (catalogue changes after the cursor), oldest
    change first."""
    cursor, cat_epoch = client.hmget(keyspace.vector_seq(site_id, model), "cursor", "cat_epoch")
    epoch_now = client.hget(keyspace.catalogue_seq(site_id), "epoch")
    start = int(cursor or 0) if _str(cat_epoch) == _str(epoch_now) else 0
    return [_str(a) for a in client.zrangebyscore(keyspace.catalogue_changes(site_id),
                                                  f"({start}", "+inf")]


@dataclass
class EmbedReport:
    site: str
    queued: int = 0          # catalogue changes taken from the queue
    embedded: int = 0        # vectors computed and stored
    unchanged: int = 0       # text unchanged since its vector: nothing to compute
    removed: int = 0         # vectors of deleted articles removed
    seconds: float = 0.0
    busy: bool = False       # another embedder holds the site
    failure: str | None = None   # the model could not be loaded: nothing done

    def line(self) -> str:
        if self.busy:
            return f"{self.site}: another embedder is working on this site; nothing done"
        if self.failure:
            return f"{self.site}: model unavailable ({self.failure}); nothing embedded"
        rate = f", {self.embedded / self.seconds:,.0f} articles/s" if \
            self.embedded and self.seconds else ""
        return (f"{self.site}: {self.queued} queued, {self.embedded} embedded, "
                f"{self.unchanged} unchanged, {self.removed} removed in {self.seconds:.1f} s"
                f"{rate}")


class _Lock:
    def __init__(self, client, key: str):
        self.client, self.key, self.token = client, key, secrets.token_hex(8)

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, self.token, nx=True, ex=LOCK_TTL))

    def renew(self) -> None:
        if _str(self.client.get(self.key)) == self.token:
            self.client.expire(self.key, LOCK_TTL)

    def release(self) -> None:
        if _str(self.client.get(self.key)) == self.token:
            self.client.delete(self.key)


def _reset(client, site_id: str, model: str, cat_epoch: str) -> None:
    """The catalogue was replaced (new epoch) or never embedded: start a new vector log."""
    pipe = client.pipeline(transaction=True)
    pipe.delete(keyspace.vectors(site_id, model), keyspace.vector_changes(site_id, model),
                keyspace.vector_seq(site_id, model))
    pipe.hset(keyspace.vector_seq(site_id, model), mapping={
        "epoch": f"{int(time.time())}-{secrets.token_hex(4)}", "seq": 0, "cursor": 0,
        "cat_epoch": cat_epoch})
    pipe.execute()


def embed_pending(client, site_id: str, embedder, *, model: str, batch: int = 256,
                  everything: bool = False, progress=None) -> EmbedReport:
    """Embed the site's queued articles (all of them with ``everything``), ``batch`` at a time.
    ``progress(done, total)`` is called after each batch."""
    report = EmbedReport(site_id)
    started = time.monotonic()
    lock = _Lock(client, keyspace.embed_lock(site_id, model))
    if not lock.acquire():
        report.busy = True
        return report
    try:
        cat_epoch = _str(client.hget(keyspace.catalogue_seq(site_id), "epoch"))
        if cat_epoch is None:
            return report                       # no catalogue yet
        cursor, seen_epoch = client.hmget(keyspace.vector_seq(site_id, model), "cursor",
                                          "cat_epoch")
        if _str(seen_epoch) != cat_epoch:
            _reset(client, site_id, model, cat_epoch)
            cursor = 0
        cursor = 0 if everything else int(cursor or 0)
        changes = client.zrangebyscore(keyspace.catalogue_changes(site_id), f"({cursor}",
                                       "+inf", withscores=True)
        changes.sort(key=lambda item: item[1])
        report.queued = total = len(changes)
        if progress:
            progress(0, total)
        for start in range(0, total, batch):
            chunk = changes[start:start + batch]
            if not _embed_batch(client, site_id, model, embedder, chunk, cat_epoch, everything,
                                report):
                break
            lock.renew()
            if progress:
                progress(start + len(chunk), total)
    finally:
        lock.release()
        report.seconds = time.monotonic() - started
    return report


def _embed_batch(client, site_id, model, embedder, chunk, cat_epoch, everything,
                 report) -> bool:
    aids = [_str(aid) for aid, _ in chunk]
    pipe = client.pipeline(transaction=False)
    for aid in aids:
        pipe.hmget(keyspace.article(site_id, aid), "title", "description")
    records = pipe.execute()
    stored = storage_client.binary(client).hmget(keyspace.vectors(site_id, model), *aids)
    writes: list[tuple[str, bytes]] = []
    todo: list[tuple[str, str, bytes]] = []
    for aid, (title, description), old in zip(aids, records, stored, strict=True):
        if title is None:                     # deleted since: its vector goes too
            if old is not None:
                writes.append((aid, b""))
                report.removed += 1
            continue
        text = article_text(_str(title), _str(description or ""))
        digest = text_digest(text)
        if not everything and blob_digest(old) == digest:
            report.unchanged += 1
            continue
        todo.append((aid, text, digest))
    if todo:
        vecs = embedder.encode([text for _, text, _ in todo])
        if vecs is None:
            report.failure = embedder.failure or "model unavailable"
            return False
        blobs = pack_many(vecs, [digest for _, _, digest in todo])
        writes += [(aid, blob) for (aid, _, _), blob in zip(todo, blobs, strict=True)]
        report.embedded += len(todo)
    args: list = [f"{int(time.time())}-{secrets.token_hex(4)}", int(chunk[-1][1]), cat_epoch]
    for aid, blob in writes:
        args += [aid, blob]
    SAVE(client, keys=[keyspace.vectors(site_id, model), keyspace.vector_seq(site_id, model),
                       keyspace.vector_changes(site_id, model)], args=args)
    return True
