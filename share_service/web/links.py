"""Blueprint: links."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("links", __name__)
