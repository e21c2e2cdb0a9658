"""Catalogue records: what an article record holds, and the validation of raw records from
feeds, sitemaps, pages and the push API. Plain values in and out; no Redis, no Flask.

A record is a dict of the string fields of :data:`FIELDS` (contracts.md "Catalogue record"),
empty when unknown; ``tags`` is a JSON list; ``published`` / ``modified`` are unix seconds; ``url``
is the canonical URL. :func:`digest` fingerprints a record's content (what decides "changed").
"""

from __future__ import annotations

import hashlib
import json
import re

from ..errors import ApiError
from ..sharing import urls

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
_LANG_RE = re.compile(r"^[a-z]{2,3}\Z")


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
    if isinstance(value, float) and value.is_integer():  # JSON's 640.0 is the integer 640
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or \
            not (str(value).isascii() and str(value).isdigit()) or not 0 < int(value) <= 20000:
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
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or (
                strict and not isinstance(value, str)):  # feeds may give numbers; the API not
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
    if strict and any(len(t) > MAX_TAG for t in tags_raw):
        _bad(strict, "tags", f"each tag has at most {MAX_TAG} characters")
    tags: list[str] = []
    for tag in tags_raw:
        tag = _clip(tag, MAX_TAG) if isinstance(tag, (str, int)) else ""
        if tag and tag.lower() not in (t.lower() for t in tags):
            tags.append(tag)
    # checked (strict: 400) with or without an image; kept only with one
    width = _dim(raw.get("image_width"), strict, "image_width")
    height = _dim(raw.get("image_height"), strict, "image_height")
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
        "image_width": width if image else "",
        "image_height": height if image else "",
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


def push_body(body) -> list:
    """The raw articles of a push API body: one article object or ``{"articles": [...]}`` of at
    most :data:`MAX_PUSH_BATCH`. ApiError otherwise."""
    if body is None:
        raise ApiError("invalid_json", "The body must be a JSON object.")
    if isinstance(body, dict) and "articles" in body:
        items = body["articles"]
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_article", "'articles' must be a non-empty list.")
    else:
        items = [body]
    if len(items) > MAX_PUSH_BATCH:
        raise ApiError("too_many_articles", f"At most {MAX_PUSH_BATCH} articles per request.")
    return items


def normalize_all(items: list, site, source: str = "push",
                  max_url_length: int = 2048) -> list[dict[str, str]]:
    """Every raw article of a push, strictly validated for ``site``: all valid, or the ApiError
    of the first bad one, naming its position (``articles[i]: ...``, ``index``) in a batch."""
    out = []
    for position, raw in enumerate(items):
        try:
            out.append(normalize(raw, site, source, strict=True, max_url_length=max_url_length))
        except ApiError as exc:
            if len(items) > 1:
                exc.message = f"articles[{position}]: {exc.message}"
                exc.extra["index"] = position
            raise
    return out
