"""The fetcher as a security boundary (SSRF): with CATALOGUE_FETCH_ALLOW_PRIVATE off, nothing internal is
ever connected to — directly, through a redirect, or through a name resolving to an internal
address; only the site's hosts; bounded bodies; the vetted address is the one connected to."""

from __future__ import annotations

import pytest
from catalogue_server import CatalogueServer

from share_service.catalogue.fetcher import Fetcher, FetchError, address_refusal, system_resolver
from share_service.config import load_settings

PUBLIC_NAME = "www.lequotidien.example"


@pytest.fixture(scope="module")
def server():
    srv = CatalogueServer()
    yield srv
    srv.stop()


def make(allow_private=False, resolver=None, **extra):
    settings = load_settings({"CATALOGUE_FETCH_ALLOW_PRIVATE": allow_private,
                              "ALLOWED_HOSTS": ["127.0.0.1", "localhost", PUBLIC_NAME],
                              "CATALOGUE_FETCH_READ_TIMEOUT": 2.0, **extra})
    return Fetcher(settings["SITES"]["default"], settings, resolver=resolver)


class TrustedTestHost(Fetcher):
    """Treats PUBLIC_NAME (pinned to the local test server) as a public host; every other
    address still goes through the real policy. This lets a test reach a first hop and watch
    the fetcher refuse where the redirect points."""

    def refusal(self, host, address):
        if host == PUBLIC_NAME:
            return None
        return super().refusal(host, address)


def trusted(extra_hosts=(), **extra):
    settings = load_settings({"CATALOGUE_FETCH_ALLOW_PRIVATE": False, **extra,
                              "ALLOWED_HOSTS": ["127.0.0.1", "localhost", PUBLIC_NAME,
                                                *extra_hosts]})
    return TrustedTestHost(settings["SITES"]["default"], settings,
                           resolver=lambda host, port: ["127.0.0.1"] if host == PUBLIC_NAME
                           else system_resolver(host, port))


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "private_address"), ("127.8.9.10", "private_address"),
    ("::1", "private_address"), ("10.1.2.3", "private_address"),
    ("172.16.5.4", "private_address"), ("192.168.1.1", "private_address"),
    ("169.254.10.10", "private_address"), ("100.64.0.1", "private_address"),
    ("0.0.0.0", "private_address"), ("224.0.0.1", "private_address"),
    ("240.0.0.1", "private_address"), ("fe80::1", "private_address"),
    ("fc00::1", "private_address"), ("ff02::1", "private_address"),
    ("::ffff:127.0.0.1", "private_address"), ("::ffff:10.0.0.1", "private_address"),
    ("64:ff9b::a00:1", "private_address"), ("2002:7f00:1::", "private_address"),
    ("169.254.169.254", "metadata_address"), ("fd00:ec2::254", "metadata_address"),
    ("::ffff:169.254.169.254", "metadata_address"),
    ("93.184.215.14", None), ("2606:4700::6810:84e5", None),
])
def test_address_policy(address, reason):
    assert address_refusal(address, allow_private=False) == reason


def test_metadata_refused_even_when_private_allowed():
    assert address_refusal("169.254.169.254", allow_private=True) == "metadata_address"
    assert address_refusal("fd00:ec2::254", allow_private=True) == "metadata_address"
    assert address_refusal("127.0.0.1", allow_private=True) is None


def test_loopback_literal_refused_without_a_request(server):
    before = len(server.requests)
    with pytest.raises(FetchError) as err:
        make().get(server.url("/rss.xml"))
    assert err.value.reason == "private_address"
    assert len(server.requests) == before


def test_name_resolving_to_loopback_refused(server):
    with pytest.raises(FetchError) as err:
        make().get(f"http://localhost:{server.port}/rss.xml")
    assert err.value.reason == "private_address"


@pytest.mark.parametrize("answers, reason", [
    (["10.0.0.5"], "private_address"),
    (["169.254.169.254"], "metadata_address"),
    (["::ffff:127.0.0.1"], "private_address"),
    (["93.184.215.14", "192.168.0.10"], "private_address"),  # one bad answer is enough
])
def test_public_name_resolving_to_internal_address_refused(server, answers, reason):
    before = len(server.requests)
    fetcher = make(resolver=lambda host, port: answers)
    with pytest.raises(FetchError) as err:
        fetcher.get(f"http://{PUBLIC_NAME}:{server.port}/rss.xml")
    assert err.value.reason == reason
    assert len(server.requests) == before


