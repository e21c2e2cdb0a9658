"""The OpenAPI 3 description of the HTTP API, assembled from one YAML file per capability.

``base.yaml`` holds the document's header, shared schemas (the error shape) and components;
each other ``*.yaml`` here holds ``paths`` (and optionally ``components``) of one capability.
Keep them current with the views: ``tests/test_web_api_openapi.py`` checks every API route is described.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

HERE = Path(__file__).parent


@lru_cache(maxsize=1)
def spec() -> dict:
    doc = yaml.safe_load((HERE / "base.yaml").read_text(encoding="utf-8"))
    doc.setdefault("paths", {})
    doc.setdefault("components", {})
    for part in sorted(HERE.glob("*.yaml")):
        if part.name == "base.yaml":
            continue
        fragment = yaml.safe_load(part.read_text(encoding="utf-8")) or {}
        doc["paths"].update(fragment.get("paths", {}))
        for section, items in (fragment.get("components") or {}).items():
            doc["components"].setdefault(section, {}).update(items)
    return doc
