"""Site-local calendar labels (day ``YYYYMMDD``, hour ``YYYYMMDDHH``) for unix timestamps, cached.

Every real time zone's offset is a multiple of 15 minutes, so all instants of one 15-minute UTC
bucket share the same local day and hour: the answer is cached per (zone, bucket).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

BUCKET = 900


@lru_cache(maxsize=4096)
def _labels(timezone: str, bucket: int) -> tuple[str, str]:
    local = datetime.fromtimestamp(bucket * BUCKET, ZoneInfo(timezone))
    hour = local.strftime("%Y%m%d%H")
    return hour[:8], hour


def day_hour(timezone: str, ts: float) -> tuple[str, str]:
    """(local day, local hour) of ``ts`` in ``timezone``."""
    return _labels(timezone, int(ts // BUCKET))


def day(timezone: str, ts: float) -> str:
    return _labels(timezone, int(ts // BUCKET))[0]
