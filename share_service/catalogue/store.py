"""The article catalogue in Redis: validation of records and atomic writes. No Flask here.

A record is the HASH ``keys.article(site, aid)`` with the fields of :data:`FIELDS` (contracts.md
"Catalogue record"); every value is a string, empty when unknown; ``tags`` is a JSON list;
``published`` / ``modified`` are unix seconds.

Writes go through one Lua script (:data:`SAVE_SCRIPT`) per batch: a record whose digest equals
the stored one is skipped (a refresh finding the same item again re-indexes nothing); a changed
one replaces the whole HASH, and gets the next number of the site's change sequence in
``keys.catalogue_changes`` — the log the recommendation index syncs from.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time

from .. import keys, urls
from ..errors import ApiError

FIELDS = ("url", "title", "description", "image", "image_width", "image_height", "section",
          "tags", "lang", "author", "published", "modified", "source")
SOURCES = ("feed", "sitemap", "page", "push")
MAX_TITLE = 300
MAX_DESCRIPTION = 1000
MAX_SECTION = 100
MAX_TAGS = 30
MAX_TAG = 80
MAX_AUTHOR = 200
MAX_PUSH_BATCH = 500
BATCH = 500          # records per script call
_LANG_RE = re.compile(r"^[a-z]{2,3}$")

# KEYS[1] seq HASH (epoch, seq)     KEYS[2] changes ZSET aid -> seq    KEYS[3] digests HASH
# KEYS[4] urls HASH aid -> url      KEYS[5..] one article HASH per record, in ARGV order
# ARGV[1] epoch to set if the catalogue has none yet
# ARGV[2..]: per record: aid, digest, url, nfields, then nfields field/value pairs
# Returns the ids of the records actually written (changed or new).
SAVE_SCRIPT = """
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local changed = {}
local i = 2
for k = 5, #KEYS do
  local aid, dig, url, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  i = i + 4
  if redis.call('HGET', KEYS[3], aid) ~= dig then
    redis.call('DEL', KEYS[k])
    redis.call('HSET', KEYS[k], unpack(ARGV, i, i + 2 * n - 1))
    redis.call('HSET', KEYS[3], aid, dig)
    redis.call('HSET', KEYS[4], aid, url)
    local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    redis.call('ZADD', KEYS[2], seq, aid)
    changed[#changed + 1] = aid
  end
  i = i + 2 * n
end
return changed
"""

# KEYS[1] seq HASH  KEYS[2] changes ZSET  KEYS[3] digests HASH  KEYS[4] the article HASH
# ARGV[1] aid   ARGV[2] epoch to set if none.  Returns 1 if the article existed.
DELETE_SCRIPT = """
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[2])
local existed = redis.call('DEL', KEYS[4])
redis.call('HDEL', KEYS[3], ARGV[1])
if existed == 1 then
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('ZADD', KEYS[2], seq, ARGV[1])
end
return existed
"""


def _clip(value, limit: int) -> str:
    value = _squash(value)
    if len(value) <= limit:
        return value
    cut = value[:limit].rsplit(" ", 1)[0]
    return (cut or value[:limit]).rstrip(" ,;:.") + "…"


def _squash(value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _bad(strict: bool, field: str, message: str):
    if strict:
        raise ApiError("invalid_article", f"{field}: {message}", 400, field=field)


def _dim(value, strict: bool, field: str) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or \
            not str(value).isdigit() or not 0 < int(value) <= 20000:
        _bad(strict, field, "must be an integer between 1 and 20000")
        return ""
    return str(int(value))


def _date(value, strict: bool, field: str) -> str:
    from .parsers import parse_date

    if value in (None, ""):
        return ""
    if isinstance(value, bool):
        _bad(strict, field, "must be an ISO 8601 date or unix seconds")
        return ""
    stamp = parse_date(value)
    if stamp is None or not 0 <= stamp < 4102444800:  # before 2100
        _bad(strict, field, "must be an ISO 8601 date or unix seconds")
        return ""
    return str(stamp)


def normalize(raw: dict, site, source: str, strict: bool = False,
              max_url_length: int = 2048) -> dict[str, str]:
    """Validate and clean one raw record for ``site``. Returns the HASH fields (strings).

    ``strict`` (the push API): any bad value raises ApiError 400 ``invalid_article``.
    Lenient (ingestion): over-long text is shortened, bad optional values dropped; a missing or
    foreign URL or a missing title still raises ApiError (the item is skipped and logged)."""
    if not isinstance(raw, dict):
        raise ApiError("invalid_article", "an article must be a JSON object", 400)
    if strict:
        unknown = set(raw) - set(FIELDS) - {"canonical_url"}
        if unknown:
            raise ApiError("invalid_article", f"unknown field(s): {', '.join(sorted(unknown))}")
    url = raw.get("canonical_url") or raw.get("url")
    if not isinstance(url, str):
        raise ApiError("invalid_article", "url: required (a string)", 400, field="url")
    parts = urls.validate(url, max_url_length)
    urls.check_host(parts, site)
    canonical = urls.canonical(url.strip())

    def string(field: str, limit: int) -> str:
        value = raw.get(field)
        if value is None:
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            _bad(strict, field, "must be a string")
            return ""
        if strict and len(str(value)) > limit:
            _bad(strict, field, f"longer than {limit} characters")
        return _clip(value, limit)

    title = string("title", MAX_TITLE)
    if not title:
        raise ApiError("invalid_article", "title: required", 400, field="title")
    image = raw.get("image") or ""
    if image:
        try:
            if not isinstance(image, str):
                raise ApiError("invalid_url", "not a string")
            urls.validate(image, max_url_length)
        except ApiError:
            _bad(strict, "image", "must be an http(s) URL")
            image = ""
    tags_raw = raw.get("tags") or []
    if isinstance(tags_raw, str):
        if strict:
            _bad(strict, "tags", "must be a list of strings")
        tags_raw = tags_raw.split(",")
    if not isinstance(tags_raw, list) or (strict and (
            len(tags_raw) > MAX_TAGS or not all(isinstance(t, str) for t in tags_raw))):
        _bad(strict, "tags", f"must be a list of at most {MAX_TAGS} strings")
        tags_raw = []
    tags: list[str] = []
    for tag in tags_raw:
        tag = _clip(tag, MAX_TAG) if isinstance(tag, (str, int)) else ""
        if tag and tag.lower() not in (t.lower() for t in tags):
            tags.append(tag)
    lang = raw.get("lang") or ""
    lang = str(lang).strip().lower().replace("_", "-").split("-")[0]
    if lang and not _LANG_RE.match(lang):
        _bad(strict, "lang", "must be a language code such as 'fr'")
        lang = ""
    if source not in SOURCES:
        source = "push"
    return {
        "url": canonical,
        "title": title,
        "description": string("description", MAX_DESCRIPTION),
        "image": image.strip() if image else "",
        "image_width": _dim(raw.get("image_width"), strict, "image_width") if image else "",
        "image_height": _dim(raw.get("image_height"), strict, "image_height") if image else "",
        "section": string("section", MAX_SECTION),
        "tags": json.dumps(tags[:MAX_TAGS], ensure_ascii=False),
        "lang": lang or getattr(site, "lang", ""),
        "author": string("author", MAX_AUTHOR),
        "published": _date(raw.get("published"), strict, "published"),
        "modified": _date(raw.get("modified"), strict, "modified"),
        "source": source,
    }


def digest(record: dict[str, str]) -> str:
    """Fingerprint of a record's content (what decides "changed")."""
    blob = "\x1f".join(record.get(f, "") for f in FIELDS)
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=8).hexdigest()


