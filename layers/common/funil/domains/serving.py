"""The redirect's view of the host a click came through (docs/domains.md).

The deployment's own host (the API's ``execute-api`` name, or any host without a ``DOMAIN`` item,
which can only reach the API through a domain the deployer mapped) serves every link as before. A
tenant's domain serves only its tenant's links; a flagged one sends its visitors to its spare (the
tenant's oldest active domain, written on the flagged item by ``funil.domains.manage`` whenever one
of the tenant's domains changes state), so the link itself never changes; a pending or failed one
serves nothing. One cached GetItem per host per TTL (unknown hosts cached too), no write, standard
library only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from funil import keys
from funil.domains.hosts import is_aws_host
from funil.domains.status import ACTIVE, FLAGGED
from funil.ttl_cache import TtlCache


class DomainItems(Protocol):
    def get(self, pk: str, sk: str, consistent: bool = False) -> dict[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class Site:
    """A tenant's domain as the redirect serves it."""

    host: str
    tenant_id: str
    status: str
    cookie_domain: str | None  # the registrable parent the click's cookies are set on
    spare: str | None = None  # flagged: where its visitors are sent (None: no active domain to send them to)

    @property
    def serves(self) -> bool:
        """Active, or flagged without a spare (the visitor is already here: better served than lost)."""
        return self.status == ACTIVE or (self.status == FLAGGED and self.spare is None)


def site_from_item(item: Mapping[str, Any] | None, host: str) -> Site | None:
    if item is None or item.get("type") != "domain" or item.get("host") != host or not item.get("tenant_id"):
        return None
    status = str(item.get("status") or "")
    cookie_domain = item.get("cookie_domain")
    spare = item.get("spare_host") if status == FLAGGED else None
    return Site(
        host=host,
        tenant_id=str(item["tenant_id"]),
        status=status,
        cookie_domain=str(cookie_domain) if cookie_domain else None,
        spare=str(spare) if spare and spare != host else None,
    )


class Sites:
    """Sites by host, cached per container for ``ttl_seconds`` (as ``funil.click.storage.Links``; unknown hosts too)."""

    def __init__(
        self, items: DomainItems, ttl_seconds: float = 30.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.items = items
        self._cache: TtlCache[str, Site | None] = TtlCache(ttl_seconds, monotonic)

    def site(self, host: str | None) -> Site | None:
        """The tenant's domain ``host`` is, or None: the deployment's own host (no lookup for AWS's names)."""
        if host is None or is_aws_host(host):
            return None
        return self._cache.get(host, self._load)

    def _load(self, host: str) -> Site | None:
        return site_from_item(self.items.get(*keys.domain(host)), host)
