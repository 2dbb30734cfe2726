"""The payment state machine: the only code that changes a payment's status.

    pending → paid | expired | canceled        paid → refunded        (expired → paid: late payment)

Each transition is **one** conditional UpdateItem on ``PAYMENT#<payment>`` / ``PAYMENT``; the
webhook, the reconciler and any "check payment" button call these functions. A transition that
finds the payment already moved is not an error: it reports ``changed=False`` with the stored item.

Confirmation hands the payment on through two queues: a Purchase ``ConversionMessage`` (event id
``purchase_<payment>``, occurred at ``paid_at``) and a ``DeliveryJob``. The payment records when
each was enqueued (``purchase_enqueued_at``, ``delivery_enqueued_at``); a repeated confirmation (a
duplicate webhook, the reconciler) sends whichever is not yet recorded. A message may thus be sent
twice after a crash between send and record; both consumers are idempotent on the payment. A
refund sends the Refund event and the payment to the delivery queue again (``revoke_enqueued_at``;
also when the delivery's own record was lost to a crash): the consumer finds it refunded and
revokes the unused invite link, if one was handed out.

A partial refund (less than the amount given back) leaves the payment ``paid`` — the sale stands
and the buyer keeps the product — with ``refund_state = partial``, ``refunded_cents`` and the
refund's own time ``refunded_at``; it sends the Refund event (its value: ``refunded_cents``) and
no revocation. A later full refund moves it to ``refunded`` (``refund_state = full``). Each refund is
a step recorded on the payment (``refunds``: the total given back by then and when), reported as a
Refund of its own worth that step's part: ``refund_<payment>`` first, ``refund_<payment>_2`` and on
after it (``refund_steps_enqueued`` counts those queued).

Who paid (``Payer``, when the gateway said) is written as its own item ``PAYMENT#<id>`` / ``PAYER``
once the payment is paid and before the Purchase is queued, so the Purchase can use it; it expires
``PAYER_TTL_DAYS`` after the payment (docs/data-model.md) and is never logged.

An order bump (``funil.bot.checkout``) is a payment of its own charged inside its main payment's
PIX (``bump_payment_id`` on the main, ``bundle_of`` on the bump's part). It follows its main: paid
when the main is confirmed (its own Purchase and DeliveryJob, the same payer), expired or cancelled
when the main is, refunded when the main is refunded in full. A partial refund of the main leaves
it paid (the amount given back is recorded on the main only).
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from funil import keys
from funil.adapters.dynamo import is_conditional_failure
from funil.clock import iso, parse_iso, to_epoch_s
from funil.conversions import normalize
from funil.messages import ConversionMessage, ConversionRefs, EventKind
from funil.observability import count
from funil.payments.amounts import own_cents, refund_step_cents, refund_steps
from funil.payments.gateways.base import Payer
from funil.payments.status import PaymentStatus
from funil.ports import Items, MessageQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    changed: bool
    payment: dict[str, Any]  # the item after the transition (or as found when not changed)

    @property
    def status(self) -> str:
        return str(self.payment.get("status"))


class PaymentNotFound(LookupError):
    pass


def _transition(
    items: Items,
    payment_id: str,
    *,
    allowed_from: tuple[PaymentStatus, ...],
    expression: str,
    values: dict[str, Any],
    also: str = "",
) -> Outcome:
    pk, sk = keys.payment(payment_id)
    froms = {f":from{index}": status.value for index, status in enumerate(allowed_from)}
    condition = "attribute_exists(pk) AND #status IN (" + ", ".join(froms) + ")"
    if also:
        condition += f" AND ({also})"
    try:
        after = items.update(
            pk,
            sk,
            expression,
            {**values, **froms},
            condition=condition,
            names={"#status": "status"},
            return_values="ALL_NEW",
        )
        return Outcome(True, after)
    except Exception as error:
        if not is_conditional_failure(error):
            raise
    current = items.get(pk, sk, consistent=True)
    if current is None:
        raise PaymentNotFound(payment_id)
    return Outcome(False, current)


def mark_paid(items: Items, payment_id: str, paid_at: datetime, now: datetime) -> Outcome:
    """pending (or expired: paid late) → paid, with a delivery token; leaves the pending index."""
    token = secrets.token_urlsafe(18)
    return _transition(
        items,
        payment_id,
        allowed_from=(PaymentStatus.PENDING, PaymentStatus.EXPIRED),
        expression=(
            "SET #status = :paid, paid_at = :paid_at, confirmed_at = :now, delivery_token = :token, "
            "gsi2pk = :gsi2pk, gsi2sk = :gsi2sk REMOVE flag"
        ),
        values={
            ":paid": PaymentStatus.PAID.value,
            ":paid_at": iso(paid_at),
            ":now": iso(now),
            ":token": token,
            **{f":{name}": value for name, value in keys.delivery_token_index(token).items()},
        },
    )


def _close(items: Items, payment_id: str, status: PaymentStatus, now: datetime) -> Outcome:
    outcome = _transition(
        items,
        payment_id,
        allowed_from=(PaymentStatus.PENDING,),
        expression="SET #status = :to, closed_at = :now REMOVE gsi2pk, gsi2sk",
        values={":to": status.value, ":now": iso(now)},
    )
    bump = outcome.payment.get("bump_payment_id")
    if bump and outcome.status == status:  # the order bump's part closes with its main
        _close(items, str(bump), status, now)
    return outcome


def mark_expired(items: Items, payment_id: str, now: datetime) -> Outcome:
    return _close(items, payment_id, PaymentStatus.EXPIRED, now)


def mark_canceled(items: Items, payment_id: str, now: datetime) -> Outcome:
    return _close(items, payment_id, PaymentStatus.CANCELED, now)


def mark_refunded(
    items: Items,
    payment_id: str,
    now: datetime,
    reason: str = "refund",
    *,
    refunded_at: datetime | None = None,
    refunded_cents: int | None = None,
) -> Outcome:
    """paid → refunded (refunds and chargebacks), at the refund's own time when the gateway told it.
    The delivery token stays: its page says refunded."""
    at = iso(refunded_at or now)
    expression = (
        "SET #status = :refunded, refunded_at = :at, refund_reason = :reason, refund_state = :full, " + _STEP_APPENDED
    )
    values: dict[str, Any] = {
        ":refunded": PaymentStatus.REFUNDED.value,
        ":at": at,
        ":reason": reason,
        ":full": "full",
        **_step(refunded_cents, at),
    }
    if refunded_cents is not None:
        expression += ", refunded_cents = :cents"
        values[":cents"] = refunded_cents
    else:  # all of it: a partial refund's total recorded before no longer says what was given back
        expression += " REMOVE refunded_cents"
    return _transition(items, payment_id, allowed_from=(PaymentStatus.PAID,), expression=expression, values=values)


# Each refund is a step of its own (``funil.payments.amounts.refund_steps``), so each is reported once.
_STEP_APPENDED = "refunds = list_append(if_not_exists(refunds, :no_steps), :step)"


def _step(total_cents: int | None, at: str) -> dict[str, Any]:
    step: dict[str, Any] = {"at": at} if total_cents is None else {"total_cents": total_cents, "at": at}
    return {":no_steps": [], ":step": [step]}


def mark_partially_refunded(
    items: Items, payment_id: str, refunded_cents: int, now: datetime, *, reason: str, refunded_at: datetime | None
) -> Outcome:
    """paid stays paid, with part of it given back (more than recorded so far; a repeat is no change)."""
    at = iso(refunded_at or now)
    return _transition(
        items,
        payment_id,
        allowed_from=(PaymentStatus.PAID,),
        expression=(
            "SET refund_state = :partial, refunded_cents = :cents, refunded_at = :at, refund_reason = :reason, "
            + _STEP_APPENDED
        ),
        values={
            ":partial": "partial",
            ":cents": refunded_cents,
            ":at": at,
            ":reason": reason,
            **_step(refunded_cents, at),
        },
        also="attribute_not_exists(refunded_cents) OR refunded_cents < :cents",
    )


def flag(items: Items, payment_id: str, reason: str, now: datetime) -> Outcome:
    """Record why a confirmation was refused (amount/currency mismatch…); the status does not move."""
    return _transition(
        items,
        payment_id,
        allowed_from=(PaymentStatus.PENDING, PaymentStatus.EXPIRED, PaymentStatus.CANCELED),
        expression="SET flag = :reason, flagged_at = :now",
        values={":reason": reason[:200], ":now": iso(now)},
    )


# --- handing on ----------------------------------------------------------------------------------


def _payment_event(payment: dict[str, Any], kind: EventKind, name: str, occurred_attribute: str) -> ConversionMessage:
    """The payment's conversion event ``<name>_<payment>``, occurred at its ``occurred_attribute``."""
    payment_id = str(payment["payment_id"])
    attribution = payment.get("attribution") or {}
    return ConversionMessage(
        kind=kind,
        event_id=f"{name}_{payment_id}",
        tenant_id=str(payment["tenant_id"]),
        pixel_id=payment.get("pixel_id") or attribution.get("pixel_id"),
        occurred_at=datetime.fromisoformat(str(payment[occurred_attribute]).replace("Z", "+00:00")),
        refs=ConversionRefs(
            payment_id=payment_id, bot_id=payment.get("bot_id"), telegram_user_id=payment.get("telegram_user_id")
        ),
    )


