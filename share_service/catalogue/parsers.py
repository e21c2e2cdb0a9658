"""Parsers for what the fetcher brings back: feeds, sitemaps and article pages. No Flask here.

Each parser returns *raw* article dicts using the catalogue record's field names (see
``records.FIELDS``); ``records.normalize`` then validates and cleans them. Dates come out as unix
seconds (int) or None.

Hostile XML: every XML document is first parsed by ``defusedxml`` (entity declarations — billion
laughs, quadratic blow-up — and external entities / DTD retrieval are refused), and only then
handed to a feed parser — fastfeedparser (lxml, entities not resolved), or feedparser as a
fallback — as bytes, never as a URL, so neither fetches anything itself.
Malformed XML is rejected, not guessed at. HTML pages are parsed by BeautifulSoup with lxml
(HTML has no entity declarations).
"""

from __future__ import annotations

import calendar
import email.utils
import html
import io
import json
import math
import re
from datetime import UTC, datetime
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
import fastfeedparser
import feedparser
from bs4 import BeautifulSoup
from defusedxml import DefusedXmlException

GZIP_MAGIC = b"\x1f\x8b"
NS_SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
NS_NEWS = "http://www.google.com/schemas/sitemap-news/0.9"
NS_IMAGE = "http://www.google.com/schemas/sitemap-image/1.1"
ARTICLE_TYPES = {
    "newsarticle", "article", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
    "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "liveblogposting",
    "report", "socialmediaposting", "techarticle",
}
_TAGS_RE = re.compile(r"<[^>]*>")
_BLOCKS_RE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_SPACE_RE = re.compile(r"\s+")


class ParseFailure(Exception):
    """The document cannot be used; ``reason`` is a short code for the log and the report."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


# --- helpers ------------------------------------------------------------------------------------
def text(value) -> str:
    """Plain text from a possibly HTML-bearing string: script/style blocks and tags dropped,
    entities decoded, spaces collapsed."""
    if value is None:
        return ""
    value = str(value)
    if "<" in value:
        value = _TAGS_RE.sub(" ", _BLOCKS_RE.sub(" ", value))
    if "&" in value:
        value = html.unescape(value)
    return _SPACE_RE.sub(" ", value).strip()


def parse_date(value) -> int | None:
    """Unix seconds from ISO 8601 / W3C dates, RFC 822 dates, struct_time or numbers."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return int(value) if math.isfinite(value) else None  # JSON allows NaN and Infinity
    if hasattr(value, "tm_year"):
        return calendar.timegm(value)
    value = str(value).strip()
    if value.isascii() and value.isdigit():  # '²'.isdigit() too, but int('²') fails
        return int(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def safe_xml_root(body: bytes):
    """Parse XML with defusedxml; raise ParseFailure for hostile or malformed documents."""
    try:
        return SafeET.fromstring(body)
    except DefusedXmlException as exc:
        raise ParseFailure("hostile_xml", f"refused XML construct ({type(exc).__name__})") from exc
    except ParseError as exc:
        raise ParseFailure("malformed_xml", f"not well-formed XML: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise ParseFailure("malformed_xml", f"unreadable XML: {exc}") from exc


def sniff(body: bytes, content_type: str = "") -> str:
    """What a fetched body is: "gzip", "xml" or "html"."""
    if body[:2] == GZIP_MAGIC:
        return "gzip"
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<?xml") or head.startswith((b"<rss", b"<feed", b"<urlset",
                                                     b"<sitemapindex", b"<rdf")):
        return "xml"
    if "xml" in content_type and b"<html" not in head:
        return "xml"
    return "html"


def xml_kind(root) -> str:
    """"feed", "sitemap" or "sitemapindex" from an XML root element."""
    name = _local(root.tag).lower()
    if name in ("rss", "feed", "rdf"):
        return "feed"
    if name == "urlset":
        return "sitemap"
    if name == "sitemapindex":
        return "sitemapindex"
    raise ParseFailure("unknown_format", f"XML root <{name}> is not a feed or a sitemap")


