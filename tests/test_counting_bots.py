"""The fast bot filter gives crawlerdetect's answers, on a large varied sample."""

from __future__ import annotations

import re

import pytest
import ua_samples  # tests/ua_samples.py (tests/ is on sys.path under pytest)
from crawlerdetect.providers import crawlers

from share_service.counting import bots


@pytest.fixture(scope="module")
def sample():
    return ua_samples.sample()


def test_same_answers_as_crawlerdetect(sample):
    assert len(sample) > 10000
    mismatches = [ua for ua in sample if bots.is_bot(ua) != bots.reference_is_bot(ua)]
    assert mismatches == []
    # the sample really holds both kinds, in numbers
    answers = [bots.reference_is_bot(ua) for ua in sample]
    assert sum(answers) > 4000
    assert len(answers) - sum(answers) > 4000


def test_real_browsers_are_not_bots():
    for ua in [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (Linux; Android 9; cubot note 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 Mobile Safari/537.36",
    ]:
        assert bots.is_bot(ua) is False, ua


def test_known_crawlers_are_bots():
    for ua in [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Twitterbot/1.0",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    ]:
        assert bots.is_bot(ua) is True, ua


def test_empty_and_blank_agents_are_not_bots():
    assert bots.is_bot("") is False
    assert bots.is_bot(None) is False
    assert bots.is_bot("   ") is False


def test_non_ascii_agents_follow_the_reference():
    for ua in ["Mozilla/5.0 Navigateur-été", "robot-été", "KelvinBOT \u212a", "ſpider"]:
        assert bots.is_bot(ua) == bots.reference_is_bot(ua), ua


def test_no_crawler_pattern_matches_the_empty_string():
    # The equivalence argument relies on it (crawlerdetect's empty-match corner case).
    assert not [p for p in crawlers.data if re.fullmatch(p, "", re.IGNORECASE)]


def test_every_crawler_pattern_has_a_literal_requirement():
    # Otherwise every user agent would need that pattern's regex: the fast path would degrade.
    assert bots._CR_ALWAYS == ()
    assert bots._EX_ALWAYS == ()
