"""A tenant's gateways as stored (``GATEWAY#<gateway>`` / ``GATEWAY``, pattern 13) and their secrets.

Credentials (API keys, client secrets, the sandbox's webhook signing secret) are one JSON object
encrypted with KMS (encryption context ``{"gateway_id": …}``) in ``credentials_ciphertext``;
they are decrypted in memory only, into ``GatewayConfig.credentials`` (never logged, not in repr).
The secret of the webhook URL ``/pay/{gateway_id}/{secret}`` is stored only as its SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from funil import keys
from funil.models import ENTITY_ID
from funil.payments.gateways.base import GatewayConfig
from funil.payments.models import gateway_key


class Secrets(Protocol):
    def encrypt(self, key_id: str, plaintext: str, context: Any = None) -> str: ...

    def decrypt(self, ciphertext_b64: str, context: Any = None) -> str: ...


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_DUMMY_HASH = secret_hash("no such gateway")


def url_secret_matches(item: dict[str, Any] | None, secret: str) -> bool:
    """Constant-time comparison of the URL secret's hash (also spent when the gateway is unknown)."""
    stored = str((item or {}).get("url_secret_sha256") or _DUMMY_HASH)
    return hmac.compare_digest(stored, secret_hash(secret)) and item is not None


class Gateway(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gateway_id: str = Field(pattern=ENTITY_ID)
    tenant_id: str = Field(pattern=ENTITY_ID)
    kind: str
    name: str = ""
    enabled: bool = True
    priority: int = Field(default=1, ge=0, le=100)  # lower first
    weight: int = Field(default=1, ge=0, le=1000)  # split within a priority
    base_url: str = ""
    options: dict[str, Any] = Field(default_factory=dict)

    def to_item(self, secrets: Secrets, key_id: str, credentials: dict[str, str], url_secret: str) -> dict[str, Any]:
        pk, sk = gateway_key(self.gateway_id)
        return {
            "pk": pk,
            "sk": sk,
            "type": "gateway",
            **keys.tenant_index(self.tenant_id, "GATEWAY", self.gateway_id),
            **self.model_dump(mode="json"),
            "credentials_ciphertext": secrets.encrypt(key_id, json.dumps(credentials), {"gateway_id": self.gateway_id}),
            "url_secret_sha256": secret_hash(url_secret),
        }


def load_config(item: dict[str, Any], secrets: Secrets) -> GatewayConfig:
    ciphertext = item.get("credentials_ciphertext")
    credentials: dict[str, str] = {}
    if ciphertext:
        credentials = json.loads(secrets.decrypt(str(ciphertext), {"gateway_id": str(item["gateway_id"])}))
    return GatewayConfig(
        gateway_id=str(item["gateway_id"]),
        tenant_id=str(item["tenant_id"]),
        kind=str(item["kind"]),
        base_url=str(item.get("base_url") or ""),
        credentials=credentials,
        options=dict(item.get("options") or {}),
    )
