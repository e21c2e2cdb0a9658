"""Every Redis key this service uses, and nothing else spells one.

One function per key family. Keys of one site carry the hash tag ``{site}`` so that every key a
batch script touches for a site hashes to the same Redis Cluster slot (sites shard across a
cluster; one site lives in one slot). Global keys (users, API keys, daily salt) carry no site.

Days and hours are the *site's local* calendar: ``YYYYMMDD`` and ``YYYYMMDDHH``.
"""

from __future__ import annotations

import hashlib

PREFIX = "ss"


def configure(prefix: str) -> None:
    """Set the key prefix (REDIS_KEY_PREFIX) once at start-up."""
    global PREFIX
    PREFIX = prefix


def article_id(canonical_url: str) -> str:
    """Short stable id of an article: 64 bits of BLAKE2b of its canonical URL (16 hex chars)."""
    return hashlib.blake2b(canonical_url.encode("utf-8"), digest_size=8).hexdigest()


def _site(site: str) -> str:
    return f"{PREFIX}:{{{site}}}"


def hash_tag(key: str) -> str:
    """The ``{hash tag}`` of a key named here (the part Redis Cluster hashes to a slot)."""
    start = key.index("{")
    return key[start:key.index("}", start) + 1]


# --- counting ---------------------------------------------------------------------------------
def article_urls(site: str) -> str:
    """HASH article id -> canonical URL, for every article ever counted or catalogued."""
    return f"{_site(site)}:urls"


def article_totals(site: str, aid: str) -> str:
    """HASH counter field -> all-time count for one article. Never expires."""
    return f"{_site(site)}:t:{aid}"


def site_totals(site: str) -> str:
    """HASH counter field -> all-time count for the whole site. Never expires."""
    return f"{_site(site)}:st"


def article_day(site: str, aid: str, day: str) -> str:
    """HASH counter field -> count for one article on one local day. Expires (COUNTING_RETENTION_DAYS)."""
    return f"{_site(site)}:ad:{aid}:{day}"


def site_day(site: str, day: str) -> str:
    """HASH counter field -> count for the site on one local day. Expires."""
    return f"{_site(site)}:sd:{day}"


def site_hour(site: str, hour: str) -> str:
    """HASH counter field -> count for the site in one local hour (YYYYMMDDHH). Expires."""
    return f"{_site(site)}:sh:{hour}"


def top_day(site: str, day: str, network: str = "") -> str:
    """ZSET article id -> shares that day (all networks, or one network). Expires."""
    return f"{_site(site)}:top:{day}" + (f":{network}" if network else "")


def uniques_day(site: str, day: str) -> str:
    """HyperLogLog of visitor hashes that shared anything on the site that day. Expires."""
    return f"{_site(site)}:uv:{day}"


def uniques_article_day(site: str, aid: str, day: str) -> str:
    """HyperLogLog of visitor hashes that shared one article that day. Expires."""
    return f"{_site(site)}:uva:{aid}:{day}"


def dedupe(site: str, digest: str) -> str:
    """STRING set NX with the dedupe window as TTL: visitor x article x event x network seen."""
    return f"{_site(site)}:dd:{digest}"


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


def stats_top_cache(site: str, span: str, network: str = "") -> str:
    """ZSET (stats) cached union of the daily top sets of a span of closed days
    (``YYYYMMDD-YYYYMMDD``, all networks or one): article id -> shares. Expires after an hour."""
    return f"{_site(site)}:topc:{span}" + (f":{network}" if network else "")


def stats_sum_cache(site: str, span: str) -> str:
    """HASH (stats) field-by-field sum of the site_day counters of a span of closed days, plus a
    marker field ``_built``. Expires after an hour."""
    return f"{_site(site)}:sumc:{span}"


def stats_hll_cache(site: str, span: str) -> str:
    """HyperLogLog (stats) merge of the uniques_day sets of a span of closed days. Expires after
    an hour (with the matching stats_sum_cache)."""
    return f"{_site(site)}:uvc:{span}"


def stats_series_cache(site: str, span: str, granularity: str, network: str = "") -> str:
    """STRING (stats) the rendered series lines of a span of closed days (``day`` or ``hour``
    granularity, all networks or one). Expires after an hour."""
    return f"{_site(site)}:serc:{span}:{granularity}" + (f":{network}" if network else "")

# (auth keys end here)
