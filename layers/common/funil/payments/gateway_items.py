"""A tenant's gateway as the operator writes it (docs/data-model.md pattern 19): its pydantic model.

Apart from ``funil.payments.storage`` so that the webhooks and the reconciler, which only read
gateways, do not build this model at their cold start (bench/README.md).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from funil import encryption, keys
from funil.ids import ENTITY_ID
from funil.payments.storage import URL_SECRET_CREDENTIAL, secret_hash
from funil.ports import Secrets

__all__ = ["Gateway"]


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
        pk, sk = keys.gateway(self.gateway_id)
        # The URL secret rides with the credentials (KMS, bound to this item) so our URL can be
        # given to the gateway; the route compares only its hash.
        credentials = {**credentials, URL_SECRET_CREDENTIAL: url_secret}
        return {
            "pk": pk,
            "sk": sk,
            "type": "gateway",
            **keys.tenant_gateway_index(self.tenant_id, self.gateway_id),
            **self.model_dump(mode="json"),
            encryption.GATEWAY_CREDENTIALS: encryption.encrypt_field(
                secrets, key_id, (pk, sk), encryption.GATEWAY_CREDENTIALS, json.dumps(credentials)
            ),
            "url_secret_sha256": secret_hash(url_secret),
        }