def _epoch() -> str:
    return f"{int(time.time())}-{secrets.token_hex(4)}"


def save_articles(client, site_id: str, records: list[dict[str, str]]) -> list[str]:
    """Write validated records; return the ids of those that changed (or are new).
    Later duplicates of one URL in ``records`` win. Each batch of :data:`BATCH` is atomic."""
    by_aid: dict[str, dict[str, str]] = {}
    for record in records:
        by_aid[keys.article_id(record["url"])] = record
    script = client.register_script(SAVE_SCRIPT)
    base = [keys.catalogue_seq(site_id), keys.catalogue_changes(site_id),
            keys.article_digests(site_id), keys.article_urls(site_id)]
    items = list(by_aid.items())
    changed: list[str] = []
    for start in range(0, len(items), BATCH):
        chunk = items[start:start + BATCH]
        argv: list[str] = [_epoch()]
        for aid, record in chunk:
            pairs = [(f, record.get(f, "")) for f in FIELDS]
            argv += [aid, digest(record), record["url"], str(len(pairs))]
            for field, value in pairs:
                argv += [field, value]
        out = script(keys=base + [keys.article(site_id, aid) for aid, _ in chunk], args=argv)
        changed += [a.decode() if isinstance(a, bytes) else a for a in out]
    return changed


def delete_article(client, site_id: str, aid: str) -> bool:
    """Remove one article from the catalogue (the index drops it at its next sync)."""
    script = client.register_script(DELETE_SCRIPT)
    return bool(script(keys=[keys.catalogue_seq(site_id), keys.catalogue_changes(site_id),
                             keys.article_digests(site_id), keys.article(site_id, aid)],
                       args=[aid, _epoch()]))


def get_articles(client, site_id: str, aids: list[str]) -> dict[str, dict[str, str]]:
    """Records by id (one pipeline); unknown ids are left out."""
    pipe = client.pipeline(transaction=False)
    for aid in aids:
        pipe.hgetall(keys.article(site_id, aid))
    out = {}
    for aid, record in zip(aids, pipe.execute(), strict=True):
        if record:
            out[aid] = {(k.decode() if isinstance(k, bytes) else k):
                        (v.decode() if isinstance(v, bytes) else v) for k, v in record.items()}
    return out


def count(client, site_id: str) -> int:
    """Number of articles in the catalogue."""
    return int(client.hlen(keys.article_digests(site_id)))


# --- source state (conditional GETs, refresh) -----------------------------------------------------
def get_source(client, site_id: str, url: str) -> dict:
    raw = client.hget(keys.feeds(site_id), url)
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}


def set_source(client, site_id: str, url: str, state: dict) -> None:
    client.hset(keys.feeds(site_id), url, json.dumps(state, sort_keys=True))


def list_sources(client, site_id: str) -> dict[str, dict]:
    out = {}
    for url, raw in client.hgetall(keys.feeds(site_id)).items():
        url = url.decode() if isinstance(url, bytes) else url
        try:
            out[url] = json.loads(raw)
        except ValueError:
            out[url] = {}
    return dict(sorted(out.items()))
