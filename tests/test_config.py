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
    cfg.write_text('COUNTING_RETENTION_DAYS = 30\nCOUNTING_DEDUPE_WINDOW_SECONDS = 60\nCOUNTING_FLUSH_INTERVAL_MS = 100\n')
    env = {"SHARE_SERVICE_CONFIG": str(cfg), "SHARE_SERVICE_COUNTING_DEDUPE_WINDOW_SECONDS": "120"}
    settings = load_settings({"COUNTING_FLUSH_INTERVAL_MS": 10}, environ=env)
    assert settings["COUNTING_RETENTION_DAYS"] == 30          # file beats default
    assert settings["COUNTING_DEDUPE_WINDOW_SECONDS"] == 120  # environment beats file
    assert settings["COUNTING_FLUSH_INTERVAL_MS"] == 10       # overrides beat environment


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
        {"SHARE_SERVICE_COUNTING_RETENTION_DAYS": "soon"},
        {"REDIS_URL": "http://nope"},
        {"SHARE_SERVICE_CONFIG": "/nonexistent.toml"},
    ],
)
def test_bad_configuration_is_refused_clearly(env):
    with pytest.raises(ConfigError):
        load_settings(environ=env)


def test_redis_cluster_nodes_from_the_environment_and_the_settings_file(tmp_path):
    env = {"REDIS_CLUSTER_NODES": "10.0.0.1:7000, 10.0.0.2:7000,[::1]:7001"}
    assert load_settings(environ=env)["REDIS_CLUSTER_NODES"] == [
        "10.0.0.1:7000", "10.0.0.2:7000", "[::1]:7001"]
    cfg = tmp_path / "s.toml"
    cfg.write_text('REDIS_CLUSTER_NODES = "redis-a:6379,redis-b:6379"\n')
    assert load_settings(environ={"SHARE_SERVICE_CONFIG": str(cfg)})["REDIS_CLUSTER_NODES"] == [
        "redis-a:6379", "redis-b:6379"]


@pytest.mark.parametrize("nodes", ["redis-a", "redis-a:http", "redis-a:99999", "http://redis-a:1",
                                   "rediss://redis-a:6379/2", ":6379"])
def test_bad_redis_cluster_nodes_are_refused(nodes):
    with pytest.raises(ConfigError, match="REDIS_CLUSTER_NODES"):
        load_settings(environ={"REDIS_CLUSTER_NODES": nodes})


def test_cluster_node_urls_carry_tls_and_credentials():
    from redis.connection import SSLConnection

    from share_service.storage.client import parse_nodes

    nodes, options = parse_nodes(["rediss://app:s3cret@clustercfg.example:6380?ssl_cert_reqs=none",
                                  "node-2.example:6380"])
    assert nodes == [("clustercfg.example", 6380), ("node-2.example", 6380)]
    assert options["username"] == "app" and options["password"] == "s3cret"
    assert options["connection_class"] is SSLConnection and options["ssl_cert_reqs"] == "none"


def test_unknown_route_gets_json_error(client):
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_no_cookie_for_readers(client):
    response = client.get("/healthz")
    assert "Set-Cookie" not in response.headers


