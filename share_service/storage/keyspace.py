"""Every Redis key this service uses, and nothing else spells one.

One function per key family. Days and hours are the *site's local* calendar: ``YYYYMMDD`` and
``YYYYMMDDHH``.

**Layout on Redis Cluster** (the same on one Redis, so moving to a cluster is copying keys):

* Counting spreads each site over :data:`SHARDS` shards. An article belongs to one shard, by its
  id (:func:`shard_of`); its own keys (totals, day counters, unique sharers, dedupe marks) and its
  shard's share of the site's aggregates (day / hour / all-time counters, top sets, unique
  sharers, the id -> URL map) carry the shard's hash tag (:func:`shard_tag`). So one write-behind
  script call (one site, one shard) touches one cluster slot, and a big site's writes and memory
  spread over every master. Site-wide reads fan out to the shards and merge (storage.fanout).
* The shard tags of a site are chosen so that their slots are evenly spaced over the 16384 slots
  (one every 16384 / SHARDS, at a phase of the site's own): a cluster whose masters own equal
  slot ranges (what ``redis-cli --cluster create`` makes) gives each of M masters
  floor(SHARDS / M) or ceil(SHARDS / M) shards of every site, by construction.
* The catalogue of a site (records, change log, sources) stays in one slot, under the site's
  tag ``{site}``: its batches are atomic with their change log, it is written rarely and read
  lightly (docs/storage.md says why).
* Global keys (users, sessions, API keys, login limits, daily salts) carry no tag: each is one
  key on whichever master owns it; no call ever needs two of them in one slot.
"""

from __future__ import annotations

import hashlib
from functools import cache, lru_cache

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

PREFIX = "ss"

# Shards per site. 16: a site can use up to 16 masters; on M masters with equal slot ranges
# each gets floor(16 / M) or ceil(16 / M) of them (3 masters: 5 or 6 shards, 31-38 %); a
# site-wide read costs 16 script calls (in parallel per master on a cluster, folded into one
# call on one Redis). Changing it re-partitions every counter: it is fixed (docs/storage.md).
SHARDS = 16
# How far (in slots) a shard's tag may land from its target slot: small against the spacing
# (1024 slots), so that the floor/ceil property above holds for 2 to 16 masters.
_SLOT_TOLERANCE = 32


def configure(prefix: str) -> None:
    """Set the key prefix (REDIS_KEY_PREFIX) once at start-up."""
    global PREFIX
    if prefix != PREFIX:
        PREFIX = prefix
        _article.cache_clear()


def article_id(canonical_url: str) -> str:
    """Short stable id of an article: 64 bits of BLAKE2b of its canonical URL (16 hex chars)."""
    return hashlib.blake2b(canonical_url.encode("utf-8"), digest_size=8).hexdigest()


def shard_of(aid: str) -> int:
    """The shard of an article: its id (uniform hex) modulo SHARDS."""
    return int(aid[:8], 16) % SHARDS


@cache
def shard_tag(site: str, shard: int) -> str:
    """The hash tag (without braces) of one shard of a site: ``<site>.<shard>.<n>``, where n is
    the first number that puts the tag within _SLOT_TOLERANCE slots of the shard's target
    slot, ``phase + shard * 16384 / SHARDS`` (phase: from the site id, so sites interleave).
    Site ids never contain a dot, so a shard tag is never a site's catalogue tag. Deterministic:
    every process, and the migration, computes the same tags (about 5 ms per site, once)."""
    if not 0 <= shard < SHARDS:
        raise ValueError(f"shard {shard} out of range")
    spacing = REDIS_CLUSTER_HASH_SLOTS // SHARDS
    span = spacing - 2 * _SLOT_TOLERANCE
    target = _SLOT_TOLERANCE + key_slot(site.encode("utf-8")) % span + shard * spacing
    n = 0
    while True:
        tag = f"{site}.{shard}.{n}"
        if abs(key_slot(tag.encode("utf-8")) - target) <= _SLOT_TOLERANCE:
            return tag
        n += 1


def shard_slot(site: str, shard: int) -> int:
    """The cluster slot of a shard (what ``CLUSTER KEYSLOT`` answers for its keys)."""
    return key_slot(shard_tag(site, shard).encode("utf-8"))


def _shard(site: str, shard: int) -> str:
    return f"{PREFIX}:{{{shard_tag(site, shard)}}}"


@lru_cache(maxsize=8192)  # the hot path names 4 to 6 keys per article and event
def _article(site: str, aid: str) -> str:
    return _shard(site, shard_of(aid))


def _site(site: str) -> str:
    return f"{PREFIX}:{{{site}}}"