def purchase_message(payment: dict[str, Any]) -> ConversionMessage:
    return _payment_event(payment, EventKind.PURCHASE, "purchase", "paid_at")


def refund_message(payment: dict[str, Any], step: int = 0) -> ConversionMessage:
    """The Refund of refund step ``step``: ``refund_<payment>`` for the first, as the browser and the
    other destinations know it, ``refund_<payment>_<n>`` for the n-th (a partial refund, then the rest)."""
    first = _payment_event(payment, EventKind.REFUND, "refund", "refunded_at")
    if step == 0:
        steps = refund_steps(payment)
        at = steps[0].get("at") if steps else None
        return first.model_copy(update={"occurred_at": parse_iso(str(at))}) if at else first
    at = refund_steps(payment)[step].get("at") or payment["refunded_at"]
    return first.model_copy(
        update={
            "event_id": f"{first.event_id}_{step + 1}",
            "occurred_at": parse_iso(str(at)),
            "refs": first.refs.model_copy(update={"refund_step": step}),
        }
    )


def delivery_body(payment: dict[str, Any]) -> str:
    """The delivery queue's message (read by ``funil.delivery.models.DeliveryJob``)."""
    return json.dumps({"version": 1, "payment_id": str(payment["payment_id"]), "tenant_id": payment.get("tenant_id")})


