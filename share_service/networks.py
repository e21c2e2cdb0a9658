"""The one registry of networks: id, labels, share-URL template, parameters, popup, colour, icon.

Each entry's ``build`` turns plain values into that network's current official share URL.
Every value is percent-encoded with ``quote(..., safe="")`` (UTF-8, spaces as ``%20``, never ``+``),
so French accents, typographic apostrophes, « guillemets » and emoji survive every network.

Sources and traps are recorded in the README ("Networks"): Facebook ignores ``quote`` and reads
OpenGraph; LinkedIn's share-offsite takes the URL only; WhatsApp, Bluesky and Mastodon take
text only, so the URL goes inside the text; mailto wants ``%20`` for spaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

# Parameters a network may take (what the API accepts for it).
PARAMS = ("url", "title", "text", "hashtags", "via", "image")

MASTODON_PICKER = "https://share.joinmastodon.org/"
_INSTANCE_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


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


def _x(d: ShareInput) -> str:
    return query(
        "https://x.com/intent/tweet",
        [("text", d.message), ("url", d.url), ("hashtags", ",".join(d.hashtags)), ("via", d.via)],
    )


def _mastodon(d: ShareInput) -> str:
    text = d.message_with_url()
    if d.hashtags:
        text += " " + " ".join("#" + h for h in d.hashtags)
    if d.instance and valid_instance(d.instance):
        return query(f"https://{d.instance}/share", [("text", text)])
    return query(MASTODON_PICKER, [("text", text)])


def _email(d: ShareInput) -> str:
    body = f"{d.text}\n\n{d.url}" if d.text else d.url
    return query("mailto:", [("subject", d.title), ("body", body)])


def valid_instance(host: str) -> bool:
    """A Mastodon instance must be a public DNS name (no IP, port, path or credentials)."""
    return bool(_INSTANCE_RE.match(host.lower()))


_NETWORKS: list[Network] = [
    Network(
        id="facebook",
        name="Facebook",
        endpoint="https://www.facebook.com/sharer/sharer.php",
        takes=("url", "hashtags"),
        build=_facebook,
        color="#0866FF",
        icon="",
        popup=(600, 500),
    ),
    Network(
        id="x",
        name="X",
        endpoint="https://x.com/intent/tweet",
        takes=("url", "title", "text", "hashtags", "via"),
        build=_x,
        color="#000000",
        icon="",
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
        icon="",
        popup=(600, 600),
    ),
    Network(
        id="whatsapp",
        name="WhatsApp",
        endpoint="https://wa.me/",
        takes=("url", "title", "text"),
        build=lambda d: query("https://wa.me/", [("text", d.message_with_url())]),
        color="#25D366",
        icon="",
        popup=(600, 600),
    ),
    Network(
        id="telegram",
        name="Telegram",
        endpoint="https://t.me/share/url",
        takes=("url", "title", "text"),
        build=lambda d: query("https://t.me/share/url", [("url", d.url), ("text", d.message)]),
        color="#26A5E4",
        icon="",
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
        icon="",
        popup=(850, 650),
    ),
    Network(
        id="email",
        name="E-mail",
        endpoint="mailto:",
        takes=("url", "title", "text"),
        build=_email,
        color="#4B5563",
        icon="",
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
        icon="",
        popup=(750, 650),
    ),
    Network(
        id="bluesky",
        name="Bluesky",
        endpoint="https://bsky.app/intent/compose",
        takes=("url", "title", "text"),
        build=lambda d: query("https://bsky.app/intent/compose", [("text", d.message_with_url())]),
        color="#1185FE",
        icon="",
        popup=(600, 550),
    ),
    Network(
        id="threads",
        name="Threads",
        endpoint="https://www.threads.com/intent/post",
        takes=("url", "title", "text"),
        build=lambda d: query(
            "https://www.threads.com/intent/post", [("text", d.message), ("url", d.url)]
        ),
        color="#000000",
        icon="",
        popup=(600, 550),
    ),
    Network(
        id="mastodon",
        name="Mastodon",
        endpoint=MASTODON_PICKER,
        takes=("url", "title", "text", "hashtags"),
        build=_mastodon,
        color="#6364FF",
        icon="",
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
        icon="",
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
        icon="",
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
        icon="",
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
        icon="",
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


def all_networks() -> list[Network]:
    return list(_NETWORKS)
