"""Access control against real Redis: users, sessions, CSRF, login limits, API keys, roles,
per-site scoping and the users / keys CLI."""

from __future__ import annotations

import re
import time

import pytest
from stats_helpers import csrf_of, login
from support import all_keys

from share_service.accounts import api_keys, login_limits, users
from share_service.storage import keyspace

pytestmark = pytest.mark.both_backends

SITES = {
    "quotidien": {"allowed_hosts": ["www.lequotidien.example"], "name": "Le Quotidien"},
    "sport": {"allowed_hosts": ["sport.example"], "name": "Sport"},
}
STATS_ROUTES = ["/api/v1/stats/summary", "/api/v1/stats/timeseries", "/api/v1/stats/top",
                "/api/v1/stats/article?url=https://www.lequotidien.example/a"]
PAGES = ["/dashboard", "/dashboard/article?url=https://www.lequotidien.example/a",
         "/admin/users", "/admin/keys", "/admin/sites"]


@pytest.fixture
def two_sites(make_app, redis):
    return make_app({"SITES": SITES, "DEFAULT_SITE": "quotidien"})


def session_cookie(client, app):
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


# --- anonymous ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", STATS_ROUTES + ["/api/v1/stats/sites"])
def test_anonymous_api_gets_401_json(client, path):
    resp = client.get(path)
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_pages_redirect_to_login(client, path):
    resp = client.get(path)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=")


def test_readers_never_get_a_session_cookie(client):
    client.get("/healthz")
    client.get("/api/v1/share?url=https://www.lequotidien.example/a")
    assert session_cookie(client, client.application) is None


# --- users and login ------------------------------------------------------------------------------
def test_password_is_stored_as_argon2_hash(redis):
    users.create_user(redis, "Marie@Exemple.fr", "correct horse", "viewer")
    stored = redis.hget(keyspace.user("marie@exemple.fr"), "password")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert users.verify_password(redis, "marie@exemple.fr", "correct horse")["email"] == "marie@exemple.fr"
    assert users.verify_password(redis, "marie@exemple.fr", "wrong horse") is None
    assert users.verify_password(redis, "nobody@exemple.fr", "correct horse") is None


def test_login_rotates_session_id_and_logout_deletes_it(app, client, redis):
    users.create_user(redis, "ed@exemple.fr", "s3cret-pass", "viewer")
    client.get("/login")
    before = session_cookie(client, app)
    assert before  # the pre-login session holding the CSRF token
    resp = login(client, "ed@exemple.fr", "s3cret-pass")
    assert resp.status_code == 303
    after = session_cookie(client, app)
    assert after and after != before
    # the planted (pre-login) id is dead: it gives no access
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], before)
    assert other.get("/dashboard").status_code == 302
    # the new id works, and the cookie is HttpOnly + SameSite=Lax
    assert client.get("/dashboard").status_code == 200
    set_cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    # the session is stored under a hash of the id, never the id itself
    assert not any(after in k for k in all_keys(redis, "*"))
    # logout
    page = client.get("/dashboard").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_of(page)}).status_code == 303
    assert all_keys(redis, keyspace.session("*")) == [] or all(
        "ed@exemple.fr" not in (redis.get(k) or "") for k in all_keys(redis, keyspace.session("*")))
    stale = app.test_client()
    stale.set_cookie(app.config["SESSION_COOKIE_NAME"], after)
    assert stale.get("/dashboard").status_code == 302


def test_secure_cookie_flag_follows_setting(make_app, redis):
    app = make_app({"SESSION_COOKIE_SECURE": True})
    resp = app.test_client().get("/login")
    assert "Secure" in resp.headers["Set-Cookie"]


