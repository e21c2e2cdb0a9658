"""Property-based tests (hypothesis) of the dashboard, its admin pages and the login page, as a
logged-in admin (a real account and session) and as a stranger: whatever the filters, forms and
``next`` say, no 5xx, errors are HTML pages (a browser asks for HTML), nothing sent comes back
unescaped, and every redirect stays on this service (no open redirect through ``next``).

Sessions are refreshed by every page, so the "a refusal writes nothing" property of the API
tests does not apply here. The properties are in ``properties.py``, the strategies in
``strategies.py``.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from properties import Probe, body_text, check_local_redirect
from stats_helpers import csrf_of, login
from strategies import (
    DATES,
    HEADER_VALUES,
    LANGS,
    MARKERS,
    NETWORKS,
    NUMBERS,
    SITES,
    URLS,
    hostile_text,
    query_strings,
    text_param,
)

from share_service.accounts import api_keys, users
from share_service.web.guards import safe_next

HTML = {"Accept": "text/html,application/xhtml+xml"}
FILTERS = {
    "site": SITES, "period": text_param(st.sampled_from(["today", "7d", "30d", "90d", "custom"])),
    "from": DATES, "to": DATES, "network": NETWORKS, "lang": LANGS, "url": URLS,
}
NEXT = st.one_of(
    st.sampled_from(["/dashboard", "/dashboard?period=7d", "/admin/users"]),
    st.sampled_from(["//evil.example/", "/\\evil.example", "\\\\evil.example", "https://evil.example/",
                     "javascript:alert(1)", "/%2F%2Fevil.example", "/\t/evil.example",
                     "/\r\n/evil.example", "http:evil.example", "/ /evil.example"]),
    hostile_text(),
)
EMAIL = "admin@exemple.fr"
PASSWORD = "s3cret-pass"


@pytest.fixture
def admin(make_app, redis):
    """An app whose login limit does not get in the way of many logins, an admin account, and
    a probe with that admin's logged-in client."""
    app = make_app({"ACCOUNTS_LOGIN_MAX_ATTEMPTS": 100000})
    users.create_user(redis, EMAIL, PASSWORD, "admin")
    client = app.test_client()
    assert login(client, EMAIL, PASSWORD).status_code == 303
    return Probe(app, redis, client)


def page(probe, path, query="", client=None, **extra):
    response = probe.request("GET", path, query=query, headers={**HTML, **extra},
                             html_errors=True, writes_on_refusal=True, client=client)
    check_local_redirect(response)
    return response


@given(path=st.sampled_from(["/dashboard", "/dashboard/article", "/admin/users", "/admin/keys",
                             "/admin/sites"]),
       query=query_strings(FILTERS))
@example(path="/dashboard", query="period=custom&from=2026-01-01&to=" + quote(MARKERS[1]))
def test_dashboard_pages(admin, path, query):
    response = page(admin, path, query)
    assert response.status_code in (200, 400, 403, 404)
    assert response.mimetype == "text/html"


@given(path=st.sampled_from(["/dashboard", "/dashboard/article", "/admin/users", "/admin/keys",
                             "/admin/sites", "/login", "/logout"]),
       query=query_strings({**FILTERS, "next": NEXT}), cookie=st.one_of(st.none(), HEADER_VALUES))
def test_pages_for_strangers(probe, path, query, cookie):
    """Without a session (or with a forged cookie): the login page or a redirect to it."""
    headers = {"Cookie": f"ss_session={cookie}"} if cookie is not None else {}
    response = page(probe, path, query, **headers)
    assert response.status_code in (200, 302, 400, 404, 405)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login?next=")


@pytest.fixture
def probe(app, redis):
    return Probe(app, redis)


@given(next_=NEXT)
def test_safe_next_is_a_local_path_or_nothing(next_):
    target = safe_next(next_)
    if target is not None:
        assert target.startswith("/") and not target.startswith(("//", "/\\"))
        assert "\\" not in target and not any(ord(c) < 32 for c in target)


# Each example verifies a password (argon2, deliberately slow): a quarter of the profile's count.
@settings(max_examples=max(25, settings.default.max_examples // 4))
@given(next_=NEXT, password=st.sampled_from([PASSWORD, PASSWORD, "wrong"]),
       email=st.one_of(st.just(EMAIL), hostile_text()), lang=st.one_of(st.none(), LANGS))
@example(next_="//evil.example/", password=PASSWORD, email=EMAIL, lang=None)
@example(next_="/\\evil.example", password=PASSWORD, email=EMAIL, lang=None)
def test_login_never_redirects_elsewhere(admin, next_, password, email, lang):
    client = admin.app.test_client()
    query = "" if lang is None else "lang=" + quote(lang, safe="")
    form = page(admin, "/login", query + "&next=" + quote(next_, safe=""), client=client)
    assert form.status_code == 200
    response = admin.request("POST", "/login", query=query, headers=HTML, html_errors=True,
                             writes_on_refusal=True, client=client, data={
                                 "email": email, "password": password, "next": next_,
                                 "csrf_token": csrf_of(body_text(form))})
    check_local_redirect(response)
    assert response.status_code in (303, 401, 413, 429)
    if email == EMAIL and password == PASSWORD:
        assert response.status_code == 303


USER_FORM = {
    "action": text_param(st.sampled_from(["create", "delete"])),
    "email": text_param(st.sampled_from(["marie@exemple.fr", EMAIL])),
    "password": text_param(st.just("correct horse battery")),
    "role": text_param(st.sampled_from(["viewer", "admin"])),
    "site": SITES,
}
KEY_FORM = {
    "action": text_param(st.sampled_from(["create", "revoke"])),
    "name": text_param(st.just("partenaire")), "role": text_param(st.just("viewer")),
    "expires": text_param(NUMBERS), "id": hostile_text(), "site": SITES,
}


@given(path_form=st.sampled_from([("/admin/users", USER_FORM), ("/admin/keys", KEY_FORM)]),
       data=st.data(), csrf=st.sampled_from(["valid", "valid", "valid", "missing", "wrong"]))
def test_admin_forms(admin, path_form, data, csrf):
    path, fields = path_form
    form = {name: data.draw(strategy, label=name) for name, strategy in fields.items()
            if data.draw(st.booleans(), label=f"send {name}")}
    if csrf != "missing":
        token = csrf_of(body_text(page(admin, path)))
        form["csrf_token"] = token if csrf == "valid" else token[::-1]
    response = admin.request("POST", path, headers=HTML, data=form, html_errors=True,
                             writes_on_refusal=True)
    check_local_redirect(response)
    assert response.status_code in (200, 303) or 400 <= response.status_code < 500
    if csrf != "valid" and response.status_code != 413:
        assert response.status_code == 400


@pytest.mark.parametrize("expires", ["inf", "nan", "1e309", "-1", "0", "36501"])
def test_a_key_expiry_out_of_range_is_refused(admin, redis, expires):
    """Found by the long profile: float("inf") days made the key's expiry overflow (500)."""
    token = csrf_of(body_text(page(admin, "/admin/keys")))
    response = admin.request("POST", "/admin/keys", headers=HTML, html_errors=True,
                             writes_on_refusal=True, data={
                                 "name": "partenaire", "role": "viewer", "expires": expires,
                                 "csrf_token": token})
    assert response.status_code == 400
    assert "36500" in body_text(response)
    assert [k["name"] for k in api_keys.list_api_keys(redis)] == []
