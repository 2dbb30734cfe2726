"""A payment's status as stored, without the payment's model (the delivery page imports no pydantic)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PaymentStatus"]


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELED = "canceled"
    REFUNDED = "refunded"