def hash_tag(key: str) -> str:
    """The ``{hash tag}`` of a key named here (the part Redis Cluster hashes to a slot)."""
    start = key.index("{")
    return key[start:key.index("}", start) + 1]


# --- counting: one article's keys (in its shard) ------------------------------------------
def article_totals(site: str, aid: str) -> str:
    """HASH counter field -> all-time count for one article. Never expires."""
    return f"{_article(site, aid)}:t:{aid}"


def article_day(site: str, aid: str, day: str) -> str:
    """HASH counter field -> count for one article on one local day. Expires (COUNTING_RETENTION_DAYS)."""
    return f"{_article(site, aid)}:ad:{aid}:{day}"


def uniques_article_day(site: str, aid: str, day: str) -> str:
    """HyperLogLog of visitor hashes that shared one article that day. Expires."""
    return f"{_article(site, aid)}:uva:{aid}:{day}"


def dedupe(site: str, aid: str, digest: str) -> str:
    """STRING set NX with the dedupe window as TTL: visitor x article x event x network seen
    (``digest`` covers all of them; the key lives in the article's shard)."""
    return f"{_article(site, aid)}:dd:{digest}"


def dedupe_pattern(site: str) -> str:
    """SCAN pattern of the dedupe marks of every shard of a site (benchmarks, tests)."""
    return f"{PREFIX}:{{{site}.*}}:dd:*"


# --- counting: a shard's part of the site's aggregates ------------------------------------
# Each event counts in exactly one shard (its article's): site figures are the sums (counters,
# top scores) or the HyperLogLog union (unique sharers) of the shards' parts.
def article_urls(site: str, shard: int) -> str:
    """HASH article id -> canonical URL, for every article of the shard ever counted."""
    return f"{_shard(site, shard)}:urls"


def site_totals(site: str, shard: int) -> str:
    """HASH counter field -> all-time count of the shard's articles. Never expires."""
    return f"{_shard(site, shard)}:st"


def site_day(site: str, shard: int, day: str) -> str:
    """HASH counter field -> count of the shard's articles on one local day. Expires."""
    return f"{_shard(site, shard)}:sd:{day}"


def site_hour(site: str, shard: int, hour: str) -> str:
    """HASH counter field -> count of the shard's articles in one local hour (YYYYMMDDHH). Expires."""
    return f"{_shard(site, shard)}:sh:{hour}"


def top_day(site: str, shard: int, day: str, network: str = "") -> str:
    """ZSET article id -> shares that day (all networks, or one network), the shard's
    articles. Expires."""
    return f"{_shard(site, shard)}:top:{day}" + (f":{network}" if network else "")


def uniques_day(site: str, shard: int, day: str) -> str:
    """HyperLogLog of visitor hashes that shared an article of the shard that day. Expires."""
    return f"{_shard(site, shard)}:uv:{day}"


def scratch(site: str, shard: int) -> str:
    """Temporary key (any type) of one shard, written and deleted inside one script call
    (HyperLogLog unions, weighted unions of top sets). Never outlives the call."""
    return f"{_shard(site, shard)}:tmp"


def migrated(site: str, shard: int) -> str:
    """SET (storage migrate) the keys of the old one-slot layout already merged into this
    shard, so a migration run twice never counts twice. Expires 30 days after the last run."""
    return f"{_shard(site, shard)}:migrated"


def batch_sequence(key_in_slot: str, producer: str) -> str:
    """STRING: the sequence number of the last batch that recorder ``producer`` (one worker
    process) wrote to the slot of ``key_in_slot`` (any key of the batch: the sequence lives
    beside the keys it guards, under the same hash tag). record.lua skips a batch whose number
    is not above it, so a batch re-sent after an unanswered write or replayed from the spool
    is counted once. Expires: COUNTING_REPLAY_MAX_AGE_HOURS plus a day, renewed on each write."""
    return f"{PREFIX}:{hash_tag(key_in_slot)}:seq:{producer}"


def ratelimit_prefix() -> str:
    """Prefix of the per-client rate-limit counters when RATELIMIT_STORAGE_URI is a Redis
    (the ``limits`` library names the rest: ``<prefix>:LIMITER/<scope>/<client>/...``)."""
    return f"{PREFIX}:rl"


def daily_salt(day: str) -> str:
    """STRING random salt (64 hex) for visitor hashes of day label ``YYYYMMDD`` (the day in the
    site's time zone), created with SET NX; expires at 00:00 UTC two days after that day starts
    (counting.visitors.salt_expiry). Global: the hash input names the site."""
    return f"{PREFIX}:salt:{day}"


# --- catalogue and recommendations -----------------------------------------------------
def article(site: str, aid: str) -> str:
    """HASH catalogue record of one article (url, title, description, image, section, ...)."""
    return f"{_site(site)}:art:{aid}"