# --- feeds ----------------------------------------------------------------------------------------
def _feed_image(entry) -> tuple[str, int | None, int | None]:
    for media in list(entry.get("media_content") or []) + list(entry.get("media_thumbnail") or []):
        url = media.get("url")
        medium = str(media.get("medium") or media.get("type") or "image").lower()
        if url and "image" in medium:
            return url, _int(media.get("width")), _int(media.get("height"))
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("url"):
            return enclosure["url"], None, None
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return link.get("href", ""), None, None
    image = entry.get("image")
    if isinstance(image, dict) and image.get("href"):
        return image["href"], None, None
    return "", None, None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _feed_language(root) -> str:
    """<channel><language> (RSS) or xml:lang (Atom)."""
    lang = root.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    if not lang:
        for element in root.iter():
            if _local(element.tag) == "language" and element.text:
                lang = element.text
                break
    return lang.strip().split("-")[0].lower()


def _entries(body: bytes):
    """Feed entries, feedparser-style dicts: fastfeedparser (lxml, about 30 times faster), and
    feedparser for the rare documents fastfeedparser refuses (old RSS variants, CDF)."""
    try:
        return fastfeedparser.parse(body).entries
    except Exception:  # noqa: BLE001 - any refusal: let the other parser try
        parsed = feedparser.parse(io.BytesIO(body), sanitize_html=False,
                                  resolve_relative_uris=False)
        if not parsed.entries and parsed.get("bozo"):
            raise ParseFailure("unreadable_feed",
                               str(parsed.get("bozo_exception", ""))) from None
        return parsed.entries


def _entry_date(entry, name: str):
    # dict.get: feedparser would otherwise map a missing "updated" to "published"
    return parse_date(dict.get(entry, name + "_parsed") or dict.get(entry, name))


def parse_feed(body: bytes, root=None) -> list[dict]:
    """RSS 0.9x/1.0/2.0 and Atom entries as raw article dicts (source "feed").

    Both parsers only ever see bytes that defusedxml accepted (``root``, or parsed here)."""
    root = safe_xml_root(body) if root is None else root
    feed_lang = _feed_language(root)
    items = []
    for entry in _entries(body):
        categories = [t.get("term") or t.get("label") or "" for t in entry.get("tags") or []]
        categories = [text(c) for c in categories if c and str(c).strip()]
        image, width, height = _feed_image(entry)
        link = entry.get("link") or ""
        if not link and str(entry.get("id", "")).startswith(("http://", "https://")):
            link = entry.get("id")
        items.append({
            "url": link,
            "title": text(entry.get("title")),
            "description": text(entry.get("summary") or entry.get("description")),
            "image": image, "image_width": width, "image_height": height,
            "section": categories[0] if categories else "",
            "tags": categories,
            "lang": feed_lang,
            "author": text(entry.get("author") or ""),
            "published": _entry_date(entry, "published"),
            "modified": _entry_date(entry, "updated"),
            "source": "feed",
        })
    return items


# --- sitemaps -------------------------------------------------------------------------------------
def _child(element, ns: str, name: str):
    return element.find(f"{{{ns}}}{name}")


def _child_text(element, ns: str, name: str) -> str:
    found = _child(element, ns, name)
    return (found.text or "").strip() if found is not None and found.text else ""


def parse_sitemap(root) -> list[dict]:
    """Entries of a ``<urlset>``: loc, lastmod, and for Google News sitemaps title, published,
    keywords (tags), language; image:image gives the image."""
    entries = []
    for url in root.iter(f"{{{NS_SITEMAP}}}url"):
        loc = _child_text(url, NS_SITEMAP, "loc")
        if not loc:
            continue
        entry = {"url": loc, "lastmod": parse_date(_child_text(url, NS_SITEMAP, "lastmod")),
                 "source": "sitemap"}
        news = _child(url, NS_NEWS, "news")
        if news is not None:
            publication = _child(news, NS_NEWS, "publication")
            lang = _child_text(publication, NS_NEWS, "language") if publication is not None else ""
            keywords = _child_text(news, NS_NEWS, "keywords")
            entry.update({
                "title": text(_child_text(news, NS_NEWS, "title")),
                "published": parse_date(_child_text(news, NS_NEWS, "publication_date")),
                "tags": [k.strip() for k in keywords.split(",") if k.strip()],
                "lang": lang.split("-")[0].lower(),
            })
        image = _child(url, NS_IMAGE, "image")
        if image is not None:
            entry["image"] = _child_text(image, NS_IMAGE, "loc")
        entries.append(entry)
    return entries


def parse_sitemap_index(root) -> list[str]:
    """Child sitemap URLs of a ``<sitemapindex>``."""
    out = []
    for sitemap in root.iter(f"{{{NS_SITEMAP}}}sitemap"):
        loc = _child_text(sitemap, NS_SITEMAP, "loc")
        if loc:
            out.append(loc)
    return out


