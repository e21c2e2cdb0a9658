"""Blueprint: the embeddable widget's files (/widget.js, /widget.css), the server-rendered bar
for pages without JavaScript (/embed) and the newcomer's demo article (/demo).

The two files are built once per app from the Python single sources (share_service.widget_assets)
and served with a strong ETag (304 on If-None-Match), Cache-Control and a pre-compressed gzip
representation. A source file that changes on disk (development) is rebuilt on the next request.
"""

from __future__ import annotations

import threading

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from ...errors import ApiError
from ...extensions import redis_client
from ...storage.client import UNAVAILABLE
from ..inputs import base_url, more_block, share_payload_from_request
from . import assets as widget_assets

bp = Blueprint("widget", __name__)

ASSET_CACHE_CONTROL = "public, max-age=3600, stale-while-revalidate=86400"
_lock = threading.Lock()


def _asset(name: str) -> widget_assets.Asset:
    """The built asset ('js' or 'css') of the current app, rebuilt when its source changed."""
    source = widget_assets.STATIC / f"widget.{name}"
    try:
        mtime = source.stat().st_mtime_ns
    except OSError:
        mtime = 0
    cache = current_app.extensions.setdefault("widget_assets", {})
    hit = cache.get(name)
    if hit is None or hit[0] != mtime:
        with _lock:
            build = widget_assets.build_js if name == "js" else widget_assets.build_css
            hit = (mtime, build(current_app.config))
            cache[name] = hit
    return hit[1]


def _serve(name: str) -> Response:
    asset = _asset(name)
    gz = request.accept_encodings["gzip"] > 0
    etag = asset.etag + ("-gz" if gz else "")
    headers = {
        "Cache-Control": ASSET_CACHE_CONTROL,
        "ETag": f'"{etag}"',
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        # Public files any page may load (also with crossorigin/SRI, or under COEP).
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if request.if_none_match.contains(etag) or request.if_none_match.star_tag:
        return Response(status=304, headers=headers)
    body = asset.gzipped if gz else asset.body
    if gz:
        headers["Content-Encoding"] = "gzip"
    response = Response(body, headers=headers, content_type=asset.mimetype)
    response.direct_passthrough = False
    return response


@bp.get("/widget.js")
def widget_js():
    """The widget script, with the registry, messages and site rules injected."""
    return _serve("js")


@bp.get("/widget.css")
def widget_css():
    """The widget's only stylesheet (also used by /embed and /demo), network colours injected."""
    return _serve("css")


@bp.get("/widget/messages.json")
def widget_messages():
    """The widget's messages in one language (for a bar whose language no site uses)."""
    from ...sharing import i18n

    lang = request.args.get("lang", "")
    if i18n.pick_lang(lang, "") != lang:
        raise ApiError("unknown_lang", f"Supported languages: {', '.join(i18n.LANGUAGES)}.", 404)
    response = jsonify(widget_assets.widget_messages(lang))
    response.headers["Cache-Control"] = ASSET_CACHE_CONTROL
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Content-Language"] = lang
    return response


EMBED_THEMES = ("light", "dark", "auto")


@bp.get("/embed")
def embed():
    """The server-rendered share bar and « Plus de contenu » as a page for an <iframe>: no
    JavaScript at all."""
    from ...sharing import i18n

    theme = request.args.get("theme") or "light"
    if theme not in EMBED_THEMES:
        raise ApiError("invalid_theme", f"The 'theme' parameter must be one of {EMBED_THEMES}.")
    payload = share_payload_from_request()
    site = current_app.config["SITES"][payload["site"]]
    more = more_block(site, payload["canonical_url"])
    html = render_template(
        "embed.html", share=payload, messages=i18n.messages(payload["lang"]), theme=theme,
        more=more or [], more_target="_top",
    )
    response = current_app.response_class(html, mimetype="text/html")
    # Framable by the site's own origins only. X-Frame-Options cannot name several origins
    # (ALLOW-FROM is obsolete); browsers obey frame-ancestors, which overrides it.
    ancestors = " ".join(["'self'", *site.allowed_origins()])
    # Images: the service's own, and exactly the origins of the recommended articles' images
    # (they live on the publisher's CDN), known here since the page is rendered with them. Not
    # a blanket https: — nothing else can be loaded even if markup were ever injected.
    images = " ".join(["'self'", *dict.fromkeys(i["image_origin"] for i in more or ()
                                                if i["image"])])
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'self'; img-src {images}; base-uri 'none'; "
        f"form-action 'none'; frame-ancestors {ancestors}"
    )
    # Without its « Plus de contenu » (Redis unavailable): cached briefly, so it comes back.
    response.headers["Cache-Control"] = f"public, max-age={300 if more is not None else 30}"
    response.headers["Content-Language"] = payload["lang"]
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


@bp.get("/demo", defaults={"slug": ""})
@bp.get("/demo/<slug>")
def demo(slug: str):
    """An original sample article in French with the widget at its end (a first look)."""
    from datetime import datetime, timedelta
    from urllib.parse import urlsplit

    from ...sharing.articles import site_for_url
    from . import demo as demo_content

    article = demo_content.BY_SLUG.get(slug)
    if article is None:
        raise ApiError("not_found", "No such sample article.", 404)
    base = base_url()
    canonical = demo_content.article_url(base, slug)
    site = site_for_url(current_app.config, None, canonical)
    host_allowed = site.allows_host(urlsplit(canonical).hostname or "")
    if host_allowed:
        try:  # the sample catalogue for « Plus de contenu », once; the page works without it
            demo_content.seed(redis_client(), site, base)
        except (*UNAVAILABLE, ApiError) as exc:  # Redis down, catalogue refusing: still render
            current_app.logger.warning("demo catalogue not seeded: %s", exc)
    published = datetime.now(site.tz).replace(minute=0, second=0, microsecond=0) - timedelta(
        days=article["days_ago"], hours=1
    )
    months = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre")
    html = render_template(
        "demo.html",
        article=article,
        canonical=canonical,
        host=request.host,
        host_allowed=host_allowed,
        published_iso=published.isoformat(),
        published_human=f"{published.day} {months[published.month - 1]} {published.year}, "
                        f"{published:%H} h {published:%M}",
        widget_src=f"{base}/widget.js",
        image=demo_content.image_url(base, slug),
        embed_url=url_for("widget.embed", url=canonical, title=article["title"]),
    )
    response = current_app.response_class(html, mimetype="text/html")
    # The strict policy a careful publisher would use: the widget needs nothing more.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
