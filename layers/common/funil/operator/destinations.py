"""Destinations: where a tenant's sale events go besides Meta (docs/destinations.md).

One item per destination (``DEST#<id>`` / ``DEST``, pattern 48) with its kind, the events it takes,
its settings, and its one secret encrypted under the item's context (``funil.encryption``): UTMify's
API token, TikTok's access token, GA4's API secret, or a webhook's signing secret. A secret is
never shown again, but a webhook's signing secret that Funil generated is shown once, in the answer
that creates the destination (the receiver needs it to verify signatures).

Input is checked before anything is written: a webhook URL must be ``https://`` to a DNS name
(no IP address, no ``localhost``, no credentials, no fragment).
"""

from __future__ import annotations

import ipaddress
import secrets as random
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from funil import encryption, keys
from funil.adapters.dynamo import is_conditional_failure
from funil.clock import iso
from funil.destinations.models import SALE_EVENTS, DestinationKind
from funil.operator.errors import Invalid, NotFound
from funil.operator.models import ENTITY_ID
from funil.operator.ports import OperatorDeps, Store
from funil.operator.records import apply_changes, put_new, refuse_nulls, tenant_item
from funil.ports import Secrets

SECRET_RE = r"^[\x21-\x7e]{8,1024}$"  # noqa: S105 - a pattern: printable ASCII, as tokens are issued
SIGNING_SECRET_BYTES = 32
EventName = Literal["InitiateCheckout", "Purchase", "Refund"]
ALL_EVENTS: list[EventName] = [kind.value for kind in SALE_EVENTS]  # type: ignore[misc]
MAX_URL = 2048


def check_webhook_url(url: str) -> str:
    """An https URL to a DNS name; ValueError otherwise (pydantic turns it into a 422 on ``url``)."""
    if len(url) > MAX_URL or any(ord(char) < 0x21 or ord(char) > 0x7E for char in url):
        raise ValueError("must be a printable URL of at most 2048 characters")
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise ValueError("must start with https://")
    if parts.username or parts.password or parts.fragment:
        raise ValueError("may carry no credentials and no #fragment")
    host = (parts.hostname or "").rstrip(".")
    if not host or "." not in host or host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise ValueError("must name a public host")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValueError("must name a host, not an IP address")
    try:
        _ = parts.port
    except ValueError as error:
        raise ValueError("has an invalid port") from error
    return url


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, pattern=ENTITY_ID, description="Default: dst_<random>")
    events: list[EventName] | None = Field(
        default=None, min_length=1, max_length=3, description="Events sent (default: all three)"
    )
    enabled: bool = True


class UtmifyCreate(_Common):
    kind: Literal["utmify"]
    api_token: str = Field(pattern=SECRET_RE, description="UTMify's API credential (x-api-token); stored encrypted")
    platform: str = Field(default="Funil", pattern=r"^[A-Za-z0-9 _.-]{1,64}$", description="UTMify's `platform`")
    test: bool = Field(default=False, description="Orders sent with isTest: true")


class TiktokCreate(_Common):
    kind: Literal["tiktok"]
    pixel_code: str = Field(pattern=r"^[A-Z0-9]{8,64}$", description="The TikTok pixel code (event_source_id)")
    access_token: str = Field(pattern=SECRET_RE, description="An Events API access token; stored encrypted")
    test_event_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")


class Ga4Create(_Common):
    kind: Literal["ga4"]
    measurement_id: str = Field(pattern=r"^G-[A-Z0-9]{4,20}$", description="The web stream's measurement id")
    api_secret: str = Field(pattern=SECRET_RE, description="A Measurement Protocol API secret; stored encrypted")


class WebhookCreate(_Common):
    kind: Literal["webhook"]
    url: str = Field(max_length=MAX_URL, description="https URL the signed events are POSTed to")
    signing_secret: str | None = Field(
        default=None, pattern=r"^[\x21-\x7e]{32,256}$", description="Default: generated, shown once in the answer"
    )

    @field_validator("url")
    @classmethod
    def _https(cls, url: str) -> str:
        return check_webhook_url(url)


DestinationCreate = Annotated[UtmifyCreate | TiktokCreate | Ga4Create | WebhookCreate, Field(discriminator="kind")]


class DestinationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=3)
    secret: str | None = Field(default=None, pattern=SECRET_RE, description="A new token / API secret / signing secret")


SECRET_FIELDS = {"utmify": "api_token", "tiktok": "access_token", "ga4": "api_secret", "webhook": "signing_secret"}
CONFIG_FIELDS = {
    "utmify": ("platform", "test"),
    "tiktok": ("pixel_code", "test_event_code"),
    "ga4": ("measurement_id",),
    "webhook": ("url",),
}


