"""The OpenAPI 3 description of the HTTP API, assembled from one YAML file per capability.

``base.yaml`` holds the document's header, shared schemas (the error shape) and components;
each other ``*.yaml`` here holds ``paths`` (and optionally ``components``) of one capability.
Keep them current with the views: ``tests/test_web_api_openapi.py`` checks every API route is described,
and ``tests/test_web_api_schemathesis.py`` fuzzes the app against the served document.

The lists the registry owns are not copied into the YAML: :func:`spec` fills the ``enum`` of the
``NetworkId`` and ``Channel`` schemas from ``share_service.sharing.networks`` and of ``Language``
from ``share_service.sharing.i18n``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from ....sharing import i18n, networks

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
    schemas = doc["components"]["schemas"]
    schemas["NetworkId"]["enum"] = [name for net in networks.all_networks()
                                    for name in (net.id, *net.aliases)]
    schemas["Channel"]["enum"] = list(networks.CHANNELS)
    schemas["Language"]["enum"] = list(i18n.LANGUAGES)
    return doc
