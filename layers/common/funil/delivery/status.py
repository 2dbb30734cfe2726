"""A delivery's status as stored, without the delivery's models (the delivery page imports no pydantic)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DeliveryStatus"]


class DeliveryStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    RETRY = "retry"
    DELIVERED = "delivered"
    UNREACHABLE = "unreachable"  # the buyer blocked the bot (403): theirs, not the bot's health
    UNDELIVERABLE = "undeliverable"  # nothing to deliver (offer without a delivery), recorded for support