def test_host_not_allowed_for_site():
    with pytest.raises(FetchError) as err:
        make(allow_private=True).get("http://evil.example/feed.xml")
    assert err.value.reason == "host_not_allowed"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd",
                                 "http://user:pw@127.0.0.1/x", "gopher://127.0.0.1/"])
def test_bad_urls(url):
    with pytest.raises(FetchError) as err:
        make(allow_private=True).get(url)
    assert err.value.reason in ("bad_url",)


def test_connects_to_the_vetted_address_with_the_real_host_header(server):
    """The resolver's answer is pinned: example.test names never resolve through DNS, yet the
    request reaches the local server, with Host and User-Agent intact."""
    calls = []

    def resolver(host, port):
        calls.append(host)
        return ["127.0.0.1"]

    result = make(allow_private=True, resolver=resolver).get(
        f"http://{PUBLIC_NAME}:{server.port}/atom.xml")
    assert result.status == 200 and b"<feed" in result.body
    headers = server.hits("/atom.xml")[-1]
    assert headers["Host"] == f"{PUBLIC_NAME}:{server.port}"
    assert headers["User-Agent"].startswith("share_service-fetcher/")
    assert calls == [PUBLIC_NAME]


def test_redirect_to_loopback_refused(server):
    fetcher = trusted()
    # the first hop is allowed (trusted test host)...
    ok = fetcher.get(f"http://{PUBLIC_NAME}:{server.port}/atom.xml")
    assert ok.status == 200
    before = len(server.requests)
    # ...but where it redirects is checked again: loopback literal, then a loopback name
    for target in (f"http://127.0.0.1:{server.port}/atom.xml",
                   f"http://localhost:{server.port}/atom.xml"):
        with pytest.raises(FetchError) as err:
            fetcher.get(f"http://{PUBLIC_NAME}:{server.port}/redirect?to={target}")
        assert err.value.reason == "private_address"
    assert [p for p, _ in server.requests[before:]] == ["/redirect", "/redirect"]


def test_redirect_to_metadata_and_foreign_hosts_refused(server):
    fetcher = trusted(extra_hosts=["169.254.169.254"])  # even a site listing it cannot reach it
    with pytest.raises(FetchError) as err:
        fetcher.get(f"http://{PUBLIC_NAME}:{server.port}/redirect?to=http://169.254.169.254/latest/")
    assert err.value.reason == "metadata_address"
    with pytest.raises(FetchError) as err:
        fetcher.get(f"http://{PUBLIC_NAME}:{server.port}/redirect?to=http://evil.example/")
    assert err.value.reason == "host_not_allowed"


def test_redirect_limit(server):
    fetcher = make(allow_private=True, CATALOGUE_FETCH_MAX_REDIRECTS=2)
    base = server.url("/redirect?to=")
    one = server.url("/atom.xml")
    assert fetcher.get(base + one).status == 200
    from urllib.parse import quote

    three = base + quote(base + quote(base + quote(one, safe=""), safe=""), safe="")
    with pytest.raises(FetchError) as err:
        fetcher.get(three)
    assert err.value.reason == "too_many_redirects"


def test_oversize_body(server):
    with pytest.raises(FetchError) as err:
        make(allow_private=True, CATALOGUE_FETCH_MAX_BYTES=1000).get(server.url("/rss.xml"))
    assert err.value.reason == "too_large"
    assert make(allow_private=True, CATALOGUE_FETCH_MAX_BYTES=65536).get(server.url("/rss.xml")).body


def test_conditional_get(server):
    fetcher = make(allow_private=True)
    first = fetcher.get(server.url("/atom.xml"))
    assert first.etag and first.last_modified
    second = fetcher.get(server.url("/atom.xml"), etag=first.etag,
                         last_modified=first.last_modified)
    assert second.not_modified and second.body == b""
    sent = server.hits("/atom.xml")[-1]
    assert sent["If-None-Match"] == first.etag
    assert sent["If-Modified-Since"] == first.last_modified
