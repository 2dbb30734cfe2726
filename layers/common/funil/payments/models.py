"""The payment entity ``PAYMENT#<payment>`` / ``PAYMENT`` (docs/data-model.md, patterns 14–17, 19).

Payment id = ``uuid4().hex``: also the gateway reference (txid / external reference). Amounts are
integer cents; times are UTC ISO strings. ``charge_expires_at`` is when the PIX charge stops being
payable (``expires_at`` is the table's TTL attribute and is never set on a payment).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from funil import keys
from funil.clock import iso
from funil.payments.status import PaymentStatus as PaymentStatus  # noqa: PLC0414 - re-exported: its importers predate the split


def new_payment_id() -> str:
    return uuid.uuid4().hex


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
        pk, sk = keys.payment(self.payment_id)
        item: dict[str, Any] = {
            "pk": pk,
            "sk": sk,
            "type": "payment",
            **self.model_dump(mode="json", exclude_none=True),
        }
        if self.status is PaymentStatus.PENDING:
            item.update(keys.pending_index(self.payment_id, self.created_at))
        if self.gateway_id and self.gateway_charge_id:
            item.update(keys.gateway_charge_index(self.gateway_id, self.gateway_charge_id))
        return item
