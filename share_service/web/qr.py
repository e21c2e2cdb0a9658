"""Blueprint: qr."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("qr", __name__)