def _record_sent(items: Items, payment_id: str, attribute: str, now: datetime) -> None:
    items.update(
        *keys.payment(payment_id),
        f"SET {attribute} = if_not_exists({attribute}, :now)",
        {":now": iso(now)},
    )


def _record_refund_sent(items: Items, payment_id: str, steps: int, now: datetime) -> None:
    try:
        items.update(
            *keys.payment(payment_id),
            "SET refund_steps_enqueued = :steps, refund_enqueued_at = if_not_exists(refund_enqueued_at, :now)",
            {":steps": steps, ":now": iso(now)},
            condition="attribute_not_exists(refund_steps_enqueued) OR refund_steps_enqueued < :steps",
        )
    except Exception as error:  # a concurrent hand-on recorded as much or more: its sends stand
        if not is_conditional_failure(error):
            raise


def ensure_handed_on(
    items: Items, payment: dict[str, Any], conversions: MessageQueue, deliveries: MessageQueue, now: datetime
) -> list[str]:
    """Send what a paid/refunded payment has not recorded as enqueued. Returns what was sent."""
    sent: list[str] = []
    payment_id = str(payment["payment_id"])
    status = payment.get("status")
    if status in (PaymentStatus.PAID, PaymentStatus.REFUNDED) and payment.get("paid_at"):
        if not payment.get("purchase_enqueued_at"):
            conversions.send(purchase_message(payment).model_dump_json(), {"kind": "Purchase"})
            _record_sent(items, payment_id, "purchase_enqueued_at", now)
            sent.append("purchase")
        if status == PaymentStatus.PAID and not payment.get("delivery_enqueued_at"):
            deliveries.send(delivery_body(payment))
            _record_sent(items, payment_id, "delivery_enqueued_at", now)
            sent.append("delivery")
    refunded = status == PaymentStatus.REFUNDED or (status == PaymentStatus.PAID and payment.get("refund_state"))
    if refunded and payment.get("refunded_at"):
        steps = len(refund_steps(payment))
        done = int(payment.get("refund_steps_enqueued") or (1 if payment.get("refund_enqueued_at") else 0))
        for step in range(done, steps):
            conversions.send(refund_message(payment, step).model_dump_json(), {"kind": "Refund"})
            _record_refund_sent(items, payment_id, step + 1, now)
            sent.append("refund")
    if status == PaymentStatus.REFUNDED and payment.get("paid_at") and not payment.get("revoke_enqueued_at"):
        # The delivery consumer sees the payment refunded and revokes the buyer's unused invite link.
        deliveries.send(delivery_body(payment))
        _record_sent(items, payment_id, "revoke_enqueued_at", now)
        sent.append("revoke")
    return sent


