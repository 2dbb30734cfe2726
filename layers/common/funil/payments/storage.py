"""Payments and gateways as stored (docs/data-model.md patterns 13–17, 19, 21).

Lookups of payments live here; their state changes live in ``transitions``. A tenant's gateways are
``GATEWAY#<gateway>`` / ``GATEWAY`` items: credentials (API keys, client secrets, the sandbox's
webhook signing secret) are one JSON object encrypted with KMS (bound to the gateway's item and
``credentials_ciphertext`` by ``funil.encryption``), decrypted in memory only into
``GatewayConfig.credentials`` (never logged, not in repr). The secret of the webhook URL
``/pay/{gateway_id}/{secret}`` is compared by its SHA-256 (``url_secret_sha256``, all the webhook
route reads); the secret itself travels inside the encrypted credentials (``webhook_url_secret``),
read back only to give the gateway our URL (``webhook_url``: on each charge, or at setup).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from funil import encryption, keys
from funil.operator.models import ENTITY_ID
from funil.payments.gateways.base import GatewayConfig
from funil.payments.models import Payment
from funil.ports import Items, Secrets

__all__ = [
    "URL_SECRET_CREDENTIAL",
    "Gateway",
    "Payments",
    "load_config",
    "secret_hash",
    "url_secret_matches",
    "webhook_url",
]


class Payments:
    def __init__(self, items: Items) -> None:
        self.items = items

    def create(self, payment: Payment) -> None:
        self.items.put(payment.to_item(), condition="attribute_not_exists(pk)")

    def get(self, payment_id: str, consistent: bool = False) -> dict[str, Any] | None:
        return self.items.get(*keys.payment(payment_id), consistent=consistent)

    def _by_index(self, index_key: Mapping[str, str]) -> dict[str, Any] | None:
        """The payment an index key names exactly (``{"gsiNpk": …, "gsiNsk": …}``, queried on ``gsiN``)."""
        (pk_name, pk), (sk_name, sk) = index_key.items()
        for item in self.items.query(
            f"{pk_name} = :pk AND {sk_name} = :sk", {":pk": pk, ":sk": sk}, index=pk_name.removesuffix("pk"), limit=2
        ):
            return item
        return None

    def by_gateway_charge(self, gateway_id: str, gateway_charge_id: str) -> dict[str, Any] | None:
        return self._by_index(keys.gateway_charge_index(gateway_id, gateway_charge_id))

    def by_delivery_token(self, token: str) -> dict[str, Any] | None:
        return self._by_index(keys.delivery_token_index(token))

    def by_stars_charge(self, telegram_payment_charge_id: str) -> dict[str, Any] | None:
        return self._by_index(keys.stars_charge_index(telegram_payment_charge_id))

    def pending(self, shard: int, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Pending payments of one shard, oldest first, page by page (pattern 17)."""
        yield from self.items.query(
            "gsi2pk = :pk",
            {":pk": keys.pending_shard_index(shard)["gsi2pk"]},
            index="gsi2",
            forward=True,
            limit=page_size,
        )

    def all_pending(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every pending payment, oldest first across shards (a merge of the shards' ordered pages)."""
        import heapq

        streams = [self.pending(shard, page_size) for shard in range(keys.PENDING_SHARDS)]
        yield from heapq.merge(*streams, key=lambda item: str(item.get("gsi2sk", "")))

    def attempts(self, payment_id: str) -> list[dict[str, Any]]:
        pk, prefix = keys.attempts(payment_id)
        return list(self.items.query("pk = :pk AND begins_with(sk, :prefix)", {":pk": pk, ":prefix": prefix}))

    def put_attempt(self, payment_id: str, number: int, fields: dict[str, Any]) -> None:
        pk, sk = keys.attempt(payment_id, number)
        self.items.put({"pk": pk, "sk": sk, "type": "attempt", "payment_id": payment_id, **fields})

    def gateway(self, gateway_id: str) -> dict[str, Any] | None:
        return self.items.get(*keys.gateway(gateway_id))

    def tenant_gateways(self, tenant_id: str) -> list[dict[str, Any]]:
        listing = keys.tenant_gateway_index(tenant_id)
        return [
            item
            for item in self.items.query(
                "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
                {":pk": listing["gsi1pk"], ":prefix": listing["gsi1sk"]},
                index="gsi1",
            )
            if item.get("tenant_id") == tenant_id and item.get("sk") == keys.gateway(str(item.get("gateway_id")))[1]
        ]


# -- gateways ---------------------------------------------------------------------------------------

URL_SECRET_CREDENTIAL = "webhook_url_secret"  # noqa: S105 - the credentials' key, not a secret


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


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


def load_config(item: dict[str, Any], secrets: Secrets) -> GatewayConfig:
    ciphertext = item.get(encryption.GATEWAY_CREDENTIALS)
    credentials: dict[str, str] = {}
    if ciphertext:
        credentials = json.loads(encryption.gateway_credentials(secrets, str(item["gateway_id"]), str(ciphertext)))
    url_secret = credentials.pop(URL_SECRET_CREDENTIAL, None)
    return GatewayConfig(
        gateway_id=str(item["gateway_id"]),
        tenant_id=str(item["tenant_id"]),
        kind=str(item["kind"]),
        base_url=str(item.get("base_url") or ""),
        credentials=credentials,
        options=dict(item.get("options") or {}),
        webhook_url_secret=url_secret,
    )


def webhook_url(public_base_url: str, config: GatewayConfig) -> str | None:
    """Our webhook route for this gateway, ``<public base URL>/pay/<gateway_id>/<URL secret>``; None
    when either part is unknown (no ``PUBLIC_BASE_URL``, or a gateway stored before its secret was kept)."""
    secret = config.webhook_url_secret
    if not public_base_url or not secret:
        return None
    return f"{public_base_url.rstrip('/')}/pay/{config.gateway_id}/{secret}"
