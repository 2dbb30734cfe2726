"""The payment entity ``PAYMENT#<payment>`` / ``PAYMENT`` (docs/data-model.md, patterns 14–17, 19).

Payment id = ``uuid4().hex``: also the gateway reference (txid / external reference). Amounts are
integer cents; times are UTC ISO strings. ``charge_expires_at`` is when the PIX charge stops being
payable (``expires_at`` is the table's TTL attribute and is never set on a payment).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from funil.clock import iso

PENDING_SHARDS = 10


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELED = "canceled"
    REFUNDED = "refunded"


def new_payment_id() -> str:
    return uuid.uuid4().hex


def payment_key(payment_id: str) -> tuple[str, str]:
    return f"PAYMENT#{payment_id}", "PAYMENT"


def attempt_key(payment_id: str, number: int) -> tuple[str, str]:
    return f"PAYMENT#{payment_id}", f"ATTEMPT#{number:02d}"


def gateway_key(gateway_id: str) -> tuple[str, str]:
    return f"GATEWAY#{gateway_id}", "GATEWAY"


def charge_index(gateway_id: str, gateway_charge_id: str) -> dict[str, str]:
    """Pattern 15: payment by (gateway, gateway charge id)."""
    return {"gsi1pk": f"GWCHARGE#{gateway_id}#{gateway_charge_id}", "gsi1sk": "PAYMENT"}


def pending_shard(payment_id: str) -> int:
    return int(payment_id[-4:], 16) % PENDING_SHARDS


def pending_index(payment_id: str, created_at: str) -> dict[str, str]:
    """Pattern 17 (sparse): present only while the payment is pending."""
    return {"gsi2pk": f"PENDING#{pending_shard(payment_id)}", "gsi2sk": f"{created_at}#{payment_id}"}


def delivery_index(token: str) -> dict[str, str]:
    """Pattern 16: set when paid (replaces the pending index on the same GSI)."""
    return {"gsi2pk": f"DELIVERY#{token}", "gsi2sk": "PAYMENT"}


class Payment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    payment_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    tenant_id: str
    bot_id: str | None = None
    telegram_user_id: int | None = None
    lead_ref: str | None = None  # LEAD#<bot>#<user>
    offer_id: str | None = None
    offer_name: str | None = None
    pixel_id: str | None = None
    amount_cents: int = Field(gt=0)
    currency: str = "BRL"
    method: Literal["pix", "stars"] = "pix"
    gateway_id: str | None = None
    gateway_charge_id: str | None = None
    brcode: str | None = None
    attribution: dict[str, Any] = Field(default_factory=dict)  # snapshot filled by the bot, opaque here
    status: PaymentStatus = PaymentStatus.PENDING
    created_at: str
    charge_expires_at: str
    paid_at: str | None = None
    delivery_token: str | None = None
    flag: str | None = None  # why a webhook was refused (amount mismatch…): an alert, never paid

    @classmethod
    def new(
        cls, *, tenant_id: str, amount_cents: int, now: datetime, expires_in_seconds: int = 3600, **fields: Any
    ) -> Payment:
        return cls(
            payment_id=fields.pop("payment_id", None) or new_payment_id(),
            tenant_id=tenant_id,
            amount_cents=amount_cents,
            created_at=iso(now),
            charge_expires_at=iso(now + timedelta(seconds=expires_in_seconds)),
            **fields,
        )

    def to_item(self) -> dict[str, Any]:
        pk, sk = payment_key(self.payment_id)
        item: dict[str, Any] = {
            "pk": pk,
            "sk": sk,
            "type": "payment",
            **self.model_dump(mode="json", exclude_none=True),
        }
        if self.status is PaymentStatus.PENDING:
            item.update(pending_index(self.payment_id, self.created_at))
        if self.gateway_id and self.gateway_charge_id:
            item.update(charge_index(self.gateway_id, self.gateway_charge_id))
        return item
