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


# --- counting (issue 2) ------------------------------------------------------------------------
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
    """HASH counter field -> count for one article on one local day. Expires (RETENTION_DAYS)."""
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


def daily_salt(utc_day: str) -> str:
    """STRING random salt of one UTC day for visitor hashes; expires after two days."""
    return f"{PREFIX}:salt:{utc_day}"


# --- catalogue and recommendations (issue 4) -----------------------------------------------------
def article(site: str, aid: str) -> str:
    """HASH catalogue record of one article (url, title, description, image, section, ...)."""
    return f"{_site(site)}:art:{aid}"

# (catalogue keys end here)


# --- users, sessions, API keys (issue 6) ------------------------------------------------------------

# (auth keys end here)
