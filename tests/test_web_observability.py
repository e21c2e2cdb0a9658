"""Request ids (X-Request-Id in, out, and in every log line of the request) and JSON logs."""

from __future__ import annotations

import json
import logging
import re

import pytest

A1 = "https://www.lequotidien.example/politique/2026/11/26/reformes"


def test_request_id_generated_and_echoed(client):
    first = client.get("/healthz").headers["X-Request-Id"]
    second = client.get("/healthz").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}", first) and first != second


def test_request_id_from_the_proxy_is_kept(client):
    response = client.get("/s/facebook", query_string={"url": A1},
                          headers={"X-Request-Id": "edge-7f3a.42"})
    assert response.headers["X-Request-Id"] == "edge-7f3a.42"


@pytest.mark.parametrize("bad", ["", "a" * 129, "x y", "<script>", "id\u00e9"])
def test_unusable_request_ids_are_replaced(client, bad):
    rid = client.get("/healthz", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}", rid)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_logs_carry_the_request_id(make_app, tmp_path, capsys):
    app = make_app({"REDIS_URL": f"unix://{tmp_path}/dead.sock", "LOG_FORMAT": "json"})
    try:
        response = app.test_client().get("/api/v1/counts", query_string={"url": A1},
                                         headers={"X-Request-Id": "req-123"})
        assert response.status_code == 503
        lines = json_lines(capsys.readouterr().err)
        warning = next(x for x in lines if "storage unavailable" in x["message"])
        assert warning["request_id"] == "req-123"
        assert warning["level"] == "WARNING" and warning["logger"] == "share_service"
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", warning["time"])
    finally:
        logging.getLogger("share_service").handlers.clear()
        logging.getLogger("share_service").propagate = True


def test_request_log_lines_without_address_or_agent(make_app, capsys):
    app = make_app({"LOG_FORMAT": "json", "LOG_REQUESTS": True})
    try:
        app.test_client().get("/s/facebook", query_string={"url": A1},
                              headers={"User-Agent": "Mozilla/5.0 Secret-Agent"},
                              environ_base={"REMOTE_ADDR": "192.0.2.99"})
        err = capsys.readouterr().err
        line = next(x for x in json_lines(err) if x.get("endpoint") == "redirect.tracked_redirect")
        assert line["status"] == 302 and line["path"] == "/s/facebook"
        assert line["request_id"] and line["duration_ms"] >= 0
        assert "192.0.2.99" not in err and "Secret-Agent" not in err and "lequotidien" not in err
    finally:
        logging.getLogger("share_service").handlers.clear()
        logging.getLogger("share_service").propagate = True
