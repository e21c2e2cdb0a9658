"""Blueprint: widget."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("widget", __name__)
