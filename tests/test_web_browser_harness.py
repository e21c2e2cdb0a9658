"""The browser harness itself: the real Chromium loads a page from the live server."""

import pytest

pytestmark = pytest.mark.browser


def test_chromium_reads_service_health(live_server, page):
    page.goto(live_server.url + "/healthz")
    assert '"redis":"ok"' in page.content().replace(" ", "")