# --- article pages --------------------------------------------------------------------------------
def _jsonld_objects(soup) -> list[dict]:
    objects = []
    for script in soup.find_all("script", attrs={"type": re.compile(r"ld\+json", re.I)}):
        try:
            data = json.loads(script.string or script.get_text() or "")
        except (ValueError, TypeError, RecursionError):  # nested too deep for the parser
            continue
        stack = [data]
        while stack and len(objects) < 50:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if "@graph" in item:
                    stack.extend(item["@graph"] if isinstance(item["@graph"], list) else [])
                types = item.get("@type")
                types = types if isinstance(types, list) else [types]
                if any(str(t).lower() in ARTICLE_TYPES for t in types if t):
                    objects.append(item)
    return objects


def _ld_image(value) -> tuple[str, int | None, int | None]:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, str):
        return value, None, None
    if isinstance(value, dict):
        return str(value.get("url") or value.get("contentUrl") or ""), _int(value.get("width")), \
            _int(value.get("height"))
    return "", None, None


def _ld_name(value) -> str:
    if isinstance(value, list):
        return ", ".join(filter(None, (_ld_name(v) for v in value)))
    if isinstance(value, dict):
        return str(value.get("name") or "")
    return str(value or "")


def parse_page(body: bytes, url: str) -> dict:
    """An article page's metadata: ``<link rel=canonical>``, OpenGraph (og:*, article:*),
    JSON-LD (NewsArticle and friends), twitter: cards, then ``<title>`` / meta description."""
    soup = BeautifulSoup(body, "lxml")
    meta: dict[str, list[str]] = {}
    for tag in soup.find_all("meta"):
        key = (tag.get("property") or tag.get("name") or "").strip().lower()
        content = tag.get("content")
        if key and content is not None:
            meta.setdefault(key, []).append(str(content).strip())

    def first(*names) -> str:
        for name in names:
            for value in meta.get(name, []):
                if value:
                    return value
        return ""

    ld = _jsonld_objects(soup)
    ld0 = ld[0] if ld else {}
    canonical = ""
    for link in soup.find_all("link"):
        rel = link.get("rel") or []
        rel = rel if isinstance(rel, list) else [rel]
        if "canonical" in [r.lower() for r in rel] and link.get("href"):
            canonical = link["href"].strip()
            break
    ld_url = ld0.get("url") if isinstance(ld0.get("url"), str) else ""
    if not ld_url and isinstance(ld0.get("mainEntityOfPage"), dict):
        ld_url = str(ld0["mainEntityOfPage"].get("@id") or "")
    title_tag = soup.find("title")
    ld_image, ld_w, ld_h = _ld_image(ld0.get("image"))
    image = first("og:image:secure_url", "og:image", "og:image:url") or ld_image or \
        first("twitter:image", "twitter:image:src")
    og_image = bool(first("og:image:secure_url", "og:image", "og:image:url"))
    keywords = ld0.get("keywords") or []
    if isinstance(keywords, str):
        keywords = list(keywords.split(","))
    tags = meta.get("article:tag", []) or [str(k) for k in keywords]
    if not tags and first("news_keywords", "keywords"):
        tags = first("news_keywords", "keywords").split(",")
    section = first("article:section") or _ld_name(ld0.get("articleSection"))
    root = soup.find("html")
    return {
        "url": canonical or first("og:url") or ld_url or url,
        "title": text(first("og:title") or ld0.get("headline") or ld0.get("name")
                      or first("twitter:title") or (title_tag.get_text() if title_tag else "")),
        "description": text(first("og:description") or ld0.get("description")
                            or first("twitter:description", "description")),
        "image": image,
        "image_width": _int(first("og:image:width")) if og_image else ld_w,
        "image_height": _int(first("og:image:height")) if og_image else ld_h,
        "section": text(section),
        "tags": [text(t) for t in tags if str(t).strip()],
        "lang": ((root.get("lang") if root else "") or first("og:locale") or "")
        .replace("_", "-").split("-")[0].lower(),
        "author": text(first("article:author", "author") or _ld_name(ld0.get("author"))),
        "published": parse_date(first("article:published_time") or ld0.get("datePublished")),
        "modified": parse_date(first("article:modified_time", "og:updated_time")
                               or ld0.get("dateModified")),
        "source": "page",
    }
