"""Blueprint: counts — ``GET /api/v1/counts?url=``: an article's all-time share counts.

Public and cacheable for 5 seconds. When Redis cannot answer, 503 with the JSON error body
(code ``counts_unavailable``) and ``Retry-After: 5``, never a 500: clients hide the counts.
"""

from __future__ import annotations

import redis
from flask import Blueprint, current_app, jsonify, request

from ..counting import events, reads
from ..extensions import redis_client

bp = Blueprint("counts", __name__)


@bp.get("/api/v1/counts")
def counts():
    settings = current_app.config
    site_id, canonical, _aid = events.article(settings, request.args.get("url", ""),
                                              request.args.get("site") or None)
    try:
        body = reads.article_counts(redis_client(), site_id, canonical)
    except (redis.RedisError, OSError) as exc:
        current_app.logger.warning("counts unavailable: %s", exc)
        response = jsonify({"error": {"code": "counts_unavailable",
                                      "message": "Counts are unavailable right now."}})
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        response.headers["Cache-Control"] = "no-store"
        return response
    response = jsonify(body)
    response.headers["Cache-Control"] = "public, max-age=5"
    return response
