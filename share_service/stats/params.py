"""Parameters of the stats queries: ranges of local dates, presets, network, limit. No Flask.

Ranges are inclusive local dates (``from``/``to``, ISO ``YYYY-MM-DD``) in the site's time zone;
the previous period is the same number of days just before ``from``. Bad values raise ApiError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..errors import ApiError
from ..sharing import networks

MAX_RANGE_DAYS = 400
DEFAULT_DAYS = 30
MAX_LIMIT = 100
MIN_YEAR, MAX_YEAR = 2000, 2100
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")


# --- ranges ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Range:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def previous(self) -> Range:
        return Range(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def as_dict(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "days": self.days}


def today(site, now: datetime | None = None) -> date:
    now = now or datetime.now(site.tz)
    return now.astimezone(site.tz).date()


def _parse_date(value: str, name: str) -> date:
    if not _DATE_RE.match(value or ""):
        raise ApiError("bad_date", f"'{name}' must be an ISO date YYYY-MM-DD.")
    try:
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError("bad_date", f"'{name}' is not a valid date: {value}.") from exc
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ApiError("bad_date", f"'{name}' must lie between {MIN_YEAR} and {MAX_YEAR}.")
    return parsed


def parse_range(site, raw_from: str | None, raw_to: str | None, now: datetime | None = None,
                max_days: int = MAX_RANGE_DAYS) -> Range:
    """The inclusive local range from the query; defaults: the last 30 days up to today."""
    end = _parse_date(raw_to, "to") if raw_to else today(site, now)
    start = (_parse_date(raw_from, "from") if raw_from
             else end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise ApiError("bad_range", "'from' must not be after 'to'.")
    if (end - start).days + 1 > max_days:
        raise ApiError("range_too_long", f"A range covers at most {max_days} days.")
    return Range(start, end)


def preset_range(site, preset: str, now: datetime | None = None) -> Range:
    """Dashboard presets: today, 7d, 30d, 90d (ending today)."""
    end = today(site, now)
    days = {"today": 1, "7d": 7, "30d": 30, "90d": 90}.get(preset)
    if days is None:
        raise ApiError("bad_range", f"Unknown period {preset!r}.")
    return Range(end - timedelta(days=days - 1), end)


def parse_network(raw: str | None) -> str | None:
    """The registry id of the ``network`` filter, or None for all networks."""
    return networks.require(raw) if raw else None


def parse_limit(raw: str | None, default: int = 10) -> int:
    if raw is None:  # an empty limit= is no number: 400 like any other
        return default
    if not (raw.isascii() and raw.isdigit()):  # int() would also take ' 5', '+5', '٣'
        raise ApiError("bad_limit", "'limit' must be an integer.")
    limit = int(raw)
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError("bad_limit", f"'limit' must be between 1 and {MAX_LIMIT}.")
    return limit


def day_id(d: date) -> str:
    return d.strftime("%Y%m%d")