PAYER_TTL_DAYS = 30  # the attribution window plus margin: long enough to build the Purchase, then gone


def payer_item(payment: dict[str, Any], payer: Payer, source: str, now: datetime) -> dict[str, Any]:
    """The ``PAYER`` item of a paid payment: only the fields the gateway gave, expiring with the TTL."""
    pk, sk = keys.payer(str(payment["payment_id"]))
    paid_at = parse_iso(str(payment["paid_at"])) if payment.get("paid_at") else now
    tenant_id = str(payment.get("tenant_id"))
    return {
        "pk": pk,
        "sk": sk,
        "type": "payer",
        "tenant_id": payment.get("tenant_id"),
        "payment_id": str(payment["payment_id"]),
        **payer.model_dump(exclude_none=True),
        "source": source,
        "created_at": iso(now),
        "expires_at": to_epoch_s(paid_at + timedelta(days=PAYER_TTL_DAYS)),
        # Sparse indexes (hashes) that find this item by its e-mail or phone: a data-subject request.
        **keys.subject_index(tenant_id, "email", normalize.email(payer.email), (pk, sk)),
        **keys.subject_index(tenant_id, "phone", normalize.phone(payer.phone), (pk, sk)),
    }


def store_payer(items: Items, payment: dict[str, Any], payer: Payer, source: str, now: datetime) -> bool:
    """Write who paid once (the first report stands); True when written. Never for a payment whose
    buyer asked to be erased (``anonymised_at``): it may still be confirmed, but keeps no person."""
    if payment.get("anonymised_at"):
        return False
    try:
        items.put(payer_item(payment, payer, source, now), condition="attribute_not_exists(pk)")
    except Exception as error:
        if not is_conditional_failure(error):
            raise
        return False
    return True


def confirm(
    items: Items,
    payment_id: str,
    paid_at: datetime,
    *,
    conversions: MessageQueue,
    deliveries: MessageQueue,
    now: datetime,
    payer: Payer | None = None,
    source: str = "",
) -> Outcome:
    """pending → paid, then who paid (if told), then make sure the Purchase and the delivery were
    enqueued (also on repeats: the payer is written before the Purchase that may read it)."""
    outcome = mark_paid(items, payment_id, paid_at, now)
    if outcome.changed:
        log.info("payment confirmed", extra={"payment_id": payment_id})
        count("Sales")
        count("RevenueCents", own_cents(outcome.payment))
    if payer is not None and outcome.status == PaymentStatus.PAID and not outcome.payment.get("purchase_enqueued_at"):
        store_payer(items, outcome.payment, payer, source, now)
    record_purchase_on_lead(items, outcome, now)
    ensure_handed_on(items, outcome.payment, conversions, deliveries, now)
    _confirm_bump(items, outcome, conversions=conversions, deliveries=deliveries, now=now, payer=payer, source=source)
    return outcome