def article_digests(site: str) -> str:
    """HASH article id -> digest (16 hex) of its last stored record: an unchanged item found again
    by a refresh is skipped (not rewritten, not re-indexed). Never expires."""
    return f"{_site(site)}:artdig"


def catalogue_seq(site: str) -> str:
    """STRING counter: incremented once per article written or deleted (the change sequence the
    recommendation index syncs from). Never expires."""
    return f"{_site(site)}:artseq"


def catalogue_changes(site: str) -> str:
    """ZSET article id -> sequence number of its last change (write or delete): the change log a
    per-process index reads incrementally (ZRANGEBYSCORE last_seen +inf). One entry per article,
    so it never grows beyond the catalogue. Never expires."""
    return f"{_site(site)}:artchg"


def feeds(site: str) -> str:
    """HASH source URL (feed, sitemap or page given to ``ingest``) -> JSON state: kind, etag,
    last_modified, last_fetch, last_status, items. Drives ``ingest --refresh`` and its conditional
    GETs. Never expires."""
    return f"{_site(site)}:feeds"


def sitemap_pages(site: str) -> str:
    """HASH sitemap <loc> (as written) -> the <lastmod> (unix seconds, 0 if none) of the entry
    when its page was last read into the catalogue: plain-sitemap pages are not fetched again
    until their <lastmod> moves. Never expires (one field per page)."""
    return f"{_site(site)}:smpages"


# --- semantic vectors (recommend.vectors); ``model`` is the embedding model's id -----------------
def vectors(site: str, model: str) -> str:
    """HASH article id -> the article's sentence vector, stored once for every worker: 8 bytes
    of digest of the embedded text, a float32 scale, then int8 components
    (``recommend.vectors.pack``). Never expires; an article's entry goes with the article."""
    return f"{_site(site)}:vec:{model}"


def vector_seq(site: str, model: str) -> str:
    """HASH of the vector change log and the embedding queue: ``epoch`` and ``seq`` (the last
    vector change, what workers sync from), ``cursor`` and ``cat_epoch`` (the catalogue change
    sequence number, and catalogue epoch, embedded up to: the catalogue changes after ``cursor``
    are the queue of articles to embed). Never expires."""
    return f"{_site(site)}:vecseq:{model}"


def vector_changes(site: str, model: str) -> str:
    """ZSET article id -> sequence number of its last vector change (written or removed): the
    log a worker's matrix syncs from (ZRANGEBYSCORE last_seen +inf). One entry per article."""
    return f"{_site(site)}:vecchg:{model}"


def embed_lock(site: str, model: str) -> str:
    """STRING the id of the embedder working on a site (SET NX with a TTL, renewed per batch):
    one embedder per site and model at a time. Expires."""
    return f"{_site(site)}:veclock:{model}"

# (catalogue keys end here)


# --- users, sessions, API keys ------------------------------------------------------------
def users() -> str:
    """SET of the e-mail addresses (lower case) of every dashboard user. Never expires."""
    return f"{PREFIX}:users"


def user(email: str) -> str:
    """HASH one dashboard user: email, password (argon2 hash), role, sites (JSON list or
    empty for all sites), created, last_login (unix seconds). Never expires."""
    return f"{PREFIX}:user:{email.lower()}"


def session(sid_digest: str) -> str:
    """STRING JSON of one dashboard session (user, csrf token, created), keyed by the SHA-256 of
    the cookie's random id (the raw id is never stored). Expires: ACCOUNTS_SESSION_LIFETIME_HOURS."""
    return f"{PREFIX}:sess:{sid_digest}"


def api_keys() -> str:
    """HASH key id (first 12 hex of the key's SHA-256) -> full SHA-256 hex, for listing and
    revoking. Never expires."""
    return f"{PREFIX}:apikeys"


def api_key(digest: str) -> str:
    """HASH one API key, keyed by the SHA-256 hex of the raw key (never stored): id, name, role,
    sites (JSON list or empty), created, expires (unix seconds or empty), last_used, revoked."""
    return f"{PREFIX}:apikey:{digest}"


def login_attempts(kind: str, digest: str) -> str:
    """STRING counter of failed logins for one account or one client-address hash (kind
    "acct" or "addr"). Expires 15 minutes after the first failure."""
    return f"{PREFIX}:login:{kind}:{digest}"


# --- stats caches -----------------------------------------------------------------------------
# A stats read folds a *group* of shards in one script call: one shard per call on a cluster
# (a call touches one slot), all shards at once on one Redis. ``shard`` names the group's
# shard, or None for the all-shards group (kept in shard 0's slot: one Redis only).
def _group(site: str, shard: int | None) -> str:
    return _shard(site, 0) + ":all" if shard is None else _shard(site, shard)


