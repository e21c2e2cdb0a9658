"""Blueprint: counts."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("counts", __name__)
