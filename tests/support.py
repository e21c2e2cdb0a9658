"""What several test modules share (plain values and functions; fixtures live in conftest.py)."""

from __future__ import annotations

# A reader's browser. The service does not count bots, and headless Chromium announces itself as
# HeadlessChrome (on the crawler lists): browser tests and traffic helpers present this agent.
BROWSER_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")


def flush_recorder(app) -> int:
    """Write the app's buffered events now (the write-behind flush, synchronous); returns how
    many were counted. Tests use the ``flush`` fixture; helpers given an app call this."""
    return app.extensions["recorder"].flush()
