"""The share payload: every link of the share bar for one article. Domain code, no Flask.

:func:`share_payload` builds the answer of ``GET /api/v1/share`` (see contracts: "Share API JSON")
from a :class:`~share_service.config.Site`, the client's article URL and its title / text / image:

* per network, the direct ``share_url`` (the article URL tagged with the site's UTM for that
  network, plus the site's hashtags and X ``via`` where the network takes them) and the
  ``tracked_url`` on this service (``/s/<network>``, which counts the share, then redirects);
* copy snippets: the URL tagged ``utm_source=copy``, an HTML anchor and a Markdown link;
* the QR code URLs and the counts URL.

Title and text are cleaned (control characters removed, line breaks normalized; the title is one
line) and bounded; nothing here is stored or counted.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape
from urllib.parse import quote, urlencode, urlsplit

from ..errors import ApiError
from . import i18n, networks, urls
from .articles import Article

TITLE_MAX = 300  # characters, after cleaning
TEXT_MAX = 1000
# Longest request line (path + query) of a tracked URL: gunicorn refuses request lines over
# 4094 bytes by default (limit_request_line), so text, then title, are shortened to fit.
TRACKED_REQUEST_MAX = 4000
ELLIPSIS = "…"
# C0 controls but tab and line feed, DEL, and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"\r\n|\r|\u2028|\u2029")
# Characters a Markdown link text must escape (CommonMark allows a backslash before any ASCII
# punctuation; these are the ones that can start or end markup inside a link text).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()!&|#~])")


def clean_text(value: str | None, *, field: str = "text", max_length: int = TEXT_MAX) -> str:
    """Free text as networks should receive it: line breaks as ``\\n``, no control characters,
    no surrounding blanks. Longer than ``max_length`` -> ApiError (400)."""
    value = _CONTROL.sub("", _LINE_BREAKS.sub("\n", value or "")).strip()
    if len(value) > max_length:
        raise ApiError(f"{field}_too_long", f"The '{field}' parameter is longer than "
                                            f"{max_length} characters.")
    return value


def clean_title(value: str | None, max_length: int = TITLE_MAX) -> str:
    """A title is one line: line breaks and tabs become single spaces."""
    text = clean_text(value, field="title", max_length=max_length * 2)
    title = re.sub(r"[ \t]*[\n\t][ \t]*", " ", text)
    if len(title) > max_length:
        raise ApiError("title_too_long", f"The 'title' parameter is longer than {max_length} "
                                         "characters.")
    return title


def clean_image(raw: str | None, max_length: int = 2048) -> str:
    """An optional image URL (Pinterest ``media``, VK ``image``): http(s) only; any host (images
    often live on a CDN). It is passed on to networks, never fetched here."""
    if raw is None or not raw.strip():
        return ""
    try:
        urls.validate(raw, max_length)
    except ApiError as exc:
        raise ApiError("invalid_image", "The 'image' parameter must be an http(s) URL "
                                        f"of at most {max_length} characters.") from exc
    return urls.strip_tracking(raw)


def parse_networks(raw: str | None, site) -> list[networks.Network]:
    """The requested networks (comma-separated ids or aliases, in the caller's order, duplicates
    dropped), or the site's networks when none is asked. Unknown id -> ApiError unknown_network."""
    if raw is None or not raw.strip():
        return [networks.get(n) for n in site.networks]
    chosen: list[networks.Network] = []
    for name in raw.split(","):
        name = name.strip()
        if not name:
            continue
        net = networks.get(name)
        if net is None:
            shown = f" {name!r}" if re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", name) else ""
            raise ApiError("unknown_network", f"Unknown network{shown}.",  # never reflect markup
                           known=[n.id for n in networks.all_networks()])
        if net not in chosen:
            chosen.append(net)
    if not chosen:
        return [networks.get(n) for n in site.networks]
    return chosen


def network_share_url(site, network: networks.Network, clean_url: str, *, title: str = "",
                      text: str = "", image: str = "", instance: str = "") -> str:
    """The network's direct share URL for an article (already validated and cleaned): the URL
    tagged with the site's UTM for this network, the site's hashtags and X ``via``."""
    data = networks.ShareInput(
        url=urls.tag(clean_url, site, network.id),
        title=title,
        text=text,
        hashtags=site.hashtags if "hashtags" in network.takes else (),
        via=site.twitter_via if "via" in network.takes else "",
        image=image,
        instance=instance,
    )
    return network.share_url(data)


def service_url(base_url: str, path: str, params: list[tuple[str, str]]) -> str:
    """``<base><path>?k=v&...`` with empty values left out, every value percent-encoded."""
    query = urlencode([(k, v) for k, v in params if v], quote_via=quote, safe="")
    return f"{base_url.rstrip('/')}{path}" + (f"?{query}" if query else "")


