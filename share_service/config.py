"""The one configuration loader.

Precedence, lowest first: ``config/defaults.toml`` < the settings file named by
``SHARE_SERVICE_CONFIG`` < the environment < the overrides given to ``create_app``.
``config/defaults.toml`` is the only list of options, each documented beside its default:

* an unknown key in the settings file stops start-up with a ConfigError naming the closest
  known option (a misspelt option is never silently ignored);
* an unknown ``SHARE_SERVICE_*`` variable is logged with the closest option, never fatal;
* options renamed since (:data:`RENAMED`) are accepted under their old name, with a warning.

This module knows nothing about Flask: :func:`load_settings` returns a plain dict and
:class:`Site` objects, so the CLI, tests and benchmarks can use it directly.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import ipaddress
import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = ROOT / "config" / "defaults.toml"
ENV_PREFIX = "SHARE_SERVICE_"
# Options also read from the environment under their bare name.
BARE_ENV = ("REDIS_URL", "REDIS_CLUSTER_NODES", "SECRET_KEY", "RATELIMIT_ENABLED")
# SHARE_SERVICE_* variables that are not options.
ENV_ONLY = frozenset({ENV_PREFIX + "CONFIG"})
# Old option names, still accepted (settings file, environment, overrides) with a warning.
RENAMED = {
    "DEDUPE_WINDOW_SECONDS": "COUNTING_DEDUPE_WINDOW_SECONDS",
    "RETENTION_DAYS": "COUNTING_RETENTION_DAYS",
    "FLUSH_INTERVAL_MS": "COUNTING_FLUSH_INTERVAL_MS",
    "FLUSH_MAX_EVENTS": "COUNTING_FLUSH_MAX_EVENTS",
    "COUNT_BOTS": "COUNTING_COUNT_BOTS",
    "FETCH_ALLOW_PRIVATE": "CATALOGUE_FETCH_ALLOW_PRIVATE",
    "FETCH_CONNECT_TIMEOUT": "CATALOGUE_FETCH_CONNECT_TIMEOUT",
    "FETCH_READ_TIMEOUT": "CATALOGUE_FETCH_READ_TIMEOUT",
    "FETCH_MAX_BYTES": "CATALOGUE_FETCH_MAX_BYTES",
    "FETCH_MAX_REDIRECTS": "CATALOGUE_FETCH_MAX_REDIRECTS",
    "FETCH_USER_AGENT": "CATALOGUE_FETCH_USER_AGENT",
    "INGEST_MAX_PAGES": "CATALOGUE_INGEST_MAX_PAGES",
    "INGEST_MAX_SITEMAPS": "CATALOGUE_INGEST_MAX_SITEMAPS",
    "INGEST_MAX_ITEMS": "CATALOGUE_INGEST_MAX_ITEMS",
    "LOGIN_MAX_ATTEMPTS": "ACCOUNTS_LOGIN_MAX_ATTEMPTS",
    "SESSION_LIFETIME_HOURS": "ACCOUNTS_SESSION_LIFETIME_HOURS",
}
log = logging.getLogger("share_service.config")

# Hosts of a publisher's development server: their origins are accepted on any port.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# A browser origin as configured: scheme://host[:port], or scheme://host:* (any port).
_ORIGIN = re.compile(r"^(https?)://(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(:(?:\d{1,5}|\*))?$")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which option and why."""


@dataclass(frozen=True)
class Utm:
    enabled: bool = True
    source: str = "{network}"
    medium: str = "social"
    campaign: str = "share"


@dataclass(frozen=True)
class RecommendWeights:
    """How « Plus de contenu » weighs its signals ([site_defaults.recommendations.weights]
    in config/defaults.toml documents each)."""

    semantic: float = 0.85
    content: float = 0.09
    tags: float = 0.0375
    section: float = 0.0225
    recency: float = 0.15
    popularity: float = 0.15


