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


def refund_steps(payment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Each time more of the payment was given back, in order: ``{"total_cents", "at"}``, the total
    refunded by then (absent: all of it). A payment refunded before steps were recorded has one."""
    steps = payment.get("refunds")
    if isinstance(steps, list) and steps:
        return [step for step in steps if isinstance(step, Mapping)]
    if payment.get("refunded_at"):
        return [{"total_cents": payment.get("refunded_cents"), "at": payment.get("refunded_at")}]
    return []


def refund_step_cents(payment: Mapping[str, Any], step: int) -> int:
    """What refund step ``step`` (0-based) gave back: its total less the one before, within the
    payment's own value (an order bump's part is refunded as the bump's own payment)."""
    steps = refund_steps(payment)
    if not 0 <= step < len(steps):
        return 0
    own = own_cents(payment)

    def total(index: int) -> int:
        if index < 0:
            return 0
        raw = steps[index].get("total_cents")
        return min(_whole(raw), own) if raw is not None else own

    return max(total(step) - total(step - 1), 0)
