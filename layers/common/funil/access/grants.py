"""A paid payment of an offer with ``access_days``: the buyer's access begins, extends or restarts.

Called by the delivery (``funil.delivery.entry.deliver``) before the buyer's message, so the message
can say "renewed until …" instead of sending a new invite link, and so a delivery retried after any
failure finds the payment already counted (never extended twice). Per payment:

1. the offer's terms (``access_days``, ``renewal_reminder_days``) from its item; none → no access;
2. the ``ACCESS#<offer>`` item, read consistently: this payment in ``payment_ids`` → nothing changes
   (``Grant.duplicate``);
3. the new end is ``max(old end, paid_at) + access_days`` (a renewal paid before the end loses
   nothing, even when its delivery comes after the end ran), or ``paid_at + access_days`` for a first
   payment; active → renewed (same start); ended → restarted from ``paid_at`` (a new link);
4. one conditional write (on the ``ends_at`` and ``status`` read, and the payment not yet counted)
   sets the period, resets ``reminded`` and makes the item due (``funil.timers``) at its next
   reminder or its end; it also breaks any lease of a run on the old end, so that run's next time
   cannot overwrite the new one. Lost to a concurrent payment of the same buyer → read again.
5. restarted → the offer leaves the lead's ``access_expired_offer_ids`` (their access is back).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from funil import keys
from funil.access.models import KIND, AccessStatus, Grant, GrantKind, next_due, reminder_at
from funil.adapters.dynamo import is_conditional_failure
from funil.clock import iso, parse_iso
from funil.ports import Items
from funil.timers import due_attributes

__all__ = ["access_terms", "grant", "grant_for_delivery"]

log = logging.getLogger(__name__)

ATTEMPTS = 5  # conditional writes lost to the same buyer's other payment before giving up (retried)


def access_terms(items: Items, payment: Mapping[str, Any]) -> tuple[int, tuple[int, ...]] | None:
    """The offer's ``(access_days, renewal_reminder_days)``, or None: it grants access for good."""
    if not payment.get("offer_id") or not payment.get("bot_id"):
        return None
    offer = items.get(*keys.offer(str(payment["bot_id"]), str(payment["offer_id"])))
    if offer is None or offer.get("tenant_id") not in (None, payment.get("tenant_id")):
        return None
    days = _whole(offer.get("access_days"))
    if days is None:
        return None
    reminders = tuple(sorted({day for day in map(_whole, offer.get("renewal_reminder_days") or ()) if day}))
    return days, reminders


def grant_for_delivery(items: Items, payment: Mapping[str, Any], chat_id: int | None, now: datetime) -> Grant | None:
    """The delivery's one call: the access this payment grants, or None (no period, no chat)."""
    if chat_id is None:
        return None  # a message delivery: nobody to remove from a chat
    terms = access_terms(items, payment)
    if terms is None:
        return None
    return grant(items, payment, chat_id=chat_id, access_days=terms[0], reminder_days=terms[1], now=now)


def grant(
    items: Items,
    payment: Mapping[str, Any],
    *,
    chat_id: int,
    access_days: int,
    reminder_days: tuple[int, ...],
    now: datetime,
) -> Grant:
    """Begin, extend or restart the buyer's access for this paid payment (idempotent per payment)."""
    payment_id = str(payment["payment_id"])
    key = keys.access(str(payment["bot_id"]), payment["telegram_user_id"], str(payment["offer_id"]))
    paid_at = parse_iso(str(payment["paid_at"])) if payment.get("paid_at") else now
    period = timedelta(days=access_days)
    for _ in range(ATTEMPTS):
        current = items.get(*key, consistent=True)
        if current is not None and payment_id in (current.get("payment_ids") or ()):
            return _already_counted(items, payment, current)
        kind: GrantKind
        # Paid before the old end: from the old end, even when the end ran before this delivery did.
        ends_at = (max(parse_iso(str(current["ends_at"])), paid_at) if current else paid_at) + period
        if current is not None and current.get("status") == AccessStatus.ACTIVE:
            kind, starts_at = "renewed", str(current.get("starts_at") or iso(paid_at))
        else:
            kind, starts_at = ("restarted" if current else "new"), iso(paid_at)
        # Reminders at or before the payment (a 1-day access reminded 3 days before) are never sent; one
        # whose time passed while the delivery was late is due at once (the timer sends the nearest).
        past = {day for day in reminder_days if reminder_at(ends_at, day) <= paid_at}
        due_at = next_due(ends_at, reminder_days, past)
        try:
            _write(
                items, key, current=current, payment=payment, kind=kind, starts_at=starts_at, ends_at=ends_at,
                chat_id=chat_id, reminder_days=reminder_days, past=past, due_at=due_at, now=now,
            )  # fmt: skip
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            continue  # the same buyer's other payment (or the end) got there first: read again
        if kind == "restarted":
            _access_back(items, payment)
        log.info("access %s until %s", kind, iso(ends_at), extra={"payment_id": payment_id, "timer": KIND})
        return Grant(kind, ends_at)
    raise RuntimeError("access item kept changing; the delivery is retried")


