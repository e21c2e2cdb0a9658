"""The one registry of networks: id, labels, share-URL template, parameters, popup, colour, icon.

Each entry's ``build`` turns plain values into that network's current official share URL.
Every value is percent-encoded with ``quote(..., safe="")`` (UTF-8, spaces as ``%20``, never ``+``),
so French accents, typographic apostrophes, « guillemets » and emoji survive every network.

Sources and traps are recorded in the README ("Networks"): Facebook ignores ``quote`` and reads
OpenGraph; LinkedIn's share-offsite takes the URL only; WhatsApp, Bluesky and Mastodon take
text only, so the URL goes inside the text; mailto wants ``%20`` for spaces and CRLF line breaks.
X (280 weighted characters, a link counts 23) and Bluesky (300 graphemes) get their free text
shortened with an ellipsis when it would not fit, so that the link always survives.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote

from ..errors import ApiError

# Parameters a network may take (what the API accepts for it).
PARAMS = ("url", "title", "text", "hashtags", "via", "image")

MASTODON_PICKER = "https://share.joinmastodon.org/"
_INSTANCE_RE = re.compile(r"^(?=.{4,253}\Z)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")


def q(value: str) -> str:
    """Percent-encode one query value (UTF-8, nothing left unescaped but unreserved chars)."""
    return quote(value, safe="")


def query(base: str, pairs: list[tuple[str, str]]) -> str:
    """Append ``k=v`` pairs (empty values dropped) to ``base``, each value percent-encoded."""
    parts = [f"{k}={q(v)}" for k, v in pairs if v]
    if not parts:
        return base
    return base + ("&" if "?" in base else "?") + "&".join(parts)


@dataclass(frozen=True)
class ShareInput:
    """What a share link is made of. ``url`` is the final (UTM-tagged) article URL."""

    url: str
    title: str = ""
    text: str = ""
    hashtags: tuple[str, ...] = ()
    via: str = ""
    image: str = ""
    instance: str = ""  # Mastodon: the reader's instance host, when known

    @property
    def message(self) -> str:
        """Free text of the share: the text if given, else the title."""
        return self.text or self.title

    def message_with_url(self) -> str:
        return f"{self.message} {self.url}".strip()


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    endpoint: str  # the share endpoint (documentation; used by the open-redirect guard)
    takes: tuple[str, ...]
    build: Callable[[ShareInput], str]
    color: str
    icon: str  # SVG path data for a 24x24 viewBox
    popup: tuple[int, int] = (600, 500)
    labels: dict[str, str] = field(default_factory=dict)  # localized names where they differ
    aliases: tuple[str, ...] = ()

    def label(self, lang: str = "en") -> str:
        return self.labels.get(lang, self.name)

    def share_url(self, data: ShareInput) -> str:
        return self.build(data)


def _facebook(d: ShareInput) -> str:
    # `quote` is deprecated and ignored; one hashtag is honoured by the sharer.
    pairs = [("u", d.url)]
    if d.hashtags:
        pairs.append(("hashtag", "#" + d.hashtags[0]))
    return query("https://www.facebook.com/sharer/sharer.php", pairs)


ELLIPSIS = "…"
X_LIMIT = 280  # weighted characters (twitter-text v3)
X_LINK_LENGTH = 23  # every link counts this much, whatever its length
BLUESKY_LIMIT = 300  # graphemes


def x_weight(text: str) -> int:
    """X's weighted length (twitter-text v3): Latin, accents, general punctuation count 1; CJK,
    emoji and the rest count 2. Emoji sequences are over-counted, which only shortens more."""
    total = 0
    for ch in text:
        cp = ord(ch)
        light = cp <= 4351 or 8192 <= cp <= 8205 or 8208 <= cp <= 8223 or 8242 <= cp <= 8247
        total += 1 if light else 2
    return total


def fit(text: str, budget: int, weight: Callable[[str], int] = len) -> str:
    """``text`` if it fits in ``budget``, else its longest prefix that fits with an ellipsis.
    (``len`` counts code points: at least the graphemes, so the result never overflows.)"""
    if weight(text) <= budget:
        return text
    if budget <= len(ELLIPSIS):
        return ""
    cut = text
    while cut and weight(cut) + weight(ELLIPSIS) > budget:
        cut = cut[: max(0, len(cut) - max(1, (weight(cut) - budget) // 2))]
    return cut.rstrip() + ELLIPSIS


def _x(d: ShareInput) -> str:
    extra = X_LINK_LENGTH + 1 if d.url else 0
    extra += len(f" via @{d.via}") if d.via else 0
    extra += sum(len(f" #{h}") for h in d.hashtags)
    return query(
        "https://x.com/intent/tweet",
        [
            ("text", fit(d.message, X_LIMIT - extra, x_weight)),
            ("url", d.url),
            ("hashtags", ",".join(d.hashtags)),
            ("via", d.via),
        ],
    )


def _bluesky(d: ShareInput) -> str:
    # text only: the URL (and hashtags, which the composer turns into tags) go inside the text
    tags = "".join(f" #{h}" for h in d.hashtags)
    budget = BLUESKY_LIMIT - len(d.url) - 1 - len(tags)
    text = f"{fit(d.message, budget)} {d.url}".strip() + tags
    return query("https://bsky.app/intent/compose", [("text", text)])


_THREADS_TAG_BAD = re.compile(r"[\n\t.&]")


def _threads(d: ShareInput) -> str:
    # `tag`: one topic tag (no newline, tab, period or ampersand; at most 50 characters)
    tag = next((h for h in d.hashtags if len(h) <= 50 and not _THREADS_TAG_BAD.search(h)), "")
    return query(
        "https://www.threads.com/intent/post", [("text", d.message), ("url", d.url), ("tag", tag)]
    )


def _mastodon(d: ShareInput) -> str:
    text = d.message_with_url()
    if d.hashtags:
        text += " " + " ".join("#" + h for h in d.hashtags)
    if d.instance and valid_instance(d.instance):
        return query(f"https://{d.instance.lower()}/share", [("text", text)])
    return query(MASTODON_PICKER, [("text", text)])


def _crlf(text: str) -> str:
    """Line breaks of a mailto body as CRLF (RFC 6068, section 5)."""
    return re.sub(r"\r\n|\r|\n", "\r\n", text)


def _email(d: ShareInput) -> str:
    # subject: the title (the text when there is none); body: the text, a blank line, the link
    subject = d.title or d.text.split("\n", 1)[0]
    body = f"{d.text}\n\n{d.url}" if d.text else d.url
    return query("mailto:", [("subject", subject), ("body", _crlf(body))])


def valid_instance(host: str) -> bool:
    """A Mastodon instance must be a public DNS name (no IP, port, path or credentials)."""
    return bool(_INSTANCE_RE.match(host.lower()))


# SVG path data (24x24 viewBox) of every network's icon, in one place.
# Brand logos: Simple Icons 16.36 (CC0 1.0, https://simpleicons.org); LinkedIn: the last Simple Icons
# path published before LinkedIn asked for its removal (CC0 as published). Email: a plain envelope
# drawn for this project.
ICONS: dict[str, str] = {
    "facebook": (
        "M9.101 23.691v-7.98H6.627v-3.667h2.474v-1.58c0-4.085 1.848-5.978 5.858-5.978.401 0 ."
        "955.042 1.468.103a8.68 8.68 0 0 1 1.141.195v3.325a8.623 8.623 0 0 0-.653-.036 26.805"
        " 26.805 0 0 0-.733-.009c-.707 0-1.259.096-1.675.309a1.686 1.686 0 0 0-.679.622c-.258"
        ".42-.374.995-.374 1.752v1.297h3.919l-.386 2.103-.287 1.564h-3.246v8.245C19.396 23.23"
        "8 24 18.179 24 12.044c0-6.627-5.373-12-12-12s-12 5.373-12 12c0 5.628 3.874 10.35 9.1"
        "01 11.647Z"
    ),
    "x": (
        "M14.234 10.162 22.977 0h-2.072l-7.591 8.824L7.251 0H.258l9.168 13.343L.258 24H2.33l8"
        ".016-9.318L16.749 24h6.993zm-2.837 3.299-.929-1.329L3.076 1.56h3.182l5.965 8.532.929"
        " 1.329 7.754 11.09h-3.182z"
    ),
    "linkedin": (
        "M20.447 20.452h-3.554v-5.569c0-1.328-.027-3.037-1.852-3.037-1.853 0-2.136 1.445-2.13"
        "6 2.939v5.667H9.351V9h3.414v1.561h.046c.477-.9 1.637-1.85 3.37-1.85 3.601 0 4.267 2."
        "37 4.267 5.455v6.286zM5.337 7.433c-1.144 0-2.063-.926-2.063-2.065 0-1.138.92-2.063 2"
        ".063-2.063 1.14 0 2.064.925 2.064 2.063 0 1.139-.925 2.065-2.064 2.065zm1.782 13.019"
        "H3.555V9h3.564v11.452zM22.225 0H1.771C.792 0 0 .774 0 1.729v20.542C0 23.227.792 24 1"
        ".771 24h20.451C23.2 24 24 23.227 24 22.271V1.729C24 .774 23.2 0 22.222 0h.003z"
    ),
    "whatsapp": (
        "M17.472 14.382c-.297-.149-1.758-.867-2.03-.967-.273-.099-.471-.148-.67.15-.197.297-."
        "767.966-.94 1.164-.173.199-.347.223-.644.075-.297-.15-1.255-.463-2.39-1.475-.883-.78"
        "8-1.48-1.761-1.653-2.059-.173-.297-.018-.458.13-.606.134-.133.298-.347.446-.52.149-."
        "174.198-.298.298-.497.099-.198.05-.371-.025-.52-.075-.149-.669-1.612-.916-2.207-.242"
        "-.579-.487-.5-.669-.51-.173-.008-.371-.01-.57-.01-.198 0-.52.074-.792.372-.272.297-1"
        ".04 1.016-1.04 2.479 0 1.462 1.065 2.875 1.213 3.074.149.198 2.096 3.2 5.077 4.487.7"
        "09.306 1.262.489 1.694.625.712.227 1.36.195 1.871.118.571-.085 1.758-.719 2.006-1.41"
        "3.248-.694.248-1.289.173-1.413-.074-.124-.272-.198-.57-.347m-5.421 7.403h-.004a9.87 "
        "9.87 0 01-5.031-1.378l-.361-.214-3.741.982.998-3.648-.235-.374a9.86 9.86 0 01-1.51-5"
        ".26c.001-5.45 4.436-9.884 9.888-9.884 2.64 0 5.122 1.03 6.988 2.898a9.825 9.825 0 01"
        "2.893 6.994c-.003 5.45-4.437 9.884-9.885 9.884m8.413-18.297A11.815 11.815 0 0012.05 "
        "0C5.495 0 .16 5.335.157 11.892c0 2.096.547 4.142 1.588 5.945L.057 24l6.305-1.654a11."
        "882 11.882 0 005.683 1.448h.005c6.554 0 11.89-5.335 11.893-11.893a11.821 11.821 0 00"
        "-3.48-8.413Z"
    ),
    "telegram": (
        "M11.944 0A12 12 0 0 0 0 12a12 12 0 0 0 12 12 12 12 0 0 0 12-12A12 12 0 0 0 12 0a12 1"
        "2 0 0 0-.056 0zm4.962 7.224c.1-.002.321.023.465.14a.506.506 0 0 1 .171.325c.016.093."
        "036.306.02.472-.18 1.898-.962 6.502-1.36 8.627-.168.9-.499 1.201-.82 1.23-.696.065-1"
        ".225-.46-1.9-.902-1.056-.693-1.653-1.124-2.678-1.8-1.185-.78-.417-1.21.258-1.91.177-"
        ".184 3.247-2.977 3.307-3.23.007-.032.014-.15-.056-.212s-.174-.041-.249-.024c-.106.02"
        "4-1.793 1.14-5.061 3.345-.48.33-.913.49-1.302.48-.428-.008-1.252-.241-1.865-.44-.752"
        "-.245-1.349-.374-1.297-.789.027-.216.325-.437.893-.663 3.498-1.524 5.83-2.529 6.998-"
        "3.014 3.332-1.386 4.025-1.627 4.476-1.635z"
    ),
    "reddit": (
        "M12 0C5.373 0 0 5.373 0 12c0 3.314 1.343 6.314 3.515 8.485l-2.286 2.286C.775 23.225 "
        "1.097 24 1.738 24H12c6.627 0 12-5.373 12-12S18.627 0 12 0Zm4.388 3.199c1.104 0 1.999"
        ".895 1.999 1.999 0 1.105-.895 2-1.999 2-.946 0-1.739-.657-1.947-1.539v.002c-1.147.16"
        "2-2.032 1.15-2.032 2.341v.007c1.776.067 3.4.567 4.686 1.363.473-.363 1.064-.58 1.707"
        "-.58 1.547 0 2.802 1.254 2.802 2.802 0 1.117-.655 2.081-1.601 2.531-.088 3.256-3.637"
        " 5.876-7.997 5.876-4.361 0-7.905-2.617-7.998-5.87-.954-.447-1.614-1.415-1.614-2.538 "
        "0-1.548 1.255-2.802 2.803-2.802.645 0 1.239.218 1.712.585 1.275-.79 2.881-1.291 4.64"
        "-1.365v-.01c0-1.663 1.263-3.034 2.88-3.207.188-.911.993-1.595 1.959-1.595Zm-8.085 8."
        "376c-.784 0-1.459.78-1.506 1.797-.047 1.016.64 1.429 1.426 1.429.786 0 1.371-.369 1."
        "418-1.385.047-1.017-.553-1.841-1.338-1.841Zm7.406 0c-.786 0-1.385.824-1.338 1.841.04"
        "7 1.017.634 1.385 1.418 1.385.785 0 1.473-.413 1.426-1.429-.046-1.017-.721-1.797-1.5"
        "06-1.797Zm-3.703 4.013c-.974 0-1.907.048-2.77.135-.147.015-.241.168-.183.305.483 1.1"
        "54 1.622 1.964 2.953 1.964 1.33 0 2.47-.81 2.953-1.964.057-.137-.037-.29-.184-.305-."
        "863-.087-1.795-.135-2.769-.135Z"
    ),
    "email": (
        "M1.5 4h21A1.5 1.5 0 0 1 24 5.5v.35l-12 7.5-12-7.5V5.5A1.5 1.5 0 0 1 1.5 4zM0 8.2l12 "
        "7.5 12-7.5v10.3a1.5 1.5 0 0 1-1.5 1.5h-21A1.5 1.5 0 0 1 0 18.5z"
    ),
    "pinterest": (
        "M12.017 0C5.396 0 .029 5.367.029 11.987c0 5.079 3.158 9.417 7.618 11.162-.105-.949-."
        "199-2.403.041-3.439.219-.937 1.406-5.957 1.406-5.957s-.359-.72-.359-1.781c0-1.663.96"
        "7-2.911 2.168-2.911 1.024 0 1.518.769 1.518 1.688 0 1.029-.653 2.567-.992 3.992-.285"
        " 1.193.6 2.165 1.775 2.165 2.128 0 3.768-2.245 3.768-5.487 0-2.861-2.063-4.869-5.008"
        "-4.869-3.41 0-5.409 2.562-5.409 5.199 0 1.033.394 2.143.889 2.741.099.12.112.225.085"
        ".345-.09.375-.293 1.199-.334 1.363-.053.225-.172.271-.401.165-1.495-.69-2.433-2.878-"
        "2.433-4.646 0-3.776 2.748-7.252 7.92-7.252 4.158 0 7.392 2.967 7.392 6.923 0 4.135-2"
        ".607 7.462-6.233 7.462-1.214 0-2.354-.629-2.758-1.379l-.749 2.848c-.269 1.045-1.004 "
        "2.352-1.498 3.146 1.123.345 2.306.535 3.55.535 6.607 0 11.985-5.365 11.985-11.987C23"
        ".97 5.39 18.592.026 11.985.026L12.017 0z"
    ),
    "bluesky": (
        "M5.202 2.857C7.954 4.922 10.913 9.11 12 11.358c1.087-2.247 4.046-6.436 6.798-8.501C2"
        "0.783 1.366 24 .213 24 3.883c0 .732-.42 6.156-.667 7.037-.856 3.061-3.978 3.842-6.75"
        "5 3.37 4.854.826 6.089 3.562 3.422 6.299-5.065 5.196-7.28-1.304-7.847-2.97-.104-.305"
        "-.152-.448-.153-.327 0-.121-.05.022-.153.327-.568 1.666-2.782 8.166-7.847 2.97-2.667"
        "-2.737-1.432-5.473 3.422-6.3-2.777.473-5.899-.308-6.755-3.369C.42 10.04 0 4.615 0 3."
        "883c0-3.67 3.217-2.517 5.202-1.026"
    ),
    "threads": (
        "M18.263 11.097c-.03-3.486-1.92-5.586-5.111-5.586-2.13 0-3.922.963-4.863 2.499l2.062 "
        "1.438c.535-.843 1.272-1.543 2.628-1.543 1.528 0 2.318.85 2.544 2.431a15 15 0 0 0-2.2"
        "36-.173c-4.125 0-6.068 1.867-6.068 4.336s1.943 3.99 4.804 3.99c3.139 0 5.013-2.115 5"
        ".781-4.735.798.361 1.348 1.204 1.348 2.47 0 3.387-3.907 5.232-7.22 5.232-4.885 0-8.0"
        "77-3.207-8.077-8.424 0-6.392 4.223-10.487 9.9-10.487 3.808 0 5.69 1.671 6.97 3.914l2"
        ".108-1.475C21.44 2.078 18.331 0 13.663 0 6.227 0 1.168 5.277 1.168 12.934c0 7 4.953 "
        "11.066 10.856 11.066 4.878 0 9.809-2.846 9.809-7.716 0-2.545-1.46-4.231-3.569-5.187m"
        "-6.33 4.855c-1.077 0-2.026-.512-2.026-1.453 0-1.483 1.822-1.934 3.606-1.934.678 0 1."
        "34.045 1.927.173-.422 1.927-1.671 3.215-3.508 3.214Z"
    ),
    "mastodon": (
        "M23.268 5.313c-.35-2.578-2.617-4.61-5.304-5.004C17.51.242 15.792 0 11.813 0h-.03c-3."
        "98 0-4.835.242-5.288.309C3.882.692 1.496 2.518.917 5.127.64 6.412.61 7.837.661 9.143"
        "c.074 1.874.088 3.745.26 5.611.118 1.24.325 2.47.62 3.68.55 2.237 2.777 4.098 4.96 4"
        ".857 2.336.792 4.849.923 7.256.38.265-.061.527-.132.786-.213.585-.184 1.27-.39 1.774"
        "-.753a.057.057 0 0 0 .023-.043v-1.809a.052.052 0 0 0-.02-.041.053.053 0 0 0-.046-.01"
        " 20.282 20.282 0 0 1-4.709.545c-2.73 0-3.463-1.284-3.674-1.818a5.593 5.593 0 0 1-.31"
        "9-1.433.053.053 0 0 1 .066-.054c1.517.363 3.072.546 4.632.546.376 0 .75 0 1.125-.01 "
        "1.57-.044 3.224-.124 4.768-.422.038-.008.077-.015.11-.024 2.435-.464 4.753-1.92 4.98"
        "9-5.604.008-.145.03-1.52.03-1.67.002-.512.167-3.63-.024-5.545zm-3.748 9.195h-2.561V8"
        ".29c0-1.309-.55-1.976-1.67-1.976-1.23 0-1.846.79-1.846 2.35v3.403h-2.546V8.663c0-1.5"
        "6-.617-2.35-1.848-2.35-1.112 0-1.668.668-1.67 1.977v6.218H4.822V8.102c0-1.31.337-2.3"
        "5 1.011-3.12.696-.77 1.608-1.164 2.74-1.164 1.311 0 2.302.5 2.962 1.498l.638 1.06.63"
        "8-1.06c.66-.999 1.65-1.498 2.96-1.498 1.13 0 2.043.395 2.74 1.164.675.77 1.012 1.81 "
        "1.012 3.12z"
    ),
    "hackernews": (
        "M0 24V0h24v24H0zM6.951 5.896l4.112 7.708v5.064h1.583v-4.972l4.148-7.799h-1.749l-2.45"
        "7 4.875c-.372.745-.688 1.434-.688 1.434s-.297-.708-.651-1.434L8.831 5.896h-1.88z"
    ),
    "xing": (
        "M18.188 0c-.517 0-.741.325-.927.66 0 0-7.455 13.224-7.702 13.657.015.024 4.919 9.023"
        " 4.919 9.023.17.308.436.66.967.66h3.454c.211 0 .375-.078.463-.22.089-.151.089-.346-."
        "009-.536l-4.879-8.916c-.004-.006-.004-.016 0-.022L22.139.756c.095-.191.097-.387.006-"
        ".535C22.056.078 21.894 0 21.686 0h-3.498zM3.648 4.74c-.211 0-.385.074-.473.216-.09.1"
        "49-.078.339.02.531l2.34 4.05c.004.01.004.016 0 .021L1.86 16.051c-.099.188-.093.381 0"
        " .529.085.142.239.234.45.234h3.461c.518 0 .766-.348.945-.667l3.734-6.609-2.378-4.155"
        "c-.172-.315-.434-.659-.962-.659H3.648v.016z"
    ),
    "vk": (
        "m9.489.004.729-.003h3.564l.73.003.914.01.433.007.418.011.403.014.388.016.374.021.36."
        "025.345.03.333.033c1.74.196 2.933.616 3.833 1.516.9.9 1.32 2.092 1.516 3.833l.034.33"
        "3.029.346.025.36.02.373.025.588.012.41.013.644.009.915.004.98-.001 3.313-.003.73-.01"
        ".914-.007.433-.011.418-.014.403-.016.388-.021.374-.025.36-.03.345-.033.333c-.196 1.7"
        "4-.616 2.933-1.516 3.833-.9.9-2.092 1.32-3.833 1.516l-.333.034-.346.029-.36.025-.373"
        ".02-.588.025-.41.012-.644.013-.915.009-.98.004-3.313-.001-.73-.003-.914-.01-.433-.00"
        "7-.418-.011-.403-.014-.388-.016-.374-.021-.36-.025-.345-.03-.333-.033c-1.74-.196-2.9"
        "33-.616-3.833-1.516-.9-.9-1.32-2.092-1.516-3.833l-.034-.333-.029-.346-.025-.36-.02-."
        "373-.025-.588-.012-.41-.013-.644-.009-.915-.004-.98.001-3.313.003-.73.01-.914.007-.4"
        "33.011-.418.014-.403.016-.388.021-.374.025-.36.03-.345.033-.333c.196-1.74.616-2.933 "
        "1.516-3.833.9-.9 2.092-1.32 3.833-1.516l.333-.034.346-.029.36-.025.373-.02.588-.025."
        "41-.012.644-.013.915-.009ZM6.79 7.3H4.05c.13 6.24 3.25 9.99 8.72 9.99h.31v-3.57c2.01"
        ".2 3.53 1.67 4.14 3.57h2.84c-.78-2.84-2.83-4.41-4.11-5.01 1.28-.74 3.08-2.54 3.51-4."
        "98h-2.58c-.56 1.98-2.22 3.78-3.8 3.95V7.3H10.5v6.92c-1.6-.4-3.62-2.34-3.71-6.92Z"
    ),
    "line": (
        "M19.365 9.863c.349 0 .63.285.63.631 0 .345-.281.63-.63.63H17.61v1.125h1.755c.349 0 ."
        "63.283.63.63 0 .344-.281.629-.63.629h-2.386c-.345 0-.627-.285-.627-.629V8.108c0-.345"
        ".282-.63.63-.63h2.386c.346 0 .627.285.627.63 0 .349-.281.63-.63.63H17.61v1.125h1.755"
        "zm-3.855 3.016c0 .27-.174.51-.432.596-.064.021-.133.031-.199.031-.211 0-.391-.09-.51"
        "-.25l-2.443-3.317v2.94c0 .344-.279.629-.631.629-.346 0-.626-.285-.626-.629V8.108c0-."
        "27.173-.51.43-.595.06-.023.136-.033.194-.033.195 0 .375.104.495.254l2.462 3.33V8.108"
        "c0-.345.282-.63.63-.63.345 0 .63.285.63.63v4.771zm-5.741 0c0 .344-.282.629-.631.629-"
        ".345 0-.627-.285-.627-.629V8.108c0-.345.282-.63.63-.63.346 0 .628.285.628.63v4.771zm"
        "-2.466.629H4.917c-.345 0-.63-.285-.63-.629V8.108c0-.345.285-.63.63-.63.348 0 .63.285"
        ".63.63v4.141h1.756c.348 0 .629.283.629.63 0 .344-.282.629-.629.629M24 10.314C24 4.94"
        "3 18.615.572 12 .572S0 4.943 0 10.314c0 4.811 4.27 8.842 10.035 9.608.391.082.923.25"
        "8 1.058.59.12.301.079.766.038 1.08l-.164 1.02c-.045.301-.24 1.186 1.049.645 1.291-.5"
        "39 6.916-4.078 9.436-6.975C23.176 14.393 24 12.458 24 10.314"
    ),
}


_NETWORKS: list[Network] = [
    Network(
        id="facebook",
        name="Facebook",
        endpoint="https://www.facebook.com/sharer/sharer.php",
        takes=("url", "hashtags"),
        build=_facebook,
        color="#0866FF",
        icon=ICONS["facebook"],
        popup=(600, 500),
    ),
    Network(
        id="x",
        name="X",
        endpoint="https://x.com/intent/tweet",
        takes=("url", "title", "text", "hashtags", "via"),
        build=_x,
        color="#000000",
        icon=ICONS["x"],
        popup=(600, 450),
        aliases=("twitter",),
    ),
    Network(
        id="linkedin",
        name="LinkedIn",
        endpoint="https://www.linkedin.com/sharing/share-offsite/",
        takes=("url",),
        build=lambda d: query("https://www.linkedin.com/sharing/share-offsite/", [("url", d.url)]),
        color="#0A66C2",
        icon=ICONS["linkedin"],
        popup=(600, 600),
    ),
    Network(
        id="whatsapp",
        name="WhatsApp",
        endpoint="https://wa.me/",
        takes=("url", "title", "text"),
        build=lambda d: query("https://wa.me/", [("text", d.message_with_url())]),
        color="#25D366",
        icon=ICONS["whatsapp"],
        popup=(600, 600),
    ),
    Network(
        id="telegram",
        name="Telegram",
        endpoint="https://t.me/share/url",
        takes=("url", "title", "text"),
        build=lambda d: query("https://t.me/share/url", [("url", d.url), ("text", d.message)]),
        color="#26A5E4",
        icon=ICONS["telegram"],
        popup=(600, 500),
    ),
    Network(
        id="reddit",
        name="Reddit",
        endpoint="https://www.reddit.com/submit",
        takes=("url", "title"),
        build=lambda d: query(
            "https://www.reddit.com/submit", [("url", d.url), ("title", d.title or d.text)]
        ),
        color="#FF4500",
        icon=ICONS["reddit"],
        popup=(850, 650),
    ),
    Network(
        id="email",
        name="E-mail",
        endpoint="mailto:",
        takes=("url", "title", "text"),
        build=_email,
        color="#4B5563",
        icon=ICONS["email"],
        popup=(0, 0),  # no popup: mailto opens the mail client
        labels={"fr": "E-mail", "de": "E-Mail", "es": "Correo", "it": "E-mail", "nl": "E-mail",
                "pt": "E-mail", "en": "Email"},
        aliases=("mail",),
    ),
    Network(
        id="pinterest",
        name="Pinterest",
        endpoint="https://www.pinterest.com/pin/create/button/",
        takes=("url", "title", "text", "image"),
        build=lambda d: query(
            "https://www.pinterest.com/pin/create/button/",
            [("url", d.url), ("media", d.image), ("description", d.message)],
        ),
        color="#BD081C",
        icon=ICONS["pinterest"],
        popup=(750, 650),
    ),
    Network(
        id="bluesky",
        name="Bluesky",
        endpoint="https://bsky.app/intent/compose",
        takes=("url", "title", "text", "hashtags"),
        build=_bluesky,
        color="#1185FE",
        icon=ICONS["bluesky"],
        popup=(600, 550),
    ),
    Network(
        id="threads",
        name="Threads",
        endpoint="https://www.threads.com/intent/post",
        takes=("url", "title", "text", "hashtags"),
        build=_threads,
        color="#000000",
        icon=ICONS["threads"],
        popup=(600, 550),
    ),
    Network(
        id="mastodon",
        name="Mastodon",
        endpoint=MASTODON_PICKER,
        takes=("url", "title", "text", "hashtags"),
        build=_mastodon,
        color="#6364FF",
        icon=ICONS["mastodon"],
        popup=(600, 550),
    ),
    Network(
        id="hackernews",
        name="Hacker News",
        endpoint="https://news.ycombinator.com/submitlink",
        takes=("url", "title"),
        build=lambda d: query(
            "https://news.ycombinator.com/submitlink", [("u", d.url), ("t", d.title or d.text)]
        ),
        color="#FF6600",
        icon=ICONS["hackernews"],
        popup=(800, 600),
        aliases=("hn",),
    ),
    Network(
        id="xing",
        name="XING",
        endpoint="https://www.xing.com/spi/shares/new",
        takes=("url",),
        build=lambda d: query("https://www.xing.com/spi/shares/new", [("url", d.url)]),
        color="#006567",
        icon=ICONS["xing"],
        popup=(600, 600),
    ),
    Network(
        id="vk",
        name="VK",
        endpoint="https://vk.com/share.php",
        takes=("url", "title", "image"),
        build=lambda d: query(
            "https://vk.com/share.php",
            [("url", d.url), ("title", d.title or d.text), ("image", d.image)],
        ),
        color="#0077FF",
        icon=ICONS["vk"],
        popup=(650, 550),
    ),
    Network(
        id="line",
        name="LINE",
        endpoint="https://social-plugins.line.me/lineit/share",
        takes=("url", "title", "text"),
        build=lambda d: query(
            "https://social-plugins.line.me/lineit/share", [("url", d.url), ("text", d.message)]
        ),
        color="#06C755",
        icon=ICONS["line"],
        popup=(600, 550),
    ),
]

REGISTRY: dict[str, Network] = {n.id: n for n in _NETWORKS}
_LOOKUP: dict[str, Network] = {}
for _n in _NETWORKS:
    _LOOKUP[_n.id] = _n
    for _alias in _n.aliases:
        _LOOKUP[_alias] = _n

# Channels that are not networks but are counted and tagged like one.
CHANNELS = ("copy", "qr", "native", "more_content")


def get(network_id: str) -> Network | None:
    """The network for an id or alias (case-insensitive), or None."""
    return _LOOKUP.get((network_id or "").strip().lower())


_SHOWABLE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}\Z")


def require(raw, *, channels: bool = False, status: int = 400) -> str:
    """The registry id of the network ``raw`` names (aliases resolved); with ``channels``, one
    of :data:`CHANNELS` is accepted too. Anything else: ApiError ``unknown_network`` with
    ``status`` (400 for a parameter; the tracked redirect, where the network is the path,
    gives 404). The one check of a network id: the message never echoes markup."""
    if isinstance(raw, str) and raw and len(raw) <= 40:
        low = raw.strip().lower()
        if channels and low in CHANNELS:
            return low
        net = _LOOKUP.get(low)
        if net is not None:
            return net.id
    shown = f" {raw!r}" if isinstance(raw, str) and _SHOWABLE_ID.match(raw) else ""
    raise ApiError("unknown_network", f"Unknown network{shown}.", status)


def all_networks() -> list[Network]:
    return list(_NETWORKS)


def icon_svg(network: Network | str, size: int = 24, css_class: str = "ssw-icon") -> str:
    """The network's icon as an inline, decorative ``<svg>`` (the link around it carries the
    accessible name). ``fill="currentColor"``: the icon takes the text colour of its link."""
    net = network if isinstance(network, Network) else get(network)
    if net is None:
        raise KeyError(network)
    size = int(size)
    return (
        f'<svg class="{escape(css_class)}" aria-hidden="true" focusable="false" '
        f'viewBox="0 0 24 24" width="{size}" height="{size}" '
        f'xmlns="http://www.w3.org/2000/svg" fill="currentColor">'
        f'<path d="{escape(net.icon)}"/></svg>'
    )
