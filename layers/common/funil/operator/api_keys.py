"""API keys: ``fnl_<43 url-safe characters>`` (256 random bits), shown once, stored as their SHA-256.

A key belongs to one tenant, or to the deployment's operator (``tenant_id`` None: creates tenants).
The item is keyed by the hash (``APIKEY#<sha256>``), so authenticating a request is one consistent
GetItem (and one of its tenant's item: a disabled tenant's keys are refused); gsi1 lists a tenant's
keys (``TENANT#<t>`` / ``KEY#<id>``) and the operator's (``OPERATOR``).
``last_used_at`` is written at most once a minute per key: a busy script must not turn every
request into a write.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from funil import keys
from funil.adapters.dynamo import Write, is_conditional_failure
from funil.clock import iso
from funil.operator.errors import NotFound, Unauthorized
from funil.ports import Items

log = logging.getLogger(__name__)

PREFIX = "fnl_"
KEY_BYTES = 32
LAST_USED_EVERY = timedelta(minutes=1)

__all__ = ["Caller", "CreatedKey", "KeyCreate", "authenticate", "create_key", "create_operator_key", "key_view"]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80, description="What the key is for: 'painel', 'n8n', 'CI'")


@dataclass(frozen=True)
class Caller:
    """Who is asking: a key and its tenant (None: the deployment's operator)."""

    key_id: str
    tenant_id: str | None

    @property
    def is_operator(self) -> bool:
        return self.tenant_id is None


@dataclass(frozen=True)
class CreatedKey:
    id: str
    name: str
    key: str  # the plaintext: shown once, never stored
    prefix: str
    created_at: str
    tenant_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "key": self.key,
            "prefix": self.prefix,
            "tenant_id": self.tenant_id,
            "created_at": self.created_at,
            "last_used_at": None,
            "revoked_at": None,
        }


def key_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def new_key(tenant_id: str | None, name: str, now: datetime) -> tuple[CreatedKey, Write]:
    """A fresh key and the write that stores it (put in a transaction with the tenant it comes with)."""
    plaintext = PREFIX + secrets.token_urlsafe(KEY_BYTES)
    created = CreatedKey(
        id=f"key_{secrets.token_hex(8)}",
        name=name,
        key=plaintext,
        prefix=plaintext[: len(PREFIX) + 6],
        created_at=iso(now),
        tenant_id=tenant_id,
    )
    pk, sk = keys.api_key(key_hash(plaintext))
    item = {
        "pk": pk,
        "sk": sk,
        "type": "api_key",
        **keys.key_index(tenant_id, created.id),
        "key_id": created.id,
        "name": name,
        "prefix": created.prefix,
        "created_at": created.created_at,
        **({"tenant_id": tenant_id} if tenant_id else {"operator": True}),
    }
    return created, Write(item=item, condition="attribute_not_exists(pk)")


def create_key(items: Any, tenant_id: str | None, name: str, now: Callable[[], datetime]) -> CreatedKey:
    created, write = new_key(tenant_id, name, now())
    items.put(write.item, condition=write.condition)
    return created


def create_operator_key(items: Any, name: str, now: Callable[[], datetime]) -> CreatedKey:
    """The deployment operator's key (``funil bootstrap``, with the deployer's AWS credentials)."""
    return create_key(items, None, name, now)


def authenticate(items: Items, authorization: str | None, now: datetime) -> Caller:
    """The caller of ``Authorization: Bearer fnl_…``; Unauthorized for a missing, unknown or revoked
    key, and for a key of a tenant the operator disabled (or that no longer exists)."""
    scheme, _, plaintext = (authorization or "").strip().partition(" ")
    plaintext = plaintext.strip()
    if scheme.lower() != "bearer" or not plaintext.startswith(PREFIX) or len(plaintext) > 200:
        raise Unauthorized("an API key is required: Authorization: Bearer fnl_…")
    pk, sk = keys.api_key(key_hash(plaintext))
    item = items.get(pk, sk, consistent=True)  # a key revoked a moment ago is refused at once
    if item is None or item.get("revoked_at"):
        raise Unauthorized("unknown or revoked API key")
    tenant_id = item.get("tenant_id")
    if tenant_id:
        tenant = items.get(*keys.tenant(str(tenant_id)), consistent=True)
        if tenant is None or tenant.get("enabled") is False:
            raise Unauthorized("this API key's tenant is disabled")
    _touch(items, (pk, sk), item, now)
    return Caller(key_id=str(item["key_id"]), tenant_id=str(tenant_id) if tenant_id else None)


def _touch(items: Items, key: tuple[str, str], item: dict[str, Any], now: datetime) -> None:
    cutoff = iso(now - LAST_USED_EVERY)
    if str(item.get("last_used_at") or "") > cutoff:
        return
    try:
        items.update(
            *key,
            "SET last_used_at = :now",
            {":now": iso(now), ":cutoff": cutoff},
            condition="attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :cutoff)",
        )
    except Exception as error:
        # Best effort: another request just wrote it (the condition), or the write failed; either
        # way the request itself goes on.
        if not is_conditional_failure(error):
            log.warning("last_used_at not written", extra={"key_id": item.get("key_id")})


def key_view(item: dict[str, Any]) -> dict[str, Any]:
    """A stored key as the API shows it (never the hash)."""
    return {
        "id": item["key_id"],
        "name": item.get("name"),
        "prefix": item.get("prefix"),
        "tenant_id": item.get("tenant_id"),
        "created_at": item.get("created_at"),
        "last_used_at": item.get("last_used_at"),
        "revoked_at": item.get("revoked_at"),
    }


def own_keys(items: Items, caller: Caller) -> dict[str, dict[str, Any]]:
    """The caller's own keys (a tenant's, or the operator's) by key id: a few, read whole."""
    listing = keys.key_index(caller.tenant_id)
    found = items.query(
        "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
        {":pk": listing["gsi1pk"], ":prefix": listing["gsi1sk"]},
        index="gsi1",
    )
    return {str(item["key_id"]): item for item in found}


def find_key(items: Items, caller: Caller, key_id: str) -> dict[str, Any]:
    """One of the caller's own keys (a tenant's, or the operator's): NotFound otherwise."""
    listing = keys.key_index(caller.tenant_id, key_id)
    for found in items.query(
        "gsi1pk = :pk AND gsi1sk = :sk", {":pk": listing["gsi1pk"], ":sk": listing["gsi1sk"]}, index="gsi1"
    ):
        item = items.get(found["pk"], found["sk"], consistent=True)  # the index's copy may be stale
        if item is not None:
            return item
    raise NotFound(f"no key {key_id}")


def revoke_key(items: Items, caller: Caller, key_id: str, now: datetime) -> dict[str, Any]:
    item = find_key(items, caller, key_id)
    if not item.get("revoked_at"):
        item = items.update(
            item["pk"],
            item["sk"],
            "SET revoked_at = :now",
            {":now": iso(now)},
            condition="attribute_exists(pk)",
            return_values="ALL_NEW",
        )
    return key_view(item)
