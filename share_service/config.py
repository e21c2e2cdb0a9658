"""The one configuration loader.

Precedence, lowest first: ``config/defaults.toml`` < the settings file named by
``SHARE_SERVICE_CONFIG`` < the environment < the overrides given to ``create_app``.
Every option is documented beside its default in ``config/defaults.toml``.

This module knows nothing about Flask: :func:`load_settings` returns a plain dict and
:class:`Site` objects, so the CLI, tests and benchmarks can use it directly.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = ROOT / "config" / "defaults.toml"
ENV_PREFIX = "SHARE_SERVICE_"
BARE_ENV = ("REDIS_URL", "SECRET_KEY")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which option and why."""


@dataclass(frozen=True)
class Utm:
    enabled: bool = True
    source: str = "{network}"
    medium: str = "social"
    campaign: str = "share"


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
        if self.cors_origins:
            return self.cors_origins
        origins = []
        for host in self.allowed_hosts:
            if host.startswith("*."):
                continue
            origins += [f"https://{host}", f"http://{host}"]
        return tuple(origins)


def instance_path(settings: dict) -> Path:
    """The instance folder (local state: embedded Redis, secret key, index snapshots)."""
    path = Path(settings["INSTANCE_PATH"])
    return path if path.is_absolute() else ROOT / path


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
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


def load_settings(overrides: dict | None = None, environ: dict | None = None) -> dict:
    """Return the merged settings dict, with ``SITES`` holding :class:`Site` objects by id."""
    environ = os.environ if environ is None else environ
    defaults = _read_toml(DEFAULTS_FILE)
    settings = dict(defaults)

    settings_file = (overrides or {}).get("SHARE_SERVICE_CONFIG") or environ.get(
        ENV_PREFIX + "CONFIG"
    )
    if settings_file:
        path = Path(settings_file)
        if not path.is_absolute():
            path = (Path.cwd() / path) if path.exists() else ROOT / path
        settings = _merge(settings, _read_toml(path))

    for name, default in defaults.items():
        if isinstance(default, dict):
            continue
        raw = environ.get(ENV_PREFIX + name)
        if raw is None and name in BARE_ENV:
            raw = environ.get(name)
        if raw is not None:
            settings[name] = _coerce(name, raw, default)

    if overrides:
        settings = _merge(settings, {k: v for k, v in overrides.items() if k != "SITES"})

    settings["SITES"] = build_sites(settings, (overrides or {}).get("SITES"))
    if settings["DEFAULT_SITE"] not in settings["SITES"]:
        settings["DEFAULT_SITE"] = next(iter(settings["SITES"]))
    _validate(settings)
    return settings


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
        cors_origins=tuple(table.get("cors_origins", [])),
        utm=utm,
        max_age_days=int(rec.get("max_age_days", 365)),
        excluded_sections=tuple(rec.get("excluded_sections", [])),
    )


def _validate(settings: dict) -> None:
    if settings["QR_MIN_SIZE"] > settings["QR_MAX_SIZE"]:
        raise ConfigError("QR_MIN_SIZE must not exceed QR_MAX_SIZE")
    if settings["DEDUPE_WINDOW_SECONDS"] < 1:
        raise ConfigError("DEDUPE_WINDOW_SECONDS must be at least 1")
    if settings["RETENTION_DAYS"] < 1:
        raise ConfigError("RETENTION_DAYS must be at least 1")
    url = settings["REDIS_URL"]
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL must start with redis://, rediss:// or unix://")