# --- one list of options: unknown, misspelt and renamed options -----------------------------------
def test_misspelt_option_in_the_settings_file_stops_start_up_naming_the_option(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text("COUNTING_RETENTON_DAYS = 30\n")
    with pytest.raises(ConfigError, match="COUNTING_RETENTON_DAYS.*did you mean "
                                          "COUNTING_RETENTION_DAYS"):
        load_settings(environ={"SHARE_SERVICE_CONFIG": str(cfg)})


def test_misspelt_site_option_stops_start_up(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text('[sites.blog]\nallowed_hosts = ["blog.example"]\nnetwroks = ["x"]\n'
                   '[sites.blog.utm]\ncampain = "partage"\n')
    with pytest.raises(ConfigError, match="sites.blog: unknown option 'netwroks'.*networks"):
        load_settings(environ={"SHARE_SERVICE_CONFIG": str(cfg)})
    cfg.write_text('[sites.blog]\nallowed_hosts = ["blog.example"]\n[sites.blog.utm]\n'
                   'campain = "partage"\n')
    with pytest.raises(ConfigError, match="sites.blog.utm: unknown option 'campain'.*campaign"):
        load_settings(environ={"SHARE_SERVICE_CONFIG": str(cfg)})


def test_unknown_environment_variable_is_logged_never_fatal(caplog):
    env = {"SHARE_SERVICE_COUNTING_RETENTON_DAYS": "3",          # a typo
           "SHARE_SERVICE_PORT": "tcp://10.0.0.7:80",            # injected by Kubernetes
           "SHARE_SERVICE_SERVICE_HOST": "10.0.0.7"}
    with caplog.at_level("WARNING", logger="share_service.config"):
        settings = load_settings(environ=env)
    assert settings["COUNTING_RETENTION_DAYS"] == 400  # the default: the typo changed nothing
    text = caplog.text
    assert "SHARE_SERVICE_COUNTING_RETENTON_DAYS" in text
    assert "did you mean SHARE_SERVICE_COUNTING_RETENTION_DAYS" in text
    assert "SHARE_SERVICE_PORT" in text and "SHARE_SERVICE_SERVICE_HOST" in text


def test_old_option_names_still_work_with_a_warning(tmp_path, caplog):
    cfg = tmp_path / "s.toml"
    cfg.write_text("RETENTION_DAYS = 30\n")
    env = {"SHARE_SERVICE_CONFIG": str(cfg), "SHARE_SERVICE_DEDUPE_WINDOW_SECONDS": "60"}
    with caplog.at_level("WARNING", logger="share_service.config"):
        settings = load_settings({"FLUSH_INTERVAL_MS": 10}, environ=env)
    assert settings["COUNTING_RETENTION_DAYS"] == 30
    assert settings["COUNTING_DEDUPE_WINDOW_SECONDS"] == 60
    assert settings["COUNTING_FLUSH_INTERVAL_MS"] == 10
    for old, new in (("RETENTION_DAYS", "COUNTING_RETENTION_DAYS"),
                     ("DEDUPE_WINDOW_SECONDS", "COUNTING_DEDUPE_WINDOW_SECONDS"),
                     ("FLUSH_INTERVAL_MS", "COUNTING_FLUSH_INTERVAL_MS")):
        assert f"option {old} is now called {new}" in caplog.text


def test_every_option_is_documented_beside_its_default():
    """config/defaults.toml is the only list of options: each one has a comment just above
    it (or on its line), so a newcomer reads what it does where it is set."""
    from share_service.config import DEFAULTS_FILE

    lines = DEFAULTS_FILE.read_text(encoding="utf-8").splitlines()
    undocumented = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "[")) or "=" not in stripped:
            continue
        above = lines[i - 1].strip() if i else ""
        # an option is documented by a comment on its line, just above, or above a run of
        # options sharing one comment
        j = i - 1
        while j >= 0 and lines[j].strip() and not lines[j].strip().startswith(("#", "[")):
            j -= 1
        if "#" not in line and not above.startswith("#") and not (
                j >= 0 and lines[j].strip().startswith("#")):
            undocumented.append(stripped.split("=")[0].strip())
    assert not undocumented


# --- browser origins (CORS, /embed framing) and the site's « Plus de contenu » default -----------
def test_cors_origins_for_the_default_site_from_the_environment(tmp_path):
    env = {"SHARE_SERVICE_CORS_ORIGINS": "https://Preprod.Example.fr/, http://dev.example.fr:3000"}
    site = load_settings(environ=env)["SITES"]["default"]
    origins = site.allowed_origins()
    # added to the derived ones (normalized), not instead of them
    assert "https://preprod.example.fr" in origins and "http://dev.example.fr:3000" in origins
    assert "http://localhost:*" in origins
    # with a settings file declaring sites: the default site gets them, the others do not
    cfg = tmp_path / "s.toml"
    cfg.write_text('DEFAULT_SITE = "lq"\n[sites.lq]\nallowed_hosts = ["www.lq.example"]\n'
                   'cors_origins = ["https://www.lq.example"]\n'
                   '[sites.blog]\nallowed_hosts = ["blog.lq.example"]\n')
    sites = load_settings(environ={**env, "SHARE_SERVICE_CONFIG": str(cfg)})["SITES"]
    assert sites["lq"].allowed_origins() == ("https://www.lq.example", "https://preprod.example.fr",
                                             "http://dev.example.fr:3000")
    assert "https://preprod.example.fr" not in sites["blog"].allowed_origins()


