"""The OpenAPI document: valid OpenAPI 3.1, served at /api/v1/openapi.json, and describing every
public route of the API (/api/..., /s/..., /qr, /embed) with the methods the app answers."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from share_service.web.api import openapi

DESCRIBED_PREFIXES = ("/api/", "/s/", "/qr", "/embed")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def openapi_path(rule: str) -> str:
    """Flask's /s/<network> or /x/<int:id> -> OpenAPI's /s/{network}, /x/{id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_document_is_valid_openapi_3_1():
    doc = openapi.spec()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_served_document_is_the_same(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == openapi.spec()


def api_routes(app):
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not rule.rule.startswith(DESCRIBED_PREFIXES):
            continue
        routes.setdefault(openapi_path(rule.rule), set()).update(
            m for m in rule.methods if m not in IGNORED_METHODS)
    return routes


def test_every_api_route_and_method_is_described(app):
    paths = openapi.spec()["paths"]
    missing = []
    for path, methods in sorted(api_routes(app).items()):
        described = {m.upper() for m in paths.get(path, {})}
        for method in sorted(methods - described):
            missing.append(f"{method} {path}")
    assert not missing, "routes missing from share_service/openapi/*.yaml: " + ", ".join(missing)


def test_my_routes_are_present(app):
    routes = api_routes(app)
    assert {"GET"} <= routes["/api/v1/share"]
    assert {"GET"} <= routes["/qr"]


@pytest.mark.parametrize("path, method", [("/api/v1/share", "get"), ("/qr", "get")])
def test_errors_use_the_shared_error_schema(path, method):
    responses = openapi.spec()["paths"][path][method]["responses"]
    bad = responses["400"]["content"]["application/json"]["schema"]
    assert bad == {"$ref": "#/components/schemas/Error"}


def test_described_paths_exist(app):
    """No stale description: every documented path of these prefixes is a real route."""
    routes = api_routes(app)
    documented = [p for p in openapi.spec()["paths"] if p.startswith(DESCRIBED_PREFIXES)]
    assert [p for p in documented if p not in routes] == []
