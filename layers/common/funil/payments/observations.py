"""What a gateway says about a charge, applied to the payment through the state machine.

The webhook, the reconciler and the bot's "check payment" button all observe a charge (a verified
webhook, or the charge re-read from the gateway) and hand the observation to ``apply``, which
decides through ``funil.payments.transitions`` alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from funil.observability import anomaly
from funil.payments import transitions
from funil.payments.gateways.base import ChargeStatus
from funil.payments.models import PaymentStatus
from funil.payments.ports import Deps

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Observation:
    """What the gateway says about one charge (a verified webhook, or a re-read charge)."""

    status: ChargeStatus
    kind: str = "payment"  # payment | refund | chargeback
    amount_cents: int | None = None
    currency: str | None = None
    occurred_at: datetime | None = None


def apply(deps: Deps, payment: dict[str, Any], seen: Observation) -> str:
    """Move the payment as the gateway's observation says. Returns what happened (for logs/tests)."""
    payment_id = str(payment["payment_id"])
    now = deps.now()
    if seen.kind in ("refund", "chargeback") or seen.status is ChargeStatus.REFUNDED:
        reason = seen.kind if seen.kind != "payment" else "refund"
        # Decided by the stored status (conditional writes), not by the item read earlier.
        outcome = transitions.refund(
            deps.items, payment_id, conversions=deps.conversions, deliveries=deps.deliveries, now=now, reason=reason
        )
        # Paid and given back before we saw it paid: the charge can never be paid again, so the
        # payment is closed and the reconciler stops re-reading it. Confirmed meanwhile? Refund.
        if (
            outcome.status == PaymentStatus.PENDING
            and transitions.mark_canceled(deps.items, payment_id, now).status == PaymentStatus.PAID
        ):
            outcome = transitions.refund(
                deps.items,
                payment_id,
                conversions=deps.conversions,
                deliveries=deps.deliveries,
                now=now,
                reason=reason,
            )
        if outcome.status == PaymentStatus.REFUNDED:
            return "refunded" if outcome.changed else "unchanged:refunded"
        # Never confirmed here (pending, expired or cancelled): nothing was sent and nothing is; the
        # operator sees the flag.
        anomaly("refund_of_unpaid", "refund of a payment never confirmed here", payment_id=payment_id)
        transitions.flag(deps.items, payment_id, f"{reason}_before_confirmed", now)
        return "refund_of_unpaid"
    if seen.status is ChargeStatus.PAID:
        expected = (int(payment["amount_cents"]), str(payment.get("currency") or "BRL").upper())
        got = (seen.amount_cents, (seen.currency or "BRL").upper())
        if got != expected:
            anomaly(
                "amount_mismatch",
                "payment amount/currency mismatch: not confirmed",
                payment_id=payment_id,
                expected=list(expected),
                got=list(got),
            )
            if payment.get("status") != PaymentStatus.PAID:
                transitions.flag(deps.items, payment_id, f"amount_mismatch:{got[0]}:{got[1]}", now)
            return "flagged"
        if payment.get("status") == PaymentStatus.CANCELED:
            anomaly("paid_after_cancel", "paid after cancellation", payment_id=payment_id)
            transitions.flag(deps.items, payment_id, "paid_after_cancel", now)
            return "flagged"
        outcome = transitions.confirm(
            deps.items,
            payment_id,
            seen.occurred_at or now,
            conversions=deps.conversions,
            deliveries=deps.deliveries,
            now=now,
        )
        return "confirmed" if outcome.changed else f"unchanged:{outcome.status}"
    if seen.status is ChargeStatus.EXPIRED:
        return "expired" if transitions.mark_expired(deps.items, payment_id, now).changed else "unchanged"
    if seen.status is ChargeStatus.CANCELED:
        return "canceled" if transitions.mark_canceled(deps.items, payment_id, now).changed else "unchanged"
    return "noop"
