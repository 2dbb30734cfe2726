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
from funil.payments.gateways.base import Charge, ChargeStatus, Payer, WebhookEvent
from funil.payments.ports import Deps
from funil.payments.status import PaymentStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Observation:
    """What the gateway says about one charge (a verified webhook, or a re-read charge)."""

    status: ChargeStatus
    kind: str = "payment"  # payment | refund | chargeback
    amount_cents: int | None = None
    currency: str | None = None
    occurred_at: datetime | None = None
    payer: Payer | None = None  # who paid, as the gateway reported (never logged)
    source: str = ""  # the gateway's kind, recorded with the payer
    refunded_cents: int | None = None  # given back so far, when the gateway tells (None with a refund: all)
    refunded_at: datetime | None = None  # the refund's own time

    @classmethod
    def of_charge(cls, charge: Charge, source: str, hint: WebhookEvent | None = None) -> Observation:
        """The charge as the gateway answers it when asked; ``hint``, the webhook that made us ask."""
        return cls(
            status=charge.status,
            kind=hint.kind if hint else "payment",
            amount_cents=charge.amount_cents,
            currency=charge.currency,
            occurred_at=charge.paid_at or (hint.occurred_at if hint else None),
            payer=charge.payer or (hint.payer if hint else None),
            source=source,
            refunded_cents=charge.refunded_cents,
            refunded_at=charge.refunded_at,
        )


def apply(deps: Deps, payment: dict[str, Any], seen: Observation) -> str:
    """Move the payment as the gateway's observation says. Returns what happened (for logs/tests)."""
    payment_id = str(payment["payment_id"])
    now = deps.now()
    refunding = seen.kind in ("refund", "chargeback") or seen.status is ChargeStatus.REFUNDED
    reason = seen.kind if seen.kind != "payment" else "refund"
    given_back = seen.refunded_cents or 0
    if 0 < given_back < int(payment["amount_cents"]) and (refunding or seen.status is ChargeStatus.PAID):
        return _partial_refund(deps, payment, seen, given_back, reason)
    if refunding:

        def refund(refunded_at: datetime | None) -> transitions.Outcome:
            # Decided by the stored status (conditional writes), not by the item read earlier.
            return transitions.refund(
                deps.items,
                payment_id,
                conversions=deps.conversions,
                deliveries=deps.deliveries,
                now=now,
                reason=reason,
                refunded_at=refunded_at,
                refunded_cents=seen.refunded_cents or int(payment["amount_cents"]),
            )

        outcome = refund(seen.refunded_at or (seen.occurred_at if seen.kind != "payment" else None))
        # Paid and given back before we saw it paid: the charge can never be paid again, so the
        # payment is closed and the reconciler stops re-reading it. Confirmed meanwhile? Refund.
        if (
            outcome.status == PaymentStatus.PENDING
            and transitions.mark_canceled(deps.items, payment_id, now).status == PaymentStatus.PAID
        ):
            outcome = refund(seen.refunded_at)
        if outcome.status == PaymentStatus.REFUNDED:
            return "refunded" if outcome.changed else "unchanged:refunded"
        # Never confirmed here (pending, expired or cancelled): nothing was sent and nothing is; the
        # operator sees the flag.
        anomaly("refund_of_unpaid", "refund of a payment never confirmed here", payment_id=payment_id)
        transitions.flag(deps.items, payment_id, f"{reason}_before_confirmed", now)
        return "refund_of_unpaid"
    if seen.status is ChargeStatus.PAID:
        return _paid(deps, payment, seen)
    if seen.status is ChargeStatus.EXPIRED:
        return "expired" if transitions.mark_expired(deps.items, payment_id, now).changed else "unchanged"
    if seen.status is ChargeStatus.CANCELED:
        return "canceled" if transitions.mark_canceled(deps.items, payment_id, now).changed else "unchanged"
    return "noop"


def _paid(deps: Deps, payment: dict[str, Any], seen: Observation) -> str:
    payment_id = str(payment["payment_id"])
    now = deps.now()
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
        payer=seen.payer,
        source=seen.source,
    )
    return "confirmed" if outcome.changed else f"unchanged:{outcome.status}"


def _partial_refund(deps: Deps, payment: dict[str, Any], seen: Observation, given_back: int, reason: str) -> str:
    """Part of the charge given back. The charge was paid, so a payment not yet confirmed here is
    confirmed first (the sale stands, for the rest of the amount); then the partial refund."""
    confirmed = ""
    if payment.get("status") != PaymentStatus.PAID:
        paid = Observation(
            status=ChargeStatus.PAID,
            amount_cents=seen.amount_cents,
            currency=seen.currency,
            occurred_at=seen.occurred_at if seen.kind == "payment" else None,
            payer=seen.payer,
            source=seen.source,
        )
        confirmed = _paid(deps, payment, paid)
        if confirmed == "flagged":
            return confirmed
    outcome = transitions.partial_refund(
        deps.items,
        str(payment["payment_id"]),
        given_back,
        conversions=deps.conversions,
        deliveries=deps.deliveries,
        now=deps.now(),
        reason=reason,
        refunded_at=seen.refunded_at or (seen.occurred_at if seen.kind != "payment" else None),
    )
    if outcome.changed:
        return "partially_refunded" if not confirmed.startswith("confirmed") else "confirmed+partially_refunded"
    return confirmed or f"unchanged:{outcome.status}"