def _request_line_length(url: str) -> int:
    parts = urlsplit(url)
    return len(parts.path) + 1 + len(parts.query)


def tracked_url(base_url: str, network_id: str, clean_url: str, title: str = "", text: str = "",
                image: str = "") -> str:
    """``<base>/s/<network>?url=&title=&text=&image=``, at most TRACKED_REQUEST_MAX long (path and
    query): when too long, the text is shortened (with an ellipsis), then the title, then the
    image left out. The article URL is never cut."""

    def build(t: str, x: str, img: str) -> str:
        return service_url(base_url, f"/s/{network_id}",
                           [("url", clean_url), ("title", t), ("text", x), ("image", img)])

    url = build(title, text, image)
    if _request_line_length(url) <= TRACKED_REQUEST_MAX:
        return url

    def longest(value: str, make) -> str | None:
        # the longest prefix (+ ellipsis) of value that fits, by bisection; None if none fits
        low, high, best = 0, len(value) - 1, None
        while low <= high:
            mid = (low + high) // 2
            candidate = value[:mid].rstrip() + ELLIPSIS if mid else ""
            if _request_line_length(make(candidate)) <= TRACKED_REQUEST_MAX:
                best, low = candidate, mid + 1
            else:
                high = mid - 1
        return best

    short_text = longest(text, lambda x: build(title, x, image)) if text else None
    if short_text is not None:
        return build(title, short_text, image)
    short_title = longest(title, lambda t: build(t, "", image)) if title else None
    if short_title is not None:
        return build(short_title, "", image)
    return build("", "", "")


def markdown_text(text: str) -> str:
    """One line of link text: markup characters backslash-escaped, ``<`` and ``>`` as entities
    (so that no raw tag ever appears in a snippet)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    return escaped.replace("<", "&lt;").replace(">", "&gt;")


def markdown_url(url: str) -> str:
    # Parentheses would end the link destination; spaces cannot occur in a cleaned URL.
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def copy_snippets(site, clean_url: str, title: str) -> dict:
    url = urls.tag(clean_url, site, "copy")
    label = title or url
    return {
        "url": url,
        "html": f'<a href="{escape(url, quote=True)}">{escape(label, quote=False)}</a>',
        "markdown": f"[{markdown_text(label)}]({markdown_url(url)})",
    }


def share_payload(article: Article, *, base_url: str, title: str | None = None,
                  text: str | None = None, image: str | None = None,
                  networks_param: str | None = None, lang: str | None = None,
                  max_url_length: int = 2048) -> dict:
    """The whole share API answer for an article (see the module docstring). Raises ApiError
    on bad input.

    Answers are memoized (LRU, 1024 entries: the same article is asked for again and again);
    each call gets its own copy, free to change."""
    payload = _share_payload(article, base_url, title, text, image, networks_param, lang,
                             max_url_length)
    return {
        **payload,
        "networks": [{**n, "popup": dict(n["popup"]) if n["popup"] else None}
                     for n in payload["networks"]],
        "copy": dict(payload["copy"]),
        "qr": dict(payload["qr"]),
    }


@lru_cache(maxsize=1024)
def _share_payload(article: Article, base_url, title, text, image, networks_param, lang,
                   max_url_length) -> dict:
    site, clean_url, canonical_url = article.site, article.url, article.canonical
    title = clean_title(title)
    text = clean_text(text)
    image = clean_image(image, max_url_length)
    chosen = parse_networks(networks_param, site)
    lang = i18n.pick_lang(lang, site.lang)
    messages = i18n.messages(lang)

    entries = []
    for net in chosen:
        name = net.label(lang)
        label = messages["share_email"] if net.id == "email" else messages["share_on"].format(
            network=name)
        width, height = net.popup
        entries.append({
            "id": net.id,
            "name": name,
            "label": label,
            "share_url": network_share_url(site, net, clean_url, title=title, text=text,
                                           image=image),
            "tracked_url": tracked_url(base_url, net.id, clean_url, title, text, image),
            "color": net.color,
            # None: no popup (mailto opens the mail client in place)
            "popup": {"width": width, "height": height} if width and height else None,
            "icon": networks.icon_svg(net, 24),
        })

    return {
        "site": site.id,
        "url": clean_url,
        "canonical_url": canonical_url,
        "lang": lang,
        "networks": entries,
        "copy": copy_snippets(site, clean_url, title),
        "qr": {
            "svg": service_url(base_url, "/qr", [("url", clean_url), ("format", "svg")]),
            "png": service_url(base_url, "/qr", [("url", clean_url), ("format", "png")]),
        },
        "counts_url": service_url(base_url, "/api/v1/counts", [("url", clean_url)]),
    }
