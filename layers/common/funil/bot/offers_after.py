"""Follow-ups scheduled beside a payment: an unpaid PIX's reminder and after-expiry message, a sale's upsell.

One item per payment, ``PAYMENT#<id>`` / ``FOLLOWUP`` (docs/data-model.md pattern 45), due through the
timers' index (``timer = follow_up``, ``funil.timers``): ``steps`` maps each step to its due time,
``sent`` records the steps sent, ``skipped`` those passed over (a reminder already stale). It holds
no personal data: the handler (``funil.bot.follow_ups``) reads the buyer from the payment, so an
erased buyer's follow-ups find no one and stop. ``expires_at`` (TTL) tidies it up a week after its
last step.

Light on purpose (keys, timers, clock): the delivery consumer schedules the upsell through it
without loading the bot's modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from funil import keys, timers
from funil.clock import iso, parse_iso, to_epoch_s
from funil.ports import Items

__all__ = ["EXPIRED", "KIND", "REMINDER", "UPSELL", "follow_up_item", "schedule_unpaid_pix", "schedule_upsell"]

KIND = "follow_up"
REMINDER = "reminder"  # before the unpaid charge expires
EXPIRED = "expired"  # after it expired: a new charge, or the offer's downsell
UPSELL = "upsell"  # after a sale was delivered: the offer's next offer
KEEP = timedelta(days=7)


def follow_up_item(payment: Mapping[str, Any], steps: Mapping[str, datetime]) -> dict[str, Any]:
    """The whole ``FOLLOWUP`` item of a payment, due at its first step."""
    key = keys.follow_up(str(payment["payment_id"]))
    return {
        "pk": key[0],
        "sk": key[1],
        "type": "follow_up",
        "tenant_id": payment.get("tenant_id"),
        "payment_id": str(payment["payment_id"]),
        "steps": {name: iso(at) for name, at in steps.items()},
        "sent": {},
        "skipped": {},
        "expires_at": to_epoch_s(max(steps.values()) + KEEP),
        **timers.due_attributes(key, KIND, min(steps.values())),
    }


def unpaid_pix_steps(
    charge_expires_at: datetime, reminder_minutes: int | None, follow_up_minutes: int | None, now: datetime
) -> dict[str, datetime]:
    """The reminder (only while still ahead) and the after-expiry follow-up an offer asks for."""
    steps: dict[str, datetime] = {}
    if reminder_minutes:
        reminder = charge_expires_at - timedelta(minutes=reminder_minutes)
        if reminder > now:
            steps[REMINDER] = reminder
    if follow_up_minutes:
        steps[EXPIRED] = charge_expires_at + timedelta(minutes=follow_up_minutes)
    return steps


def schedule_unpaid_pix(
    items: Items,
    payment: Mapping[str, Any],
    *,
    reminder_minutes: int | None,
    follow_up_minutes: int | None,
    now: datetime,
) -> bool:
    """A new PIX charge: its follow-ups, when the offer has any. True when scheduled."""
    steps = unpaid_pix_steps(parse_iso(str(payment["charge_expires_at"])), reminder_minutes, follow_up_minutes, now)
    if not steps:
        return False
    items.put(follow_up_item(payment, steps))
    return True


def schedule_upsell(items: Items, payment: Mapping[str, Any], now: datetime) -> bool:
    """A delivered sale whose offer has an upsell: the upsell, due now (the timers run every minute).

    Once per payment: an item that already holds an upsell step is left alone (a repeated delivery).
    The unpaid follow-ups it replaces were over anyway: the payment is paid."""
    bot_id, offer_id = payment.get("bot_id"), payment.get("offer_id")
    if not bot_id or not offer_id or payment.get("bundle_of"):
        return False  # an order bump's part is no sale of its own to follow up
    offer = items.get(*keys.offer(str(bot_id), str(offer_id)))
    if offer is None or offer.get("tenant_id") != payment.get("tenant_id") or not offer.get("upsell_offer_id"):
        return False
    from funil.adapters.dynamo import is_conditional_failure

    try:
        items.put(follow_up_item(payment, {UPSELL: now}), condition="attribute_not_exists(steps.upsell)")
    except Exception as error:
        if not is_conditional_failure(error):
            raise
        return False
    return True