@dataclass(frozen=True)
class Site:
    """One publisher site: which article hosts it owns and how its links look."""

    id: str
    name: str
    allowed_hosts: tuple[str, ...]
    networks: tuple[str, ...]
    lang: str = "fr"
    timezone: str = "Europe/Paris"
    twitter_via: str = ""
    hashtags: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    utm: Utm = field(default_factory=Utm)
    max_age_days: int = 365
    excluded_sections: tuple[str, ...] = ()
    # « Plus de contenu » items shown by default (widget, /embed, share HTML); 0: none.
    more: int = 4
    # Origins added to the others (CORS_ORIGINS, for the default site).
    extra_origins: tuple[str, ...] = ()
    weights: RecommendWeights = field(default_factory=RecommendWeights)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for allowed in self.allowed_hosts:
            if allowed.startswith("*."):
                if host == allowed[2:] or host.endswith(allowed[1:]):
                    return True
            elif host == allowed:
                return True
        return False

    def allowed_origins(self) -> tuple[str, ...]:
        """The browser origins that may read the widget API and frame /embed: the site's
        ``cors_origins``, else https:// and http:// of its allowed hosts (on any port for a
        loopback host, a publisher's development server: ``http://localhost:*``), plus
        ``extra_origins``. Entries are normalized origins; ``:*`` stands for any port."""
        if self.cors_origins:
            return self.cors_origins + self.extra_origins
        origins = []
        for host in self.allowed_hosts:
            if host.startswith("*."):
                continue
            shown = f"[{host}]" if ":" in host else host
            port = ":*" if host in LOOPBACK_HOSTS else ""
            origins += [f"https://{shown}{port}", f"http://{shown}{port}"]
        return tuple(origins) + self.extra_origins


def instance_path(settings: dict) -> Path:
    """The instance folder (local state: embedded Redis, secret key, index snapshots)."""
    path = Path(settings["INSTANCE_PATH"])
    return path if path.is_absolute() else ROOT / path


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"settings file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file {path} is not valid TOML: {exc}") from exc


