"""Parsers of fetched documents facing hostile content (found by the property tests' kind of
input): dates that are not numbers, JSON-LD nested deeper than the JSON parser can go."""

from __future__ import annotations

import pytest

from share_service.catalogue import parsers


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "²", "٣٣", "１"])
def test_dates_that_are_no_number_are_no_date(value):
    assert parsers.parse_date(value) is None


def test_dates_still_read():
    assert parsers.parse_date("1764547200") == 1764547200
    assert parsers.parse_date(1764547200.5) == 1764547200
    assert parsers.parse_date("2025-12-01T00:00:00Z") == 1764547200


def test_page_with_json_ld_nested_too_deep_keeps_its_other_metadata():
    deep = "[" * 100_000 + "]" * 100_000
    page = (f'<html lang="fr"><head><title>Les crues</title>'
            f'<script type="application/ld+json">{deep}</script>'
            f'<meta property="og:title" content="Crues : le plan"></head></html>').encode()
    meta = parsers.parse_page(page, "https://www.lequotidien.example/crues")
    assert meta["title"] == "Crues : le plan"
    assert meta["url"] == "https://www.lequotidien.example/crues"
