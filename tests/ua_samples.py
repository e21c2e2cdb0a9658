"""A large, varied, reproducible sample of user agents for the bot-filter tests and the bench.

Built, not downloaded: real-world browser user-agent shapes with varied versions and platforms,
crawler user agents synthesized from every crawlerdetect pattern (a string generated from the
parsed regex, alone, in a ``compatible;`` bot shape, and spliced into browser strings), and
near misses (one character changed, case changed, tokens glued to browser tokens) that probe the
exclusion-then-search logic of crawlerdetect.
"""

from __future__ import annotations

import random
import re

from crawlerdetect.providers import crawlers, exclusions

try:
    from re import _constants as _c
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

WINDOWS = ["Windows NT 10.0; Win64; x64", "Windows NT 6.1; WOW64", "Windows NT 10.0", "Windows NT 6.3; Win64; x64"]
MACS = ["Macintosh; Intel Mac OS X 10_15_7", "Macintosh; Intel Mac OS X 13_6_1", "Macintosh; Intel Mac OS X 10.15"]
LINUX = ["X11; Linux x86_64", "X11; Ubuntu; Linux x86_64", "X11; Fedora; Linux x86_64", "X11; CrOS x86_64 15633.69.0"]
ANDROID = ["Linux; Android 14; Pixel 8", "Linux; Android 13; SM-S918B", "Linux; Android 10; K",
           "Linux; Android 12; M2101K6G", "Linux; Android 11; moto g(30)", "Linux; U; Android 9; fr-fr; Redmi Note 7 Build/PKQ1.180904.001"]
IOS = ["iPhone; CPU iPhone OS 17_1_2 like Mac OS X", "iPad; CPU OS 16_6 like Mac OS X", "iPhone; CPU iPhone OS 15_8 like Mac OS X"]


def _v(rng, major_lo, major_hi):
    return f"{rng.randint(major_lo, major_hi)}.0.{rng.randint(1000, 6999)}.{rng.randint(0, 250)}"


def browser_agents(rng: random.Random, n: int) -> list[str]:
    makers = [
        lambda: f"Mozilla/5.0 ({rng.choice(WINDOWS + MACS + LINUX)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{_v(rng, 100, 131)} Safari/537.36",
        lambda: f"Mozilla/5.0 ({rng.choice(ANDROID)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{_v(rng, 100, 131)} Mobile Safari/537.36",
        lambda: f"Mozilla/5.0 ({rng.choice(WINDOWS)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{_v(rng, 110, 131)} Safari/537.36 Edg/{_v(rng, 110, 131)}",
        lambda: f"Mozilla/5.0 ({rng.choice(WINDOWS + MACS)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{_v(rng, 110, 131)} Safari/537.36 OPR/{rng.randint(90, 115)}.0.0.0",
        lambda: f"Mozilla/5.0 ({rng.choice(WINDOWS + LINUX)}; rv:{rng.randint(90, 133)}.0) Gecko/20100101 Firefox/{rng.randint(90, 133)}.0",
        lambda: f"Mozilla/5.0 ({rng.choice(MACS)}; rv:{rng.randint(90, 133)}.0) Gecko/20100101 Firefox/{rng.randint(90, 133)}.0",
        lambda: f"Mozilla/5.0 (Android {rng.randint(9, 14)}; Mobile; rv:{rng.randint(100, 133)}.0) Gecko/{rng.randint(100, 133)}.0 Firefox/{rng.randint(100, 133)}.0",
        lambda: f"Mozilla/5.0 ({rng.choice(MACS)}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{rng.randint(14, 18)}.{rng.randint(0, 6)} Safari/605.1.15",
        lambda: f"Mozilla/5.0 ({rng.choice(IOS)}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{rng.randint(14, 18)}.{rng.randint(0, 6)} Mobile/15E148 Safari/604.1",
        lambda: f"Mozilla/5.0 ({rng.choice(IOS)}) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/{_v(rng, 100, 131)} Mobile/15E148 Safari/604.1",
        lambda: f"Mozilla/5.0 ({rng.choice(ANDROID)}) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/{rng.randint(18, 26)}.0 Chrome/{_v(rng, 100, 125)} Mobile Safari/537.36",
        lambda: f"Mozilla/5.0 ({rng.choice(IOS)}) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/{rng.randint(400, 480)}.0.0.{rng.randint(10, 60)}.{rng.randint(100, 120)};FBBV/{rng.randint(500000000, 600000000)};FBDV/iPhone14,2;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;FBSS/3;FBID/phone;FBLC/fr_FR;FBOP/5]",
        lambda: f"Mozilla/5.0 ({rng.choice(ANDROID)}; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{_v(rng, 100, 131)} Mobile Safari/537.36 Instagram {rng.randint(250, 320)}.0.0.{rng.randint(10, 40)}.{rng.randint(100, 120)} Android",
        lambda: f"Mozilla/5.0 ({rng.choice(WINDOWS)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{_v(rng, 100, 125)} YaBrowser/{rng.randint(22, 24)}.{rng.randint(1, 12)}.0.0 Safari/537.36",
        lambda: f"Mozilla/5.0 (compatible; MSIE {rng.randint(7, 10)}.0; {rng.choice(WINDOWS)}; Trident/{rng.randint(4, 7)}.0)",
        lambda: f"Opera/9.80 ({rng.choice(WINDOWS)}; U; fr) Presto/2.12.388 Version/12.{rng.randint(10, 18)}",
        lambda: f"Mozilla/5.0 ({rng.choice(LINUX)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{_v(rng, 100, 131)} Safari/537.36 Vivaldi/{rng.randint(5, 7)}.{rng.randint(0, 9)}",
        lambda: f"Mozilla/5.0 ({rng.choice(ANDROID)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{_v(rng, 100, 131)} Mobile Safari/537.36 LinkedInApp",
    ]
    return [rng.choice(makers)() for _ in range(n)]


