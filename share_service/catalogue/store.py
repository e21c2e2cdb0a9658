"""The article catalogue in Redis: atomic writes and reads of records. No Flask here.

A record (validated by ``records.normalize``) is stored as the HASH ``keyspace.article(site,
aid)`` with the fields of ``records.FIELDS``. A site's whole catalogue (records, digests, change
log, sources) is under the site's tag ``{site}``: one Redis Cluster slot, so a batch is written
atomically with its change log (docs/storage.md: why it is not sharded like the counters).

Writes go through one Lua script call (``lua/save.lua``) per batch: a record whose digest equals
the stored one is skipped (a refresh finding the same item again re-indexes nothing); a changed
one replaces the whole HASH, and gets the next number of the site's change sequence in
``keyspace.catalogue_changes`` — the log the recommendation index syncs from.
"""

from __future__ import annotations

import json
import secrets
import time

from ..storage import fanout, keyspace, scripts
from .records import FIELDS, digest

BATCH = 500          # records per script call
SAVE = scripts.load(__file__, "save")      # lua/save.lua
DELETE = scripts.load(__file__, "delete")  # lua/delete.lua


def _epoch() -> str:
    return f"{int(time.time())}-{secrets.token_hex(4)}"


def save_articles(client, site_id: str, records: list[dict[str, str]]) -> list[str]:
    """Write validated records; return the ids of those that changed (or are new).
    Later duplicates of one URL in ``records`` win. Each batch of :data:`BATCH` is atomic."""
    by_aid: dict[str, dict[str, str]] = {}
    for record in records:
        by_aid[keyspace.article_id(record["url"])] = record
    base = [keyspace.catalogue_seq(site_id), keyspace.catalogue_changes(site_id),
            keyspace.article_digests(site_id)]
    items = list(by_aid.items())
    changed: list[str] = []
    for start in range(0, len(items), BATCH):
        chunk = items[start:start + BATCH]
        argv: list[str] = [_epoch()]
        for aid, record in chunk:
            pairs = [(f, record.get(f, "")) for f in FIELDS]
            argv += [aid, digest(record), str(len(pairs))]
            for field, value in pairs:
                argv += [field, value]
        out = SAVE(client, keys=base + [keyspace.article(site_id, aid) for aid, _ in chunk],
                   args=argv)
        changed += [a.decode() if isinstance(a, bytes) else a for a in out]
    return changed


def delete_article(client, site_id: str, aid: str) -> bool:
    """Remove one article from the catalogue (the index drops it at its next sync)."""
    return bool(DELETE(client, keys=[keyspace.catalogue_seq(site_id),
                                     keyspace.catalogue_changes(site_id),
                                     keyspace.article_digests(site_id),
                                     keyspace.article(site_id, aid)],
                       args=[aid, _epoch()]))


def get_articles(client, site_id: str, aids: list[str]) -> dict[str, dict[str, str]]:
    """Records by id (one round trip); unknown ids are left out."""
    out = {}
    replies = fanout.run(client, [fanout.command("HGETALL", keyspace.article(site_id, aid))
                                  for aid in aids])
    for aid, record in zip(aids, replies, strict=True):
        if record:
            out[aid] = {(k.decode() if isinstance(k, bytes) else k):
                        (v.decode() if isinstance(v, bytes) else v) for k, v in record.items()}
    return out


def count(client, site_id: str) -> int:
    """Number of articles in the catalogue."""
    return int(client.hlen(keyspace.article_digests(site_id)))


# --- source state (conditional GETs, refresh) -----------------------------------------------------
def get_source(client, site_id: str, url: str) -> dict:
    raw = client.hget(keyspace.feeds(site_id), url)
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}


def set_source(client, site_id: str, url: str, state: dict) -> None:
    client.hset(keyspace.feeds(site_id), url, json.dumps(state, sort_keys=True))


def list_sources(client, site_id: str) -> dict[str, dict]:
    out = {}
    for url, raw in client.hgetall(keyspace.feeds(site_id)).items():
        url = url.decode() if isinstance(url, bytes) else url
        try:
            out[url] = json.loads(raw)
        except ValueError:
            out[url] = {}
    return dict(sorted(out.items()))