def _write(
    items: Items,
    key: tuple[str, str],
    *,
    current: Mapping[str, Any] | None,
    payment: Mapping[str, Any],
    kind: GrantKind,
    starts_at: str,
    ends_at: datetime,
    chat_id: int,
    reminder_days: tuple[int, ...],
    past: set[int],
    due_at: datetime,
    now: datetime,
) -> None:
    payment_id = str(payment["payment_id"])
    due = due_attributes(key, KIND, due_at)
    values: dict[str, Any] = {
        ":type": "access",
        ":tenant": payment.get("tenant_id"),
        ":bot": payment["bot_id"],
        ":user": payment["telegram_user_id"],
        ":offer": payment["offer_id"],
        ":chat": chat_id,
        ":starts": starts_at,
        ":ends": iso(ends_at),
        ":days": list(reminder_days),
        ":active": AccessStatus.ACTIVE.value,
        ":payment": payment_id,
        ":payments": {payment_id},
        ":kind": kind,
        ":now": iso(now),
        ":timer": due["timer"],
        ":gsi2pk": due["gsi2pk"],
        ":gsi2sk": due["gsi2sk"],
    }
    sets = (
        "#type = :type, tenant_id = :tenant, bot_id = :bot, telegram_user_id = :user, offer_id = :offer, "
        "chat_id = :chat, starts_at = :starts, ends_at = :ends, reminder_days = :days, #status = :active, "
        "last_payment_id = :payment, last_grant = :kind, updated_at = :now, "
        "created_at = if_not_exists(created_at, :now), timer = :timer, gsi2pk = :gsi2pk, gsi2sk = :gsi2sk"
    )
    removes = ["ended_at", "removed_at", "removal", "end_notified_at", "timer_lease", "timer_attempts", "timer_failed"]
    if past:
        sets += ", reminded = :past"
        values[":past"] = past
    else:
        removes.append("reminded")
    if current is None:
        condition = "attribute_not_exists(pk)"
    else:
        condition = "ends_at = :seen_end AND #status = :seen_status AND NOT contains(payment_ids, :payment)"
        values[":seen_end"] = current.get("ends_at")
        values[":seen_status"] = current.get("status")
    items.update(
        key[0],
        key[1],
        f"SET {sets} ADD payment_ids :payments REMOVE {', '.join(removes)}",
        values,
        condition=condition,
        names={"#type": "type", "#status": "status"},
    )


def _already_counted(items: Items, payment: Mapping[str, Any], current: Mapping[str, Any]) -> Grant:
    """A retried delivery: what this payment did the first time (its message says the same)."""
    ends_at = parse_iso(str(current["ends_at"]))
    if current.get("last_payment_id") == payment["payment_id"]:
        kind: GrantKind = current.get("last_grant") or "new"
    else:
        kind = "renewed"  # another payment came since: this one's period is part of the current one
    if kind == "restarted":
        _access_back(items, payment)  # the first attempt may have stopped before it
    return Grant(kind, ends_at, duplicate=True)


def _access_back(items: Items, payment: Mapping[str, Any]) -> None:
    """The lead's access to the offer is back: off the "access expired" segment (broadcasts)."""
    try:
        items.update(
            *keys.lead(str(payment["bot_id"]), payment["telegram_user_id"]),
            "DELETE access_expired_offer_ids :offer",
            {":offer": {str(payment["offer_id"])}},
            condition="attribute_exists(pk)",
        )
    except Exception as error:
        if not is_conditional_failure(error):
            raise


def _whole(value: Any) -> int | None:
    """A stored whole number above zero (DynamoDB gives Decimals or ints), else None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 and number == value else None
