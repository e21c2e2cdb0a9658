"""The browser harness itself: the real Chromium loads a page from the live server."""

import pytest

pytestmark = pytest.mark.browser


def test_chromium_reads_service_readiness(live_server, page):
    page.goto(live_server.url + "/readyz")
    assert '"redis":"ok"' in page.content().replace(" ", "")
