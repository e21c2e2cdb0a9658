"""Blueprint: the article catalogue's push API and « Plus de contenu » recommendations.

* ``PUT /api/v1/articles`` (X-Api-Key of an admin of the site): one article object or
  ``{"articles": [...]}``; every article is validated before anything is stored.
* ``DELETE /api/v1/articles?url=`` (same key): remove one article.
* ``GET /api/v1/recommendations?url=&limit=&debug=``: related articles (public, cacheable; CORS
  for the site's origins is added by ``web.cors``).
"""

from __future__ import annotations

import os

import redis
from flask import Blueprint, current_app, jsonify, request

from .. import keys, sharing, urls
from ..catalogue import store
from ..errors import ApiError
from ..extensions import redis_client
from ..recommend import Recommender
from . import guards

bp = Blueprint("catalogue", __name__)


def recommender() -> Recommender:
    """This worker's recommender (one per process: it holds the in-memory index)."""
    app = current_app._get_current_object()
    rec = app.extensions.get("recommender")
    if rec is None:
        rec = app.extensions["recommender"] = Recommender(
            app.config, snapshot_dir=os.path.join(app.instance_path, "recommend"))
    return rec


def _limit(raw: str | None) -> int:
    settings = current_app.config
    if raw is None or raw == "":
        return int(settings["RECOMMEND_DEFAULT_LIMIT"])
    maximum = int(settings["RECOMMEND_MAX_LIMIT"])
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ApiError("invalid_limit", f"'limit' must be an integer from 1 to {maximum}.")
    return int(raw)


@bp.get("/api/v1/recommendations")
def recommendations():
    settings = current_app.config
    raw = request.args.get("url")
    site = sharing.site_for_url(settings, request.args.get("site"), raw)
    _clean, canonical = urls.article_from_request(raw, site, settings["MAX_URL_LENGTH"])
    limit = _limit(request.args.get("limit"))
    debug = request.args.get("debug", "") in ("1", "true", "yes")
    try:
        answer = recommender().recommend(redis_client(), site, canonical, limit, debug)
    except redis.RedisError as exc:
        raise ApiError("unavailable", "Recommendations are unavailable right now.", 503) from exc
    response = jsonify(answer)
    response.headers["Cache-Control"] = (
        "no-store" if debug else f"public, max-age={int(settings['RECOMMEND_CACHE_SECONDS'])}"
    )
    return response


def _admin_site(article_url=None):
    """The site named by ``?site=``, else the one owning the article's host; 403 unless the
    principal administers it."""
    site_id = request.args.get("site") or None
    if site_id is None and isinstance(article_url, str):
        site_id = sharing.site_for_url(current_app.config, None, article_url).id
    return guards.authorize_site(site_id, admin=True)


@bp.put("/api/v1/articles")
@guards.require_api_key("admin")
def put_articles():
    body = request.get_json(silent=True, force=True)
    if body is None:
        raise ApiError("invalid_json", "The body must be a JSON object.")
    if isinstance(body, dict) and "articles" in body:
        articles = body["articles"]
        if not isinstance(articles, list) or not articles:
            raise ApiError("invalid_article", "'articles' must be a non-empty list.")
    else:
        articles = [body]
    if len(articles) > store.MAX_PUSH_BATCH:
        raise ApiError("too_many_articles", f"At most {store.MAX_PUSH_BATCH} articles per request.")
    first = articles[0] if isinstance(articles[0], dict) else {}
    site = _admin_site(first.get("canonical_url") or first.get("url"))
    records = []
    for position, raw in enumerate(articles):
        try:
            records.append(store.normalize(raw, site, "push", strict=True,
                                           max_url_length=current_app.config["MAX_URL_LENGTH"]))
        except ApiError as exc:
            if len(articles) > 1:
                exc.message = f"articles[{position}]: {exc.message}"
                exc.extra["index"] = position
            raise
    try:
        changed = set(store.save_articles(redis_client(), site.id, records))
    except redis.RedisError as exc:
        raise ApiError("unavailable", "The catalogue store is unavailable.", 503) from exc
    items = []
    for record in records:
        aid = keys.article_id(record["url"])
        items.append({"id": aid, "url": record["url"], "changed": aid in changed})
    return jsonify({"site": site.id, "stored": len(records), "changed": len(changed),
                    "articles": items})


@bp.delete("/api/v1/articles")
@guards.require_api_key("admin")
def delete_article():
    site = _admin_site(request.args.get("url"))
    _clean, canonical = urls.article_from_request(request.args.get("url"), site,
                                                  current_app.config["MAX_URL_LENGTH"])
    try:
        existed = store.delete_article(redis_client(), site.id, keys.article_id(canonical))
    except redis.RedisError as exc:
        raise ApiError("unavailable", "The catalogue store is unavailable.", 503) from exc
    if not existed:
        raise ApiError("not_found", "No such article in the catalogue.", 404)
    return "", 204
