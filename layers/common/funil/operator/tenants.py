"""Tenants: created by the deployment's operator, each with its first API key, in one transaction."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from funil import keys
from funil.adapters.dynamo import Write, is_conditional_failure
from funil.operator.api_keys import CreatedKey, new_key
from funil.operator.errors import Conflict, NotFound
from funil.operator.models import ENTITY_ID, Tenant
from funil.operator.ports import Store
from funil.operator.records import apply_changes, refuse_nulls

FIRST_KEY_NAME = "primeira chave"


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, pattern=ENTITY_ID, description="Generated (t_…) when absent")
    name: str = Field(min_length=1, max_length=120)
    timezone: str = Field(default="America/Sao_Paulo", min_length=1, max_length=64)
    country: str = Field(default="br", pattern=r"^[a-z]{2}$", description="ISO 3166-1 alpha-2, lowercase")


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    country: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    enabled: bool | None = None


def tenant_view(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["tenant_id"],
        "name": item.get("name"),
        "timezone": item.get("timezone"),
        "country": item.get("country"),
        "enabled": item.get("enabled", True),
    }


def create_tenant(items: Store, request: TenantCreate, now: Callable[[], datetime]) -> tuple[Tenant, CreatedKey]:
    """The tenant and its first key, both or neither; Conflict when the id is taken."""
    tenant = Tenant(
        tenant_id=request.id or f"t_{secrets.token_hex(6)}",
        name=request.name,
        timezone=request.timezone,
        country=request.country,
    )
    key, key_write = new_key(tenant.tenant_id, FIRST_KEY_NAME, now())
    try:
        items.transact_write([Write(item=tenant.to_item(), condition="attribute_not_exists(pk)"), key_write])
    except Exception as error:
        if is_conditional_failure(error):
            raise Conflict(f"tenant {tenant.tenant_id} already exists") from error
        raise
    return tenant, key


def get_tenant(items: Store, tenant_id: str) -> dict[str, Any]:
    item = items.get(*keys.tenant(tenant_id))
    if item is None:
        raise NotFound(f"no tenant {tenant_id}")
    return item


def update_tenant(items: Store, tenant_id: str, request: TenantUpdate) -> dict[str, Any]:
    refuse_nulls(request, request.model_fields_set, frozenset())  # nothing of a tenant may be empty
    changes = request.model_dump(exclude_none=True)
    return apply_changes(items, keys.tenant(tenant_id), changes, tenant_id, f"tenant {tenant_id}")
