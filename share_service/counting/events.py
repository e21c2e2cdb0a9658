"""Events: what is counted, and the validation of event objects sent by clients.

Types (contracts.md): ``share`` (network required), ``copy``, ``qr``, ``native``, ``visit``
(a clickback; ``network`` is the utm_source: a network id or copy/qr/native/more_content, with
optional ``utm_medium`` / ``utm_campaign``), ``rec_impression`` and ``rec_click`` (``target``
required: the clicked article). A batch is one event object or ``{"events": [...]}`` of at most
:data:`MAX_BATCH`; one invalid event rejects the whole batch (ApiError, nothing counted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .. import keys, networks, urls
from ..config import resolve_site
from ..errors import ApiError

TYPES = ("share", "copy", "qr", "native", "visit", "rec_impression", "rec_click")
SHARING = frozenset({"share", "copy", "qr", "native"})  # feed the "unique sharers" HyperLogLogs
CHANNELS = frozenset(networks.CHANNELS)
MAX_BATCH = 50
UTM_VALUE = re.compile(r"^[a-z0-9_.-]{1,40}$")


@dataclass(slots=True)
class Event:
    """One countable event. ``url`` is canonical; ``network`` is the network id (share), the
    utm_source (visit) or empty; ``visitor`` the keyed visitor hash (hex); ``ts`` unix seconds;
    ``utm`` the (source, medium, campaign) triple of a visit when complete; ``target`` the
    canonical URL of a clicked recommendation."""

    site: str
    type: str
    network: str
    url: str
    aid: str
    visitor: str = ""
    ts: float = 0.0
    utm: tuple[str, str, str] | None = None
    target: str = ""

    def field(self) -> str:
        """The counter-hash field this event increments (contracts.md)."""
        if self.type == "share":
            return "share:" + self.network
        if self.type == "visit":
            return "visit:" + self.network
        return self.type


def network_id(raw, *, channels: bool = False) -> str:
    """Registry id of a network (aliases resolved); with ``channels`` also copy/qr/native/
    more_content. Unknown: ApiError unknown_network."""
    if not isinstance(raw, str) or not raw or len(raw) > 40:
        raise ApiError("unknown_network", "A known network id is required.", 400)
    low = raw.strip().lower()
    if channels and low in CHANNELS:
        return low
    net = networks.get(low)
    if net is None:
        raise ApiError("unknown_network", f"Unknown network {raw[:40]!r}.", 400)
    return net.id


@lru_cache(maxsize=16384)
def _article(settings_key: int, raw: str, site_id: str | None) -> tuple[str, str, str]:
    """(site id, canonical URL, aid) for an article URL; cached (URLs repeat far more than
    visitors). ``settings_key`` selects the settings registered in :data:`_SETTINGS`."""
    settings = _SETTINGS[settings_key]
    parts = urls.validate(raw, settings["MAX_URL_LENGTH"])
    site = resolve_site(settings, site_id, parts.hostname)
    urls.check_host(parts, site)
    canonical = urls.canonical(raw.strip())
    return site.id, canonical, keys.article_id(canonical)


# Settings dicts by id, for the cache key above. Holding a reference keeps each id unique for
# the life of the process (an id is never reused by a later app's settings).
_SETTINGS: dict[int, dict] = {}


def article(settings: dict, raw, site_id: str | None = None) -> tuple[str, str, str]:
    """Validate an article URL for a site (named, or found from the URL's host): returns
    (site id, canonical URL, article id) or raises ApiError."""
    if not isinstance(raw, str):
        raise ApiError("missing_url", "The 'url' field must be a string.")
    if site_id is not None and not isinstance(site_id, str):
        raise ApiError("unknown_site", "The 'site' field must be a string.")
    key = id(settings)
    _SETTINGS[key] = settings
    return _article(key, raw, site_id)


def _utm_value(name: str, raw) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not UTM_VALUE.match(raw.lower()):
        raise ApiError("invalid_utm", f"'{name}' must be 1-40 characters of a-z, 0-9, '_', '.', '-'.")
    return raw.lower()


def parse_event(obj, settings: dict) -> Event:
    """One event object -> :class:`Event` (visitor and time not yet set); ApiError if invalid."""
    if not isinstance(obj, dict):
        raise ApiError("invalid_event", "Each event must be a JSON object.")
    kind = obj.get("type")
    if kind not in TYPES:
        raise ApiError("invalid_event_type", f"'type' must be one of {', '.join(TYPES)}.")
    site_id, canonical, aid = article(settings, obj.get("url"), obj.get("site"))
    network, utm, target = "", None, ""
    if kind == "share":
        network = network_id(obj.get("network"))
    elif kind == "visit":
        network = network_id(obj.get("network"), channels=True)
        medium = _utm_value("utm_medium", obj.get("utm_medium"))
        campaign = _utm_value("utm_campaign", obj.get("utm_campaign"))
        if medium and campaign:
            utm = (network, medium, campaign)
    elif kind == "rec_click":
        if obj.get("target") is None:
            raise ApiError("missing_target", "A rec_click event needs the clicked 'target' URL.")
        _site, target, _aid = article(settings, obj.get("target"), site_id)
    return Event(site_id, kind, network, canonical, aid, utm=utm, target=target)


def parse_batch(body, settings: dict) -> list[Event]:
    """A request body (one event or ``{"events": [...]}``) -> events; all valid or ApiError."""
    if isinstance(body, dict) and "events" in body:
        items = body["events"]
        if not isinstance(items, list):
            raise ApiError("invalid_event", "'events' must be a list of event objects.")
    elif isinstance(body, dict):
        items = [body]
    else:
        raise ApiError("invalid_event", "The body must be an event object or {\"events\": [...]}.")
    if not items:
        raise ApiError("empty_batch", "The batch holds no event.")
    if len(items) > MAX_BATCH:
        raise ApiError("too_many_events", f"At most {MAX_BATCH} events per request.", 400)
    return [parse_event(item, settings) for item in items]