def test_login_without_or_with_wrong_csrf_is_refused(client, redis):
    users.create_user(redis, "ed@exemple.fr", "s3cret-pass", "viewer")
    client.get("/login")
    no_token = client.post("/login", data={"email": "ed@exemple.fr", "password": "s3cret-pass"})
    assert no_token.status_code == 400
    wrong = client.post("/login", data={"email": "ed@exemple.fr", "password": "s3cret-pass",
                                        "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert client.get("/dashboard").status_code == 302  # still not logged in


def test_admin_forms_need_csrf(app, client, redis):
    users.create_user(redis, "boss@exemple.fr", "s3cret-pass", "admin")
    login(client, "boss@exemple.fr", "s3cret-pass")
    resp = client.post("/admin/users", data={"email": "new@exemple.fr", "password": "another-pass",
                                             "role": "viewer"})
    assert resp.status_code == 400
    assert users.get_user(redis, "new@exemple.fr") is None
    page = client.get("/admin/users").get_data(as_text=True)
    resp = client.post("/admin/users", data={"email": "new@exemple.fr", "password": "another-pass",
                                             "role": "viewer", "csrf_token": csrf_of(page)})
    assert resp.status_code == 303
    assert users.get_user(redis, "new@exemple.fr")["role"] == "viewer"


def test_wrong_password_and_rate_limit(make_app, redis):
    app = make_app({"ACCOUNTS_LOGIN_MAX_ATTEMPTS": 3})
    client = app.test_client()
    users.create_user(redis, "ed@exemple.fr", "s3cret-pass", "viewer")
    for _ in range(3):
        assert login(client, "ed@exemple.fr", "nope-nope").status_code == 401
    # the right password is now refused too, before any check, for 15 minutes
    blocked = login(client, "ed@exemple.fr", "s3cret-pass")
    assert blocked.status_code == 429
    assert client.get("/dashboard").status_code == 302
    # per address as well: another account from the same address is blocked
    users.create_user(redis, "zoe@exemple.fr", "s3cret-pass", "viewer")
    assert login(client, "zoe@exemple.fr", "s3cret-pass").status_code == 429
    # another address may still log in to an account that is not blocked
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert login(elsewhere, "zoe@exemple.fr", "s3cret-pass").status_code == 303
    # ... but not to the blocked account
    assert login(elsewhere, "ed@exemple.fr", "s3cret-pass").status_code == 429
    # counters expire after the window and hold no raw address or e-mail
    for key in all_keys(redis, keyspace.login_attempts("*", "*")):
        assert 0 < redis.ttl(key) <= login_limits.LOGIN_WINDOW_SECONDS
        assert "203.0.113" not in key and "ed@" not in key and "127.0.0.1" not in key


def test_login_next_is_never_another_host(client, redis):
    users.create_user(redis, "ed@exemple.fr", "s3cret-pass", "viewer")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        resp = login(client, "ed@exemple.fr", "s3cret-pass", next=target)
        assert resp.status_code == 303
        assert resp.headers["Location"] == "/dashboard"
    resp = login(client, "ed@exemple.fr", "s3cret-pass", next="/dashboard?period=7d")
    assert resp.headers["Location"] == "/dashboard?period=7d"


def test_deleted_user_loses_access_at_once(app, client, redis):
    users.create_user(redis, "ed@exemple.fr", "s3cret-pass", "viewer")
    login(client, "ed@exemple.fr", "s3cret-pass")
    assert client.get("/dashboard").status_code == 200
    assert users.delete_user(redis, "ed@exemple.fr")
    assert client.get("/dashboard").status_code == 302


# --- roles and sites ------------------------------------------------------------------------------
def test_viewer_of_one_site_sees_only_that_site(two_sites, redis):
    raw, _ = api_keys.create_api_key(redis, "partner", "viewer", ["quotidien"])
    c = two_sites.test_client()
    h = {"X-Api-Key": raw}
    for route in STATS_ROUTES:
        sep = "&" if "?" in route else "?"
        assert c.get(route + sep + "site=quotidien", headers=h).status_code == 200, route
        other = c.get(route + sep + "site=sport", headers=h)
        assert other.status_code == 403, route
        assert other.json["error"]["code"] == "forbidden"
    assert [s["id"] for s in c.get("/api/v1/stats/sites", headers=h).json["sites"]] == ["quotidien"]


def test_dashboard_user_scoped_to_one_site(two_sites, redis):
    users.create_user(redis, "sport@exemple.fr", "s3cret-pass", "viewer", ["sport"])
    c = two_sites.test_client()
    login(c, "sport@exemple.fr", "s3cret-pass")
    page = c.get("/dashboard")  # no site given: the first site this user may read
    assert page.status_code == 200 and "Sport" in page.get_data(as_text=True)
    assert c.get("/dashboard?site=quotidien").status_code == 403
    assert c.get("/dashboard?site=sport").status_code == 200
    # the stats API accepts the dashboard session, with the same scoping
    assert c.get("/api/v1/stats/summary?site=sport").status_code == 200
    assert c.get("/api/v1/stats/summary?site=quotidien").status_code == 403
    # viewers have no admin pages
    for path in ("/admin/users", "/admin/keys", "/admin/sites"):
        assert c.get(path).status_code == 403


def test_site_admin_is_not_a_global_admin(two_sites, redis):
    users.create_user(redis, "chef@exemple.fr", "s3cret-pass", "admin", ["sport"])
    c = two_sites.test_client()
    login(c, "chef@exemple.fr", "s3cret-pass")
    assert c.get("/admin/users").status_code == 403
    assert c.get("/admin/keys").status_code == 403
    page = c.get("/admin/sites").get_data(as_text=True)
    assert "sport.example" in page and "www.lequotidien.example" not in page


# --- API keys -----------------------------------------------------------------------------------
def test_api_key_hashed_expiring_revocable_last_used(client, redis):
    raw, record = api_keys.create_api_key(redis, "reporting", "viewer", expires_days=1)
    assert raw.startswith("ssk_") and len(raw) > 40
    assert not any(raw in k or raw in str(redis.hgetall(k)) for k in all_keys(redis, "*"))
    assert record["last_used"] is None
    resp = client.get("/api/v1/stats/summary", headers={"X-Api-Key": raw})
    assert resp.status_code == 200
    listed = {k["id"]: k for k in api_keys.list_api_keys(redis)}[record["id"]]
    assert listed["last_used"] is not None and abs(listed["last_used"] - time.time()) < 5
    # expired: the same key a day and a second later
    assert api_keys.authenticate_api_key(redis, raw, now=time.time() + 86401) is None
    # revoked
    assert api_keys.revoke_api_key(redis, record["id"]) == [record["id"]]
    resp = client.get("/api/v1/stats/summary", headers={"X-Api-Key": raw})
    assert resp.status_code == 401
    assert {k["id"]: k for k in api_keys.list_api_keys(redis)}[record["id"]]["status"] == "revoked"


def test_bad_keys_are_refused(client, redis):
    raw, _ = api_keys.create_api_key(redis, "ok", "viewer")
    for bad in ("nope", raw[:-1] + ("A" if raw[-1] != "A" else "B"), "ssk_" + "x" * 300):
        resp = client.get("/api/v1/stats/summary", headers={"X-Api-Key": bad})
        assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthorized"


def test_expired_key_through_the_api(client, redis):
    raw, record = api_keys.create_api_key(redis, "short", "viewer", expires_days=1)
    redis.hset(keyspace.api_key(redis.hget(keyspace.api_keys(), record["id"])), "expires",
               str(int(time.time()) - 1))
    assert client.get("/api/v1/stats/top", headers={"X-Api-Key": raw}).status_code == 401


# --- CLI ------------------------------------------------------------------------------------------
def test_cli_users(runner, redis):
    res = runner.invoke(args=["users", "create", "Ana@Exemple.fr", "--role", "admin",
                              "--password-stdin"], input="long-enough-pass\n")
    assert res.exit_code == 0, res.output
    assert users.verify_password(redis, "ana@exemple.fr", "long-enough-pass")
    res = runner.invoke(args=["users", "create", "bob@exemple.fr", "--role", "viewer",
                              "--site", "default"], input="pass-word-1\npass-word-1\n")
    assert res.exit_code == 0, res.output
    assert users.get_user(redis, "bob@exemple.fr")["sites"] == '["default"]'
    res = runner.invoke(args=["users", "create", "bob@exemple.fr", "--password-stdin"],
                        input="pass-word-1\n")
    assert res.exit_code != 0 and "already exists" in res.output
    res = runner.invoke(args=["users", "create", "x@exemple.fr", "--site", "nowhere",
                              "--password-stdin"], input="pass-word-1\n")
    assert res.exit_code != 0
    listing = runner.invoke(args=["users", "list"]).output
    assert "ana@exemple.fr\tadmin\t*" in listing and "bob@exemple.fr\tviewer\tdefault" in listing
    assert runner.invoke(args=["users", "delete", "bob@exemple.fr"]).exit_code == 0
    assert "bob@exemple.fr" not in runner.invoke(args=["users", "list"]).output
    assert runner.invoke(args=["users", "delete", "bob@exemple.fr"]).exit_code != 0


def test_cli_keys(runner, client, redis):
    res = runner.invoke(args=["keys", "create", "looker", "--role", "viewer", "--site", "default",
                              "--expires", "30"])
    assert res.exit_code == 0, res.output
    raw = res.output.strip().splitlines()[-1]
    assert re.fullmatch(r"ssk_[A-Za-z0-9_-]{43}", raw)
    assert client.get("/api/v1/stats/summary", headers={"X-Api-Key": raw}).status_code == 200
    listing = runner.invoke(args=["keys", "list"]).output
    assert "looker\tviewer\tdefault\tactive" in listing and raw not in listing
    key_id = listing.split("\t")[0]
    assert runner.invoke(args=["keys", "revoke", key_id]).exit_code == 0
    assert "looker\tviewer\tdefault\trevoked" in runner.invoke(args=["keys", "list"]).output
    assert client.get("/api/v1/stats/summary", headers={"X-Api-Key": raw}).status_code == 401
    assert runner.invoke(args=["keys", "revoke", "nothing-like-it"]).exit_code != 0
    res = runner.invoke(args=["keys", "create", "all-sites", "--role", "admin"])
    assert res.exit_code == 0 and "all sites" in res.output
