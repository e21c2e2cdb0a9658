"""The app factory, configuration precedence and the one error shape."""

from __future__ import annotations

import pytest

from share_service.config import ConfigError, load_settings


def test_defaults_give_one_site_on_localhost():
    settings = load_settings(environ={})
    assert list(settings["SITES"]) == ["default"]
    site = settings["SITES"]["default"]
    assert site.allows_host("localhost") and site.allows_host("127.0.0.1")
    assert not site.allows_host("evil.example")


def test_precedence_file_env_overrides(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text('RETENTION_DAYS = 30\nDEDUPE_WINDOW_SECONDS = 60\nFLUSH_INTERVAL_MS = 100\n')
    env = {"SHARE_SERVICE_CONFIG": str(cfg), "SHARE_SERVICE_DEDUPE_WINDOW_SECONDS": "120"}
    settings = load_settings({"FLUSH_INTERVAL_MS": 10}, environ=env)
    assert settings["RETENTION_DAYS"] == 30          # file beats default
    assert settings["DEDUPE_WINDOW_SECONDS"] == 120  # environment beats file
    assert settings["FLUSH_INTERVAL_MS"] == 10       # overrides beat environment


def test_allowed_hosts_from_environment():
    env = {"SHARE_SERVICE_ALLOWED_HOSTS": "www.lequotidien.example, lequotidien.example"}
    site = load_settings(environ=env)["SITES"]["default"]
    assert site.allowed_hosts == ("www.lequotidien.example", "lequotidien.example")


def test_example_settings_file_loads():
    settings = load_settings(environ={"SHARE_SERVICE_CONFIG": "config/settings.example.toml"})
    site = settings["SITES"]["lequotidien"]
    assert settings["DEFAULT_SITE"] == "lequotidien"
    assert site.twitter_via == "lequotidien" and "mastodon" in site.networks
    assert site.utm.campaign == "partage"


@pytest.mark.parametrize(
    "env",
    [
        {"SHARE_SERVICE_RETENTION_DAYS": "soon"},
        {"REDIS_URL": "http://nope"},
        {"SHARE_SERVICE_CONFIG": "/nonexistent.toml"},
    ],
)
def test_bad_configuration_is_refused_clearly(env):
    with pytest.raises(ConfigError):
        load_settings(environ=env)


def test_unknown_route_gets_json_error(client):
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_health_reports_redis(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "redis": "ok"}


def test_no_cookie_for_readers(client):
    response = client.get("/healthz")
    assert "Set-Cookie" not in response.headers
