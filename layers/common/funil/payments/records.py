"""Lookups of payments as stored (docs/data-model.md patterns 13-17), without the payments' models.

Apart from ``funil.payments.storage`` (the gateways, their pydantic models) so that a reader of
payments, the delivery page, imports no pydantic (bench/README.md: cold imports).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from funil import keys
from funil.ports import Items

if TYPE_CHECKING:
    from funil.payments.models import Payment

__all__ = ["Payments"]


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
