"""Blueprint: the article catalogue's push API and « Plus de contenu » recommendations.

* ``PUT /api/v1/articles`` (X-Api-Key of an admin of the site): one article object or
  ``{"articles": [...]}``; every article is validated before anything is stored.
* ``DELETE /api/v1/articles?url=`` (same key): remove one article.
* ``GET /api/v1/recommendations?url=&limit=&debug=``: related articles (public, cacheable; CORS
  for the site's origins is added by ``web.api.cors``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ...catalogue import records, store
from ...errors import ApiError
from ...extensions import redis_client
from ...sharing.articles import site_for_url
from ...storage import keyspace
from .. import guards
from ..inputs import article, parse_json

bp = Blueprint("catalogue", __name__)


def recommender():
    """This worker's recommender (``extensions``: one per app, it holds the in-memory index)."""
    return current_app.extensions["recommender"]


def _limit(raw: str | None) -> int:
    settings = current_app.config
    if raw is None:  # an empty limit= is no number: 400 like any other
        return int(settings["RECOMMEND_DEFAULT_LIMIT"])
    maximum = int(settings["RECOMMEND_MAX_LIMIT"])
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise ApiError("invalid_limit", f"'limit' must be an integer from 1 to {maximum}.")
    return int(raw)


@bp.get("/api/v1/recommendations")
def recommendations():
    settings = current_app.config
    shared = article()
    limit = _limit(request.args.get("limit"))
    debug = request.args.get("debug", "") in ("1", "true", "yes")
    answer = recommender().recommend(redis_client(), shared.site, shared.canonical, limit, debug)
    response = jsonify(answer)
    response.headers["Cache-Control"] = (
        "no-store" if debug else f"public, max-age={int(settings['RECOMMEND_CACHE_SECONDS'])}"
    )
    return response


def _admin_site(article_url=None):
    """The site named by ``?site=``, else the one owning the article's host; 403 unless the
    principal administers it."""
    site_id = request.args.get("site") or None
    if site_id is None:
        site_id = site_for_url(current_app.config, None, article_url).id
    return guards.authorize_site(site_id, admin=True)


@bp.put("/api/v1/articles")
@guards.require_api_key("admin")
def put_articles():
    items = records.push_body(parse_json(request.get_data(cache=False)))
    first = items[0] if isinstance(items[0], dict) else {}
    site = _admin_site(first.get("canonical_url") or first.get("url"))
    valid = records.normalize_all(items, site, "push", current_app.config["MAX_URL_LENGTH"])
    changed = set(store.save_articles(redis_client(), site.id, valid))
    stored = []
    for record in valid:
        aid = keyspace.article_id(record["url"])
        stored.append({"id": aid, "url": record["url"], "changed": aid in changed})
    return jsonify({"site": site.id, "stored": len(valid), "changed": len(changed),
                    "articles": stored})


@bp.delete("/api/v1/articles")
@guards.require_api_key("admin")
def delete_article():
    site = _admin_site(request.args.get("url"))
    if not store.delete_article(redis_client(), site.id, article(site).aid):
        raise ApiError("not_found", "No such article in the catalogue.", 404)
    return "", 204