def destination_view(item: dict[str, Any]) -> dict[str, Any]:
    """A stored destination as the API shows it: never its secret, nor the ciphertext."""
    return {
        "id": item["destination_id"],
        "kind": item.get("kind"),
        "enabled": item.get("enabled", True),
        "events": list(item.get("events") or []),
        "config": dict(item.get("config") or {}),
        "secret_set": bool(item.get(encryption.DESTINATION_SECRET)),
        "created_at": item.get("created_at"),
    }


def tenant_destination(items: Store, tenant_id: str, destination_id: str) -> dict[str, Any]:
    return tenant_item(items, keys.destination(destination_id), tenant_id, f"destination {destination_id}")


def _events(given: list[EventName] | None) -> list[str]:
    chosen = set(given or ALL_EVENTS)
    return [name for name in ALL_EVENTS if name in chosen]


def destination_item(
    secrets: Secrets,
    key_id: str,
    *,
    tenant_id: str,
    destination_id: str,
    kind: DestinationKind,
    config: Mapping[str, Any],
    secret: str,
    created_at: datetime,
    enabled: bool = True,
    events: Sequence[str] = ALL_EVENTS,
) -> dict[str, Any]:
    """A destination's item (pattern 48), its secret encrypted under the item's own context."""
    key = keys.destination(destination_id)
    return {
        "pk": key[0],
        "sk": key[1],
        "type": "destination",
        "tenant_id": tenant_id,
        "destination_id": destination_id,
        "kind": kind.value,
        "enabled": enabled,
        "events": list(events),
        "config": dict(config),
        encryption.DESTINATION_SECRET: encryption.encrypt_field(
            secrets, key_id, key, encryption.DESTINATION_SECRET, secret
        ),
        "created_at": iso(created_at),
        **keys.tenant_destination_index(tenant_id, destination_id),
    }


def create_destination(
    deps: OperatorDeps, tenant_id: str, request: UtmifyCreate | TiktokCreate | Ga4Create | WebhookCreate
) -> dict[str, Any]:
    destination_id = request.id or f"dst_{random.token_hex(6)}"
    generated = None
    secret = getattr(request, SECRET_FIELDS[request.kind])
    if secret is None:  # a webhook without a signing secret of the seller's
        secret = generated = random.token_urlsafe(SIGNING_SECRET_BYTES)
    config = {
        name: getattr(request, name) for name in CONFIG_FIELDS[request.kind] if getattr(request, name) is not None
    }
    item = destination_item(
        deps.secrets,
        deps.key_id,
        tenant_id=tenant_id,
        destination_id=destination_id,
        kind=DestinationKind(request.kind),
        config=config,
        secret=secret,
        created_at=deps.now(),
        enabled=request.enabled,
        events=_events(request.events),
    )
    put_new(deps.items, item, f"destination {destination_id} already exists")
    view = destination_view(item)
    return {**view, "signing_secret": generated} if generated else view


def update_destination(
    deps: OperatorDeps, tenant_id: str, destination_id: str, request: DestinationUpdate
) -> dict[str, Any]:
    given = request.model_fields_set
    refuse_nulls(request, given, frozenset())
    key = keys.destination(destination_id)
    changes: dict[str, Any] = {}
    if request.enabled is not None:
        changes["enabled"] = request.enabled
    if request.events is not None:
        changes["events"] = _events(request.events)
    if request.secret is not None:
        tenant_destination(deps.items, tenant_id, destination_id)  # NotFound before KMS is asked
        changes[encryption.DESTINATION_SECRET] = encryption.encrypt_field(
            deps.secrets, deps.key_id, key, encryption.DESTINATION_SECRET, request.secret
        )
    return destination_view(apply_changes(deps.items, key, changes, tenant_id, f"destination {destination_id}"))


def delete_destination(items: Store, tenant_id: str, destination_id: str) -> dict[str, Any]:
    """Remove the destination (its delivery records stay until their TTL); its last view."""
    item = tenant_destination(items, tenant_id, destination_id)
    try:
        items.delete(*keys.destination(destination_id), condition="attribute_exists(pk)")
    except Exception as error:
        if is_conditional_failure(error):
            raise NotFound(f"no destination {destination_id}") from error
        raise
    return destination_view(item)


__all__ = [
    "DestinationCreate",
    "DestinationUpdate",
    "Invalid",
    "create_destination",
    "delete_destination",
    "destination_view",
    "tenant_destination",
    "update_destination",
]