def stats_top_cache(site: str, shard: int | None, span: str, network: str = "") -> str:
    """ZSET (stats) cached union of the daily top sets of a span of closed days
    (``YYYYMMDD-YYYYMMDD``, all networks or one) of a group of shards: article id -> shares.
    Expires after an hour."""
    return f"{_group(site, shard)}:topc:{span}" + (f":{network}" if network else "")


def stats_sum_cache(site: str, shard: int | None, span: str) -> str:
    """HASH (stats) field-by-field sum of the site_day counters of a span of closed days of a
    group of shards, plus a marker field ``_built``. Expires after an hour."""
    return f"{_group(site, shard)}:sumc:{span}"


def stats_hll_cache(site: str, shard: int | None, span: str) -> str:
    """HyperLogLog (stats) merge of the uniques_day sets of a span of closed days of a group of
    shards. Expires after an hour (with the matching stats_sum_cache)."""
    return f"{_group(site, shard)}:uvc:{span}"


def stats_series_cache(site: str, shard: int | None, span: str, granularity: str,
                       network: str = "") -> str:
    """STRING (stats) the rendered series lines of a span of closed days (``day`` or ``hour``
    granularity, all networks or one) of a group of shards. Expires after an hour."""
    return f"{_group(site, shard)}:serc:{span}:{granularity}" + (f":{network}" if network else "")


def stats_hll_union_cache(site: str, span: str) -> str:
    """HyperLogLog (stats, Redis Cluster) the union over every shard of the uniques_day sets of
    a span of closed days, kept in the site's catalogue slot where the shards' sets are counted
    together (storage/lua/pfunion.lua). Expires after an hour."""
    return f"{_site(site)}:uvu:{span}"


def stats_cache_patterns(site: str) -> dict[str, str]:
    """SCAN patterns of a site's stats caches of every group, by kind (top, sum, hll,
    series, union): what ``bench/stats.py`` deletes to measure cold queries."""
    patterns = {kind: f"{PREFIX}:{{{site}.*}}:*{family}:*" for kind, family in
                (("top", "topc"), ("sum", "sumc"), ("hll", "uvc"), ("series", "serc"))}
    patterns["union"] = f"{_site(site)}:uvu:*"
    return patterns


def stats_hll_scratch(site: str, count: int) -> list[str]:
    """``count`` temporary keys (stats) where the shards' unique-sharer HyperLogLogs of a
    cluster are counted together inside one script call (storage/lua/pfunion.lua; the site's
    catalogue slot). Never outlive the call."""
    return [f"{_site(site)}:uvtmp:{i}" for i in range(count)]


# --- the layout before shards (storage migrate) ----------------------------------------------
# Until this version every key of a site carried the hash tag {site}: ss:{site}:<family>:...
# These counting families moved into shards; ``storage migrate`` merges them there.
LEGACY_COUNTING = ("urls", "t", "st", "ad", "sd", "sh", "top", "uv", "uva")
LEGACY_DROPPED = ("dd", "topc", "sumc", "uvc", "serc")  # short-lived: deleted, not moved
_CLAIM = "migrating"


def all_keys() -> str:
    """SCAN pattern of every key of this service (REDIS_KEY_PREFIX)."""
    return f"{PREFIX}:*"


def parse_legacy(key: str) -> tuple[str, str, list[str]] | None:
    """(site, family, rest) of a counting key of the old one-slot layout, also when claimed by a
    migration (:func:`legacy_claim`): ``ss:{site}:ad:<aid>:<day>`` -> (site, "ad", [aid, day]).
    None for any other key (the catalogue, global keys, the sharded layout)."""
    head = PREFIX + ":{"
    if not key.startswith(head):
        return None
    site, sep, tail = key[len(head):].partition("}:")
    if not sep or not site or "." in site:  # a shard tag has dots; a site id never
        return None
    family, *rest = tail.split(":")
    if family == _CLAIM and len(rest) >= 2:
        family, rest = rest[1], rest[2:]
    if family in LEGACY_COUNTING or family in LEGACY_DROPPED:
        return site, family, rest
    return None


def legacy_claim(key: str, run: str) -> str:
    """The name an old-layout key takes while migration ``run`` merges it: same tag (a RENAME
    within its slot), unique to the run, so that a key written again meanwhile by an old
    process is migrated by a later run, and a run resumed after a crash merges nothing twice."""
    head, sep, tail = key.partition("}:")
    return f"{head}{sep}{_CLAIM}:{run}:{tail}"


def is_claimed(key: str) -> bool:
    return f"}}:{_CLAIM}:" in key

# (auth keys end here)
