"""/healthz (liveness only), /readyz (Redis within a second) and /metrics (who may read it)."""

from __future__ import annotations

import time

import pytest

from share_service import metrics


def test_healthz_is_liveness_only(make_app, tmp_path):
    down = make_app({"REDIS_URL": f"unix://{tmp_path}/dead.sock"}).test_client()
    for client in (down,):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok"}
        assert response.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in response.headers


def test_readyz_reports_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "redis": "ok", "pending_events": 0}


def test_readyz_503_when_redis_is_down(make_app, tmp_path):
    client = make_app({"REDIS_URL": f"unix://{tmp_path}/dead.sock"}).test_client()
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    error = response.get_json()["error"]
    assert error["code"] == "unavailable" and error["redis"] == "down"


def test_readyz_answers_within_a_second_when_redis_is_frozen(make_app, own_redis):
    client = make_app({"REDIS_URL": own_redis.url}).test_client()
    assert client.get("/readyz").status_code == 200
    own_redis.freeze()
    try:
        started = time.monotonic()
        assert client.get("/readyz").status_code == 503
        assert time.monotonic() - started < 1.2
    finally:
        own_redis.thaw()
    assert client.get("/readyz").status_code == 200


# --- /metrics ---------------------------------------------------------------------------------
def get_metrics(client, ip="127.0.0.1", **headers):
    return client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": ip})


def sample(text: str, name: str, **labels) -> float:
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
                     if labels else "")
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_from_an_allowed_address(client):
    response = get_metrics(client)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.get_data(as_text=True)
    for name in ("share_service_http_requests_total", "share_service_events_total",
                 "share_service_events_dropped_total", "share_service_events_pending",
                 "share_service_redis_errors_total", "share_service_rate_limited_total",
                 "share_service_http_request_duration_seconds"):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name


def test_metrics_count_requests_by_endpoint_and_status(client):
    before = get_metrics(client).get_data(as_text=True)
    for _ in range(3):
        assert client.get("/s/facebook", query_string={
            "url": "https://www.lequotidien.example/a"}).status_code == 302
    assert client.get("/s/nowhere?url=x").status_code == 404
    after = get_metrics(client).get_data(as_text=True)

    def delta(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("share_service_http_requests_total",
                 endpoint="redirect.tracked_redirect", status="302") == 3
    assert delta("share_service_http_requests_total",
                 endpoint="redirect.tracked_redirect", status="404") == 1
    assert delta("share_service_http_request_duration_seconds_count",
                 endpoint="redirect.tracked_redirect") == 4
    assert delta("share_service_http_request_duration_seconds_bucket",
                 endpoint="redirect.tracked_redirect", le="+Inf") == 4


@pytest.mark.parametrize("ip", ["203.0.113.5", "10.0.0.1", "::ffff:8.8.8.8"])
def test_metrics_refused_to_other_addresses(client, ip):
    response = get_metrics(client, ip=ip)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert "share_service" not in response.get_data(as_text=True)


def test_metrics_allow_networks(make_app):
    client = make_app({"METRICS_ALLOW": ["10.0.0.0/8", "2001:db8::/32"]}).test_client()
    assert get_metrics(client, ip="10.20.30.40").status_code == 200
    assert get_metrics(client, ip="2001:db8::1").status_code == 200
    assert get_metrics(client, ip="127.0.0.1").status_code == 403
    assert get_metrics(client, ip="11.0.0.1").status_code == 403


def test_metrics_token(make_app):
    client = make_app({"METRICS_TOKEN": "s3cret-token", "METRICS_ALLOW": []}).test_client()
    ok = get_metrics(client, ip="203.0.113.5", Authorization="Bearer s3cret-token")
    assert ok.status_code == 200
    bad = get_metrics(client, ip="203.0.113.5", Authorization="Bearer nope")
    assert bad.status_code == 401 and bad.headers["WWW-Authenticate"].startswith("Bearer")
    assert get_metrics(client, ip="127.0.0.1").status_code == 403  # nobody allowed by address
    assert get_metrics(client, ip="127.0.0.1",
                       Authorization="Basic czNjcmV0LXRva2Vu").status_code == 401


def test_metrics_without_a_token_configured_refuse_any_token(client):
    assert get_metrics(client, ip="127.0.0.1", Authorization="Bearer ").status_code == 401


def test_metrics_behind_the_trusted_proxy_use_the_client_address(make_app):
    client = make_app({"TRUSTED_PROXIES": 1}).test_client()
    # the proxy (127.0.0.1) forwards a public client: refused, whatever the client claims
    response = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.9"})
    assert response.status_code == 403


def test_redis_errors_are_counted(make_app, tmp_path):
    client = make_app({"REDIS_URL": f"unix://{tmp_path}/dead.sock"}).test_client()
    before = metrics.value(metrics.REDIS_ERRORS, "ConnectionError")
    assert client.get("/api/v1/counts",
                      query_string={"url": "https://www.lequotidien.example/a"}).status_code == 503
    assert metrics.value(metrics.REDIS_ERRORS, "ConnectionError") - before == 1
