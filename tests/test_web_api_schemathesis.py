"""schemathesis against the OpenAPI description the app serves (``/api/v1/openapi.json``): for
every described operation, requests generated from the description — valid ones ("positive":
the app must accept them) and invalid ones ("negative": the app must refuse them with a 4xx) —
are sent to the app in process, and every answer is checked against the description (status
codes, content types, headers, body schemas) with schemathesis's checks, plus the properties of
``properties.py`` (no 5xx, the error shape, nothing reflected, a refusal writes nothing).

The service's own knowledge stays out of the generator except where JSON Schema cannot state
it, and the description says it in words:

* which article hosts the deployment allows: valid requests get article URLs of the test site
  (``strategies.article_urls``) in place of the generated ``url``/``target``/``canonical_url``
  (and a plain https image in place of ``image``, whose rules are those of any URL parser);
* rules that tie two parameters together (:data:`RELATIONS`): the QR code's two colours must
  contrast, a stats range must run forwards and span at most 400 days (7 for hourly series),
  a QR code holds so many characters. A valid request refused for one of these must say so
  with that rule's error code.

Operations are listed from the description at collection time (one test each, and per mode);
the test itself loads the description from the app's own endpoint. schemathesis's pytest
plugin (``schemathesis.pytest.from_fixture``) is not used: its lazy loader breaks on pytest
9.2; its strategies (``APIOperation.as_strategy``) are stable, documented API.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from properties import Probe
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from strategies import article_urls

from share_service.accounts import api_keys
from share_service.storage import keyspace
from share_service.web.api import openapi

METHODS = ("get", "put", "post", "delete", "patch")
OPERATIONS = [(path, method) for path, item in openapi.spec()["paths"].items()
              for method in item if method in METHODS]
URL_FIELDS = ("url", "canonical_url", "target")
IMAGE = "https://cdn.lequotidien.example/img/une.jpg"
# Error codes of the rules between parameters that JSON Schema cannot state (see above).
RELATIONS = {"low_contrast", "url_too_long_for_qr", "bad_range", "range_too_long",
             "bad_granularity"}
# Invalid requests may also be refused as too large (413) or with too long a URI (414).
CONFIG = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415",
                          "422", "428", "429", "5xx"]}}})


@pytest.fixture
def admin_key(redis):
    raw, _ = api_keys.create_api_key(redis, "schemathesis", "admin")
    for key in redis.scan_iter(keyspace.api_key("*")):  # see test_web_properties.keys
        redis.hset(key, "last_used", str(2**40))
    return raw


def with_site_urls(case, article_url) -> None:
    """Put article URLs of the test site (``article_url()`` draws one) where the description can
    only say "a URL"."""
    if isinstance(case.query, dict):
        if "url" in case.query:
            case.query["url"] = article_url()
        if "image" in case.query:
            case.query["image"] = IMAGE
    body = case.body
    objects = []
    if isinstance(body, dict):
        inner = body.get("events", body.get("articles"))
        objects = inner if isinstance(inner, list) else [body]
    for obj in objects:
        if isinstance(obj, dict):
            for field in URL_FIELDS:
                if isinstance(obj.get(field), str):
                    obj[field] = article_url()
            if obj.get("image"):
                obj["image"] = IMAGE


def accepted_or_relation(response, case) -> None:
    """A valid request is accepted — or refused by a rule JSON Schema cannot state."""
    if response.status_code == 400:
        code = json.loads(response.content)["error"]["code"]
        assert code in RELATIONS, f"valid request refused: {response.content[:300]!r}"
    else:
        assert response.status_code < 400 or response.status_code in (401, 403, 404, 409, 413)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("path, method", OPERATIONS)
def test_operation_conforms(app, redis, admin_key, path, method, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    operation = schema[path][method]
    probe = Probe(app, redis)

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(max_examples=max(20, settings.default.max_examples // 6))
    def run(case, data):
        headers = {"X-Api-Key": admin_key}
        if mode == GenerationMode.NEGATIVE:
            probe.checked(lambda: case.call_and_validate(headers=headers))
            return
        with_site_urls(case, lambda: data.draw(article_urls(), label="article url"))
        response = probe.checked(lambda: case.call_and_validate(
            headers=headers, excluded_checks=[positive_data_acceptance]))
        accepted_or_relation(response, case)

    try:
        run()
    except Unsatisfiable:
        # an operation whose every parameter accepts any value (e.g. GET /widget.js) has no
        # invalid request to send: nothing to check in that mode
        if mode != GenerationMode.NEGATIVE:
            raise


def test_the_description_is_what_is_served(client):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert json.loads(served.get_data()) == openapi.spec()
    assert len(OPERATIONS) >= 20
