"""Blueprint: counts — ``GET /api/v1/counts?url=``: an article's all-time share counts.

Public and cacheable for 5 seconds. When Redis cannot answer: the one 503 answer (code
``unavailable``, ``Retry-After``; see errors.py), never a 500: clients hide the counts.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from ...counting import reads
from ...extensions import redis_client
from ..inputs import article

bp = Blueprint("counts", __name__)


@bp.get("/api/v1/counts")
def counts():
    shared = article()
    response = jsonify(reads.article_counts(redis_client(), shared.site.id, shared.canonical))
    response.headers["Cache-Control"] = "public, max-age=5"
    return response
