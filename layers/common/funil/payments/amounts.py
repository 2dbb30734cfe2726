"""A payment's own value, as the counters, the metrics and the Purchase count it (standard library only:
the analytics consumer imports it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def own_cents(payment: Mapping[str, Any]) -> int:
    """What the payment sold itself: a charge that also paid an order bump (``bump_amount_cents``)
    leaves the bump to its own payment (``bundle_of``), a sale and a Purchase of its own."""
    return max(_whole(payment.get("amount_cents")) - _whole(payment.get("bump_amount_cents")), 0)