def _coerce(name: str, raw: str, default):
    """Convert an environment string to the type of the option's default."""
    try:
        if isinstance(default, bool):
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, list):
            return [part.strip() for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: expected {type(default).__name__}") from exc
    return raw


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _closest(name: str, known) -> str:
    """' (did you mean X?)' for the known name closest to ``name``, or ''."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def _renamed(name: str, where: str) -> str:
    """The current name of option ``name`` (an old name is accepted, with a warning)."""
    new = RENAMED.get(name)
    if new is None:
        return name
    log.warning("%s: option %s is now called %s; the old name still works for now", where,
                name, new)
    return new


def _check_table(table: dict, known: dict, where: str) -> None:
    """Every key of a settings-file table must be known (nested tables checked too)."""
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown option {key!r}{_closest(key, known)}")
        if isinstance(known[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {key!r} must be a table")
            _check_table(value, known[key], f"{where}.{key}")


def _file_settings(path: Path, defaults: dict) -> dict:
    """The settings file's options, checked: an unknown key stops start-up (a misspelt option
    must not be silently ignored); old names are renamed with a warning."""
    raw = _read_toml(path)
    out: dict = {}
    for key, value in raw.items():
        name = _renamed(key, str(path))
        if name not in defaults and name != "sites":
            raise ConfigError(f"{path}: unknown option {key!r}{_closest(key, defaults)}")
        out[name] = value
    _check_table(out.get("site_defaults", {}), defaults["site_defaults"], f"{path}: site_defaults")
    for site_id, table in (out.get("sites") or {}).items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: sites.{site_id} must be a table")
        _check_table(table, defaults["site_defaults"], f"{path}: sites.{site_id}")
    return out


def _environment(environ, defaults: dict) -> dict:
    """Options from ``SHARE_SERVICE_<OPTION>`` (and the bare names of BARE_ENV). An unknown
    ``SHARE_SERVICE_*`` variable is logged and ignored: it never stops start-up (Kubernetes
    injects SHARE_SERVICE_PORT and the like for a Service named share-service)."""
    out: dict = {}
    for var, raw in environ.items():
        if not var.startswith(ENV_PREFIX) or var in ENV_ONLY:
            continue
        name = _renamed(var[len(ENV_PREFIX):], "environment")
        default = defaults.get(name)
        if name not in defaults or isinstance(default, dict):
            log.warning("environment: %s is not an option of share_service and is ignored%s",
                        var, _closest(var, [ENV_PREFIX + n for n in defaults
                                            if not isinstance(defaults[n], dict)]))
            continue
        out[name] = _coerce(var, raw, default)
    for name in BARE_ENV:
        if name not in out and environ.get(name) is not None:
            out[name] = _coerce(name, environ[name], defaults[name])
    return out


def load_settings(overrides: dict | None = None, environ: dict | None = None) -> dict:
    """Return the merged settings dict, with ``SITES`` holding :class:`Site` objects by id."""
    environ = os.environ if environ is None else environ
    defaults = _read_toml(DEFAULTS_FILE)
    settings = dict(defaults)
    overrides = {_renamed(k, "create_app overrides"): v for k, v in (overrides or {}).items()}

    settings_file = overrides.get("SHARE_SERVICE_CONFIG") or environ.get(ENV_PREFIX + "CONFIG")
    if settings_file:
        path = Path(settings_file)
        if not path.is_absolute():
            path = (Path.cwd() / path) if path.exists() else ROOT / path
        settings = _merge(settings, _file_settings(path, defaults))

    settings.update(_environment(environ, defaults))
    settings = _merge(settings, {k: v for k, v in overrides.items()
                                 if k not in ("SITES", "SHARE_SERVICE_CONFIG")})

    settings["SITES"] = build_sites(settings, overrides.get("SITES"))
    if settings["DEFAULT_SITE"] not in settings["SITES"]:
        settings["DEFAULT_SITE"] = next(iter(settings["SITES"]))
    extra = settings.get("CORS_ORIGINS") or []
    if extra:
        default = settings["SITES"][settings["DEFAULT_SITE"]]
        settings["SITES"][default.id] = dataclasses.replace(
            default, extra_origins=origins_list(extra, "CORS_ORIGINS"))
    _validate(settings)
    return settings


def normalize_origin(value, where: str) -> str:
    """A configured browser origin, lower-cased, without a trailing slash: ``https://host``,
    ``http://host:8080`` or ``http://host:*`` (any port). ConfigError for anything else (a
    path, a query, a wildcard host...): a typo must not open CORS or framing to the wrong page."""
    origin = value.strip().lower().rstrip("/") if isinstance(value, str) else ""
    if not _ORIGIN.match(origin):
        raise ConfigError(f"{where}: {value!r} is not an origin such as https://www.example.fr "
                          "or http://localhost:* (scheme, host, optional port; no path)")
    return origin


def origins_list(values, where: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple):
        raise ConfigError(f"{where}: expected a list of origins")
    return tuple(dict.fromkeys(normalize_origin(v, where) for v in values))


def build_sites(settings: dict, site_overrides: dict | None = None) -> dict[str, Site]:
    """Build the sites from ``[sites.*]`` tables (or the single default site)."""
    base = settings.get("site_defaults", {})
    declared = dict(settings.get("sites") or {})
    if site_overrides:
        declared = _merge(declared, site_overrides)
    if not declared:
        declared = {settings["DEFAULT_SITE"]: {"allowed_hosts": settings["ALLOWED_HOSTS"]}}
    sites = {}
    for site_id, table in declared.items():
        if isinstance(table, Site):
            sites[site_id] = table
            continue
        merged = _merge(base, table)
        sites[site_id] = make_site(site_id, merged)
    return sites


def make_site(site_id: str, table: dict) -> Site:
    from .sharing import networks  # late import: the registry validates network ids

    if not site_id.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"site id {site_id!r}: use letters, digits, '-' and '_' only")
    net_ids = []
    for net in table.get("networks", []):
        spec = networks.get(net)
        if spec is None:
            raise ConfigError(f"site {site_id}: unknown network {net!r}")
        if spec.id not in net_ids:
            net_ids.append(spec.id)
    utm = Utm(**{**Utm().__dict__, **table.get("utm", {})})
    rec = table.get("recommendations", {})
    more = rec.get("more", 4)
    if isinstance(more, bool) or not isinstance(more, int) or more < 0:
        raise ConfigError(f"site {site_id}: recommendations.more must be a whole number of "
                          f"items (0 or more), not {more!r}")
    try:
        ZoneInfo(table.get("timezone", "Europe/Paris"))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"site {site_id}: unknown time zone {table.get('timezone')!r}") from exc
    return Site(
        id=site_id,
        name=table.get("name") or site_id,
        allowed_hosts=tuple(h.strip().lower() for h in table.get("allowed_hosts", []) if h.strip()),
        networks=tuple(net_ids),
        lang=table.get("lang", "fr"),
        timezone=table.get("timezone", "Europe/Paris"),
        twitter_via=table.get("twitter_via", "").lstrip("@"),
        hashtags=tuple(h.lstrip("#") for h in table.get("hashtags", [])),
        cors_origins=origins_list(table.get("cors_origins", []), f"site {site_id}: cors_origins"),
        utm=utm,
        max_age_days=int(rec.get("max_age_days", 365)),
        excluded_sections=tuple(rec.get("excluded_sections", [])),
        more=more,
        weights=_weights(site_id, rec.get("weights", {})),
    )


def _weights(site_id: str, table: dict) -> RecommendWeights:
    try:
        weights = RecommendWeights(**{k: float(v) for k, v in table.items()})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"site {site_id}: recommendations.weights: {exc}") from exc
    values = weights.__dict__
    if any(v < 0 for v in values.values()):
        raise ConfigError(f"site {site_id}: recommendations.weights must not be negative")
    if weights.recency + weights.popularity > 1:
        raise ConfigError(f"site {site_id}: recommendations.weights: recency + popularity "
                          "must not exceed 1")
    if weights.content + weights.tags + weights.section <= 0:
        raise ConfigError(f"site {site_id}: recommendations.weights: content, tags and "
                          "section cannot all be 0")
    return weights


def _validate(settings: dict) -> None:
    if settings["QR_MIN_SIZE"] > settings["QR_MAX_SIZE"]:
        raise ConfigError("QR_MIN_SIZE must not exceed QR_MAX_SIZE")
    if settings["COUNTING_DEDUPE_WINDOW_SECONDS"] < 1:
        raise ConfigError("COUNTING_DEDUPE_WINDOW_SECONDS must be at least 1")
    if settings["COUNTING_RETENTION_DAYS"] < 1:
        raise ConfigError("COUNTING_RETENTION_DAYS must be at least 1")
    if settings["LOG_FORMAT"] not in ("text", "json"):
        raise ConfigError("LOG_FORMAT must be \"text\" or \"json\"")
    if settings["COUNTING_BUFFER_MAX_EVENTS"] < 1:
        raise ConfigError("COUNTING_BUFFER_MAX_EVENTS must be at least 1")
    if settings["COUNTING_REPLAY_MAX_AGE_HOURS"] <= 0:
        raise ConfigError("COUNTING_REPLAY_MAX_AGE_HOURS must be positive")
    for name in ("RATELIMIT_EVENTS", "RATELIMIT_REDIRECTS"):
        try:
            parse_many(settings[name])
        except ValueError as exc:
            raise ConfigError(f"{name}={settings[name]!r}: not a rate limit "
                              "(e.g. \"120/minute\")") from exc
    for entry in settings["METRICS_ALLOW"]:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ConfigError(f"METRICS_ALLOW: {entry!r} is not an address or network") from exc
    url = settings["REDIS_URL"]
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL must start with redis://, rediss:// or unix://")
    nodes = settings["REDIS_CLUSTER_NODES"]
    if isinstance(nodes, str):  # a settings file or an override may give one string
        nodes = settings["REDIS_CLUSTER_NODES"] = [n.strip() for n in nodes.split(",") if n.strip()]
    if nodes:
        from .storage.client import parse_nodes

        try:
            parse_nodes(nodes)
        except ValueError as exc:
            raise ConfigError(f"REDIS_CLUSTER_NODES: {exc}") from exc
