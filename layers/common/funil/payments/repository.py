"""Payment lookups (docs/data-model.md patterns 13–17, 19). Writes of state live in ``transitions``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from funil.payments.models import PENDING_SHARDS, Payment, attempt_key, gateway_key, payment_key


class Items(Protocol):
    """The parts of funil.adapters.dynamo.Table used by the payments core."""

    def get(self, pk: str, sk: str, consistent: bool = False) -> dict[str, Any] | None: ...

    def put(self, item: Any, condition: str | None = None) -> None: ...

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        values: Any,
        *,
        condition: str | None = None,
        names: Any = None,
        return_values: str = "NONE",
    ) -> dict[str, Any]: ...

    def query(
        self,
        key_condition: str,
        values: Any,
        *,
        index: str | None = None,
        names: Any = None,
        forward: bool = True,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]: ...


class Payments:
    def __init__(self, items: Items) -> None:
        self.items = items

    def create(self, payment: Payment) -> None:
        self.items.put(payment.to_item(), condition="attribute_not_exists(pk)")

    def get(self, payment_id: str, consistent: bool = False) -> dict[str, Any] | None:
        return self.items.get(*payment_key(payment_id), consistent=consistent)

    def by_gateway_charge(self, gateway_id: str, gateway_charge_id: str) -> dict[str, Any] | None:
        for item in self.items.query(
            "gsi1pk = :pk AND gsi1sk = :sk",
            {":pk": f"GWCHARGE#{gateway_id}#{gateway_charge_id}", ":sk": "PAYMENT"},
            index="gsi1",
            limit=2,
        ):
            return item
        return None

    def by_delivery_token(self, token: str) -> dict[str, Any] | None:
        for item in self.items.query(
            "gsi2pk = :pk AND gsi2sk = :sk", {":pk": f"DELIVERY#{token}", ":sk": "PAYMENT"}, index="gsi2", limit=2
        ):
            return item
        return None

    def pending(self, shard: int, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Pending payments of one shard, oldest first, page by page (pattern 17)."""
        yield from self.items.query(
            "gsi2pk = :pk", {":pk": f"PENDING#{shard}"}, index="gsi2", forward=True, limit=page_size
        )

    def all_pending(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every pending payment, oldest first across shards (a merge of the shards' ordered pages)."""
        import heapq

        streams = [self.pending(shard, page_size) for shard in range(PENDING_SHARDS)]
        yield from heapq.merge(*streams, key=lambda item: str(item.get("gsi2sk", "")))

    def attempts(self, payment_id: str) -> list[dict[str, Any]]:
        return list(
            self.items.query(
                "pk = :pk AND begins_with(sk, :prefix)", {":pk": payment_key(payment_id)[0], ":prefix": "ATTEMPT#"}
            )
        )

    def put_attempt(self, payment_id: str, number: int, fields: dict[str, Any]) -> None:
        pk, sk = attempt_key(payment_id, number)
        self.items.put({"pk": pk, "sk": sk, "type": "attempt", "payment_id": payment_id, **fields})

    def gateway(self, gateway_id: str) -> dict[str, Any] | None:
        return self.items.get(*gateway_key(gateway_id))

    def tenant_gateways(self, tenant_id: str) -> list[dict[str, Any]]:
        return [
            item
            for item in self.items.query(
                "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
                {":pk": f"TENANT#{tenant_id}", ":prefix": "GATEWAY#"},
                index="gsi1",
            )
            if item.get("tenant_id") == tenant_id and item.get("sk") == "GATEWAY"
        ]