def test_loopback_hosts_accept_any_port_other_hosts_only_the_default_ones():
    site = load_settings({"ALLOWED_HOSTS": ["localhost", "::1", "www.lq.example", "*.lq.example"]},
                         environ={})["SITES"]["default"]
    assert site.allowed_origins() == (
        "https://localhost:*", "http://localhost:*", "https://[::1]:*", "http://[::1]:*",
        "https://www.lq.example", "http://www.lq.example")


@pytest.mark.parametrize("origin", ["https://www.example.fr/path", "www.example.fr",
                                    "ftp://www.example.fr", "https://*.example.fr",
                                    "https://www.example.fr:port", "javascript:alert(1)", ""])
def test_a_malformed_origin_stops_start_up(origin):
    with pytest.raises(ConfigError, match="is not an origin"):
        load_settings({"CORS_ORIGINS": [origin]}, environ={})
    with pytest.raises(ConfigError, match="is not an origin"):
        load_settings({"SITES": {"s": {"allowed_hosts": ["a.example"], "cors_origins": [origin]}}},
                      environ={})


def test_the_sites_more_default_is_4_and_must_be_a_whole_number():
    assert load_settings(environ={})["SITES"]["default"].more == 4
    sites = load_settings({"SITES": {"s": {"allowed_hosts": ["a.example"],
                                           "recommendations": {"more": 0}}}}, environ={})["SITES"]
    assert sites["s"].more == 0
    for bad in (-1, "4", True, 2.5):
        with pytest.raises(ConfigError, match="recommendations.more"):
            load_settings({"SITES": {"s": {"allowed_hosts": ["a.example"],
                                           "recommendations": {"more": bad}}}}, environ={})
    # above RECOMMEND_MAX_LIMIT is not an error: pages get at most that many (bounded)
    assert load_settings({"RECOMMEND_MAX_LIMIT": 3}, environ={})["SITES"]["default"].more == 4


def test_recommendation_weights_are_site_settings_checked_at_start_up(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text('[sites.a]\nallowed_hosts = ["a.example"]\n'
                   '[sites.a.recommendations.weights]\nsemantic = 0.5\ntags = 0.3\n'
                   '[sites.b]\nallowed_hosts = ["b.example"]\n')
    sites = load_settings(environ={"SHARE_SERVICE_CONFIG": str(cfg)})["SITES"]
    assert (sites["a"].weights.semantic, sites["a"].weights.tags) == (0.5, 0.3)
    assert sites["a"].weights.content == sites["b"].weights.content == 0.09   # the default
    assert sites["b"].weights.semantic == 0.85
    for table, message in (("semantik = 0.5", "did you mean semantic"),
                           ("tags = -1", "must not be negative"),
                           ("recency = 0.6\npopularity = 0.6", "must not exceed 1"),
                           ("content = 0\ntags = 0\nsection = 0", "cannot all be 0")):
        cfg.write_text('[sites.a]\nallowed_hosts = ["a.example"]\n'
                       f'[sites.a.recommendations.weights]\n{table}\n')
        with pytest.raises(ConfigError, match=message):
            load_settings(environ={"SHARE_SERVICE_CONFIG": str(cfg)})


def test_rate_limits_from_the_environment():
    settings = load_settings(environ={"RATELIMIT_ENABLED": "0",
                                      "SHARE_SERVICE_RATELIMIT_EVENTS": "10 per second",
                                      "SHARE_SERVICE_RATELIMIT_REDIRECTS": "30/minute;500/hour"})
    assert settings["RATELIMIT_ENABLED"] is False
    assert settings["RATELIMIT_EVENTS"] == "10 per second"
    assert settings["RATELIMIT_REDIRECTS"] == "30/minute;500/hour"
    assert load_settings(environ={})["RATELIMIT_ENABLED"] is True


@pytest.mark.parametrize("option, value", [
    ("RATELIMIT_EVENTS", "lots"), ("RATELIMIT_REDIRECTS", "60/fortnight"),
    ("METRICS_ALLOW", ["10.0.0.0/33"]), ("LOG_FORMAT", "xml"),
])
def test_bad_resilience_options_stop_start_up(option, value):
    with pytest.raises(ConfigError, match=option):
        load_settings({option: value}, environ={})
