"""Events: what is counted, and the validation of event objects sent by clients.

Types (contracts.md): ``share`` (network required), ``copy``, ``qr``, ``native``, ``visit``
(a clickback; ``network`` is the utm_source: a network id or copy/qr/native/more_content, with
optional ``utm_medium`` / ``utm_campaign``), ``rec_impression`` and ``rec_click`` (``target``
required: the clicked article; both with an optional ``method``, :data:`REC_METHODS`: how the
shown recommendations were chosen). A batch is one event object or ``{"events": [...]}`` of at
most :data:`MAX_BATCH`; one invalid event rejects the whole batch (ApiError, nothing counted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ApiError
from ..sharing import networks
from ..sharing.articles import Articles

TYPES = ("share", "copy", "qr", "native", "visit", "rec_impression", "rec_click")
SHARING = frozenset({"share", "copy", "qr", "native"})  # feed the "unique sharers" HyperLogLogs
MAX_BATCH = 50
UTM_VALUE = re.compile(r"^[a-z0-9_.-]{1,40}\Z")
# How « Plus de contenu » chose its items (the recommendations answer's "method"): shared words
# or semantic similarity. A rec_impression / rec_click carrying one is counted under the field
# "<type>:<method>" (stats.queries.fold adds it to the type's total and to the method's own).
REC_METHODS = ("words", "semantic")
RECOMMENDATION = frozenset({"rec_impression", "rec_click"})


@dataclass(slots=True)
class Event:
    """One countable event. ``url`` is canonical; ``network`` is the network id (share), the
    utm_source (visit) or empty; ``visitor`` the keyed visitor hash (hex); ``ts`` unix seconds;
    ``utm`` the (source, medium, campaign) triple of a visit when complete; ``target`` the
    canonical URL of a clicked recommendation; ``method`` how the recommendations shown were
    chosen (REC_METHODS), or empty when the client did not say."""

    site: str
    type: str
    network: str
    url: str
    aid: str
    visitor: str = ""
    ts: float = 0.0
    utm: tuple[str, str, str] | None = None
    target: str = ""
    method: str = ""

    def field(self) -> str:
        """The counter-hash field this event increments (contracts.md)."""
        if self.type == "share":
            return "share:" + self.network
        if self.type == "visit":
            return "visit:" + self.network
        if self.method:
            return self.type + ":" + self.method
        return self.type


def _utm_value(name: str, raw) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not UTM_VALUE.match(raw.lower()):
        raise ApiError("invalid_utm", f"'{name}' must be 1-40 characters of a-z, 0-9, '_', '.', '-'.")
    return raw.lower()


def parse_event(obj, articles: Articles) -> Event:
    """One event object -> :class:`Event` (visitor and time not yet set); ApiError if invalid.
    ``articles`` resolves the event's site and article URLs (sharing.articles)."""
    if not isinstance(obj, dict):
        raise ApiError("invalid_event", "Each event must be a JSON object.")
    kind = obj.get("type")
    if kind not in TYPES:
        raise ApiError("invalid_event_type", f"'type' must be one of {', '.join(TYPES)}.")
    article = articles.resolve(obj.get("url"), obj.get("site"))
    network, utm, target, method = "", None, "", ""
    if kind == "share":
        network = networks.require(obj.get("network"))
    elif kind == "visit":
        network = networks.require(obj.get("network"), channels=True)
        medium = _utm_value("utm_medium", obj.get("utm_medium"))
        campaign = _utm_value("utm_campaign", obj.get("utm_campaign"))
        if medium and campaign:
            utm = (network, medium, campaign)
    elif kind == "rec_click":
        if obj.get("target") is None:
            raise ApiError("missing_target", "A rec_click event needs the clicked 'target' URL.")
        target = articles.resolve(obj.get("target"), article.site.id).canonical
    if kind in RECOMMENDATION and obj.get("method") is not None:
        method = obj["method"]
        if method not in REC_METHODS:
            raise ApiError("invalid_method", f"'method' must be one of {', '.join(REC_METHODS)}.")
    return Event(article.site.id, kind, network, article.canonical, article.aid, utm=utm,
                 target=target, method=method)


def parse_batch(body, articles: Articles) -> list[Event]:
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
    return [parse_event(item, articles) for item in items]