def _generate(items, rng: random.Random) -> str:
    """A string the parsed regex ``items`` probably matches (look-arounds ignored)."""
    out = []
    for op, av in items:
        if op is _c.LITERAL:
            ch = chr(av)
            out.append(ch.upper() if rng.random() < 0.1 else ch)
        elif op is _c.NOT_LITERAL:
            out.append("x" if chr(av) != "x" else "y")
        elif op is _c.ANY:
            out.append(rng.choice("abz-._ 9"))
        elif op is _c.IN:
            chars = []
            for kind, val in av:
                if kind is _c.LITERAL:
                    chars.append(chr(val))
                elif kind is _c.RANGE:
                    chars.append(chr(rng.randint(val[0], val[1])))
                elif kind is _c.CATEGORY:
                    chars.append("7" if "DIGIT" in str(val) else " " if "SPACE" in str(val) else "q")
            if chars and not any(kind is _c.NEGATE for kind, _ in av):
                out.append(rng.choice(chars))
            else:
                out.append("#")
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            lo, hi, body = av
            count = lo + rng.randint(0, 2 if hi > lo else 0)
            count = min(count, hi) if hi != _c.MAXREPEAT else count
            out.extend(_generate(body, rng) for _ in range(count))
        elif op is _c.SUBPATTERN:
            out.append(_generate(av[-1], rng))
        elif op is _c.BRANCH:
            out.append(_generate(rng.choice(av[1]), rng))
        # AT, ASSERT, ASSERT_NOT: nothing to emit
    return "".join(out)


def synth(pattern: str, rng: random.Random) -> str:
    return _generate(list(_sre_parse.parse(pattern, re.IGNORECASE)), rng)


def crawler_agents(rng: random.Random) -> list[str]:
    agents = []
    browsers = browser_agents(rng, 200)
    for pattern in crawlers.data:
        token = synth(pattern, rng)
        agents.append(token)
        agents.append(f"Mozilla/5.0 (compatible; {token}/{rng.randint(1, 9)}.{rng.randint(0, 9)}; +https://example.org/bot.html)")
        host = rng.choice(browsers)
        cut = rng.randint(0, len(host))
        agents.append(host[:cut] + token + host[cut:])
        # near miss: one character changed
        if len(token) > 2:
            i = rng.randrange(len(token))
            agents.append(host[:cut] + token[:i] + rng.choice("Zq_7") + token[i + 1:] + host[cut:])
    return agents


def tricky_agents(rng: random.Random, n: int) -> list[str]:
    """Exclusion tokens glued to crawler fragments, case games, empty-ish strings."""
    out = ["", " ", "-", "Mozilla", "Mozilla/5.0", "Safari", "bot", "Bot", "ROBOT", "abbot", "cubot",
           "Mozilla/5.0 (Linux; Android 9; cubot note 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 Mobile Safari/537.36",
           "Mozilla/5.0 (compatible; YandexModule2) Safari", "Yandex", "YandexSearch/1.0", "\"Yandex\"",
           "Ruby", "Ruby/2.7", "xRuby", "Java/1.8", "x Java/1.8", "Go 1.1 package http", "Chrome/1.0 crawl"]
    pieces = [synth(p, rng) for p in exclusions.data] + [synth(p, rng) for p in rng.sample(crawlers.data, 300)]
    for _ in range(n):
        parts = [rng.choice(pieces) for _ in range(rng.randint(1, 5))]
        glue = rng.choice(["", " ", "/", "; ", "(", ")"])
        text = glue.join(parts)
        if rng.random() < 0.3:
            text = text.swapcase()
        out.append(text)
    return out


def sample(seed: int = 20261126, browsers: int = 3000, tricky: int = 2000) -> list[str]:
    rng = random.Random(seed)
    return browser_agents(rng, browsers) + crawler_agents(rng) + tricky_agents(rng, tricky)