def record_purchase_on_lead(items: Items, outcome: Outcome, now: datetime) -> None:
    """The lead learns what it bought (``bought_offer_ids``, ``last_paid_at``: broadcasts' segments),
    once paid and before the payment is handed on (a repeat after that finds it done); only the
    payment's own lead (``lead_ref``), and only when it exists and is of the payment's tenant."""
    payment = outcome.payment
    lead_pk, offer_id = payment.get("lead_ref"), payment.get("offer_id")
    if outcome.status != PaymentStatus.PAID or payment.get("purchase_enqueued_at") or not lead_pk or not offer_id:
        return
    try:
        items.update(
            *keys.lead_by_ref(str(lead_pk)),
            "ADD bought_offer_ids :offer SET last_paid_at = :paid",
            {
                ":offer": {str(offer_id)},
                ":paid": payment.get("paid_at") or iso(now),
                ":tenant": payment.get("tenant_id"),
            },
            condition="attribute_exists(pk) AND tenant_id = :tenant",
        )
    except Exception as error:
        if not is_conditional_failure(error):
            raise


def _confirm_bump(
    items: Items,
    main: Outcome,
    *,
    conversions: MessageQueue,
    deliveries: MessageQueue,
    now: datetime,
    payer: Payer | None,
    source: str,
) -> None:
    """The order bump's part of a paid main payment: paid at the main's time, handed on as its own
    sale (also on repeats: whatever it has not recorded as enqueued is sent)."""
    bump = main.payment.get("bump_payment_id")
    if not bump or main.status != PaymentStatus.PAID or not main.payment.get("paid_at"):
        return
    paid_at = parse_iso(str(main.payment["paid_at"]))
    confirm(
        items, str(bump), paid_at, conversions=conversions, deliveries=deliveries, now=now, payer=payer, source=source
    )


def _last_step_cents(payment: dict[str, Any]) -> int:
    """What this refund gave back (a full refund after a partial one: the rest)."""
    return refund_step_cents(payment, len(refund_steps(payment)) - 1)


def refund(
    items: Items,
    payment_id: str,
    *,
    conversions: MessageQueue,
    deliveries: MessageQueue,
    now: datetime,
    reason: str = "refund",
    refunded_at: datetime | None = None,
    refunded_cents: int | None = None,
) -> Outcome:
    """paid → refunded, then make sure the Refund was enqueued (also on repeats)."""
    outcome = mark_refunded(items, payment_id, now, reason, refunded_at=refunded_at, refunded_cents=refunded_cents)
    if outcome.changed:
        count("Refunds")
        count("RefundedCents", _last_step_cents(outcome.payment))
    if outcome.status == PaymentStatus.REFUNDED:
        ensure_handed_on(items, outcome.payment, conversions, deliveries, now)
        bump = outcome.payment.get("bump_payment_id")
        if bump:  # the order bump's part was paid by the same charge: given back with it
            refund(items, str(bump), conversions=conversions, deliveries=deliveries, now=now, reason=reason,
                   refunded_at=refunded_at)  # fmt: skip
    return outcome


def partial_refund(
    items: Items,
    payment_id: str,
    refunded_cents: int,
    *,
    conversions: MessageQueue,
    deliveries: MessageQueue,
    now: datetime,
    reason: str = "refund",
    refunded_at: datetime | None = None,
) -> Outcome:
    """Part of a paid payment given back: recorded on it, the Refund enqueued once; no revocation."""
    outcome = mark_partially_refunded(items, payment_id, refunded_cents, now, reason=reason, refunded_at=refunded_at)
    if outcome.changed:
        count("Refunds")
        count("RefundedCents", _last_step_cents(outcome.payment))
    if outcome.payment.get("refund_state"):
        ensure_handed_on(items, outcome.payment, conversions, deliveries, now)
    return outcome
