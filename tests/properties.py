"""What every answer of the service must satisfy, whatever the request (the property tests'
oracle), and :class:`Probe`, which sends one request between two readings of Redis's change
counter so that a refused request can be shown to have written nothing.

The properties:

* never a 5xx (Redis is up in these tests: not even the 503);
* every 4xx carries the one JSON error shape ``{"error": {"code", "message"}}`` served as
  ``application/json`` — or, for the dashboard's pages asked by a browser, an HTML page;
* JSON is always served as ``application/json``, never as ``text/html``;
* no marker (:data:`strategies.DANGEROUS`) comes back raw in a body that is not JSON, and none in
  any header; no header value holds a line break;
* redirects: the caller says where a Location may point (the network's registry endpoint for
  ``/s/<network>``; a local path elsewhere);
* a refused request (4xx) writes nothing to Redis: the server's change counter
  (``rdb_changes_since_last_save``, which counts every write) is the same before and after, the
  write-behind recorder flushed in between.
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from strategies import DANGEROUS
from support import BROWSER_UA, flush_recorder

from share_service.counting import clock
from share_service.sharing import networks


def redis_changes(redis) -> int:
    """Writes since the last save: the test server never saves, so this only grows."""
    return int(redis.info("persistence")["rdb_changes_since_last_save"])


@dataclass
class Answer:
    """An answer, whichever client got it (werkzeug's test client or schemathesis)."""

    status: int
    headers: list[tuple[str, str]]
    mimetype: str
    text: str


def answer(response) -> Answer:
    if hasattr(response, "get_data"):  # werkzeug
        data, headers = response.get_data(), list(response.headers.items())
    else:  # schemathesis.Response: lower-case names, lists of values
        data = response.content
        headers = [(name, value) for name, values in response.headers.items() for value in values]
    named = {name.lower(): value for name, value in headers}
    if named.get("content-encoding") == "gzip":
        data = gzip.decompress(data)
    mimetype = named.get("content-type", "").split(";")[0].strip().lower()
    return Answer(response.status_code, headers, mimetype, data.decode("utf-8", "replace"))


def body_text(response) -> str:
    return answer(response).text


def check_answer(response, *, html_errors: bool = False) -> None:
    """The properties every answer has (see the module docstring)."""
    got = answer(response)
    status, text = got.status, got.text
    assert status < 500, f"{status}: {text[:500]}"
    for name, value in got.headers:
        assert "\r" not in value and "\n" not in value, (name, value)
        for marker in DANGEROUS:
            assert marker not in value, f"header {name} reflects {marker!r}: {value[:200]}"
    if got.mimetype == "application/json":
        if text:
            json.loads(text)
    else:
        for marker in DANGEROUS:
            assert marker not in text, f"{got.mimetype} body reflects {marker!r}"
        if text.lstrip().startswith(("{", "[")) and got.mimetype == "text/html":
            raise AssertionError("JSON served as text/html")
    if 400 <= status < 500:
        if html_errors:
            assert got.mimetype == "text/html", (status, got.mimetype, text[:200])
        else:
            assert got.mimetype == "application/json", (status, got.mimetype, text[:200])
            error = json.loads(text)["error"]
            assert isinstance(error["code"], str) and error["code"], error
            assert isinstance(error["message"], str) and error["message"], error


def check_local_redirect(response) -> None:
    """A redirect of the dashboard or the login page stays on this service."""
    if 300 <= response.status_code < 400:
        location = response.headers["Location"]
        parts = urlsplit(location)
        assert not parts.scheme and not parts.netloc, location
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location


def check_network_redirect(response, network: str) -> None:
    """A tracked redirect only ever points at that network's share endpoint (scheme, host and
    path of the registry's entry)."""
    if 300 <= response.status_code < 400:
        assert response.status_code == 302
        net = networks.get(network)
        assert net is not None, f"redirected for unknown network {network!r}"
        got, want = urlsplit(response.headers["Location"]), urlsplit(net.endpoint)
        assert (got.scheme, got.netloc, got.path) == (want.scheme, want.netloc, want.path), got


class Probe:
    """Sends requests to ``app`` and checks the properties of each answer."""

    def __init__(self, app, redis, client=None):
        self.app = app
        self.redis = redis
        self.client = client or app.test_client()
        self._prime_salts()

    def _prime_salts(self) -> None:
        """The recorder's thread fetches (creates) the daily visitor salts of today and
        tomorrow by itself, whenever it first runs: housekeeping no request asked for. Fetch
        them now, so that the change counter only moves for the requests' own writes."""
        recorder = self.app.extensions["recorder"]
        now = time.time()
        for site in self.app.config["SITES"].values():
            for ts in (now, now + 3600, now + 86400):
                recorder.salts.fetch(self.redis, clock.day(site.timezone, ts))

    def request(self, method: str, path: str, *, query: str = "", headers=None, data=None,
                content_type: str | None = None, html_errors: bool = False,
                writes_on_refusal: bool = False, client=None):
        """One request; its answer checked. Unless ``writes_on_refusal`` (pages whose session
        is refreshed on every request), a 4xx must not have changed anything in Redis."""
        sent = {"User-Agent": BROWSER_UA}
        sent.update(headers or {})
        return self.checked(lambda: (client or self.client).open(
            path, method=method, query_string=query, headers=sent, data=data,
            content_type=content_type), html_errors=html_errors,
            writes_on_refusal=writes_on_refusal)

    def checked(self, send, *, html_errors: bool = False, writes_on_refusal: bool = False):
        """``send()`` (a request by any client) between two readings of Redis's change
        counter; its answer checked."""
        flush_recorder(self.app)
        before = redis_changes(self.redis)
        response = send()
        check_answer(response, html_errors=html_errors)
        if 400 <= response.status_code < 500 and not writes_on_refusal:
            flush_recorder(self.app)
            after = redis_changes(self.redis)
            assert after == before, (
                f"a refused request ({response.status_code} {body_text(response)[:200]}) "
                f"wrote {after - before} change(s) to Redis")
        return response
