"""Colours and their contrast (WCAG 2): the QR codes, the widget's network colours and the
dashboard's charts all check theirs here. Colours are ``#rrggbb`` (or ``#rgb``) strings."""

from __future__ import annotations


def rgb(colour: str) -> tuple[int, int, int]:
    digits = colour.lstrip("#")
    if len(digits) == 3:  # #fff
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance (0 black to 1 white)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def mix(colour: str, towards: str, amount: float) -> str:
    """``colour`` moved ``amount`` (0 to 1) of the way to ``towards``."""
    a, b = rgb(colour), rgb(towards)
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in zip(a, b, strict=True))


def readable_on(colour: str, background: str, ratio: float = 3.0) -> str:
    """``colour``, darkened or lightened just enough to reach ``ratio`` against ``background``
    (3:1 is WCAG's minimum for icons and the parts of a chart, 1.4.11)."""
    colour = colour.lower()
    towards = "#000000" if luminance(background) > 0.5 else "#ffffff"
    step = 0.0
    candidate = colour
    while contrast(candidate, background) < ratio and step < 1:
        step = round(step + 0.05, 2)
        candidate = mix(colour, towards, step)
    return candidate


def text_on(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (always at least 4.5:1)."""
    return "#000000" if contrast("#000000", colour) >= contrast("#ffffff", colour) else "#ffffff"
