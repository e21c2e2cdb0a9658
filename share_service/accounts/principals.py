"""Who is asking: a dashboard user or an API key, with a role and the sites it covers.

- Roles: ``viewer`` reads the statistics of its sites; ``admin`` also manages users, API keys and
  site settings. A user or key with no sites covers every site (``sites is None``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import ApiError

ROLES = ("viewer", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user (kind "user", name = e-mail) or an API key (kind "key")."""

    role: str
    sites: frozenset[str] | None  # None: every site
    name: str
    kind: str = "key"

    def can_read(self, site: str) -> bool:
        return self.role in ROLES and (self.sites is None or site in self.sites)

    def can_admin(self, site: str | None = None) -> bool:
        """Admin of ``site``; with no site: admin of every site (users and keys pages)."""
        if self.role != "admin":
            return False
        if site is None:
            return self.sites is None
        return self.sites is None or site in self.sites

    def readable(self, site_ids) -> list[str]:
        return [s for s in site_ids if self.can_read(s)]


def sites_field(sites) -> str:
    return json.dumps(sorted(set(sites))) if sites else ""


def parse_sites(raw: str | None) -> frozenset[str] | None:
    if not raw:
        return None
    return frozenset(json.loads(raw))


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ApiError("bad_role", f"Role must be one of {', '.join(ROLES)}.")


def check_sites(sites, known_sites) -> None:
    if known_sites is None:
        return
    for site in sites or ():
        if site not in known_sites:
            raise ApiError("unknown_site", f"No site is configured with id {site!r}.", 404)
