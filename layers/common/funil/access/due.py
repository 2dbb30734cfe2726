"""The ``access`` timer (``funil.timers``): reminders before an access ends, the buyer's removal at its end.

``handle(deps, item, now)`` runs with the ``ACCESS#<offer>`` item as claimed and returns when it is
next due (None: done). In order:

- **status active, before the end**: the reminders whose time has come and were not sent for this
  end. Only the one nearest the end is sent (a late run sends one, not a burst); the others count as
  sent. A reminder is recorded (``reminded``, conditional on the same end and not yet recorded)
  **before** it is sent, so a run repeated after its lease never sends it twice; when Telegram
  certainly did not deliver it (429, 401) the record is undone and the run raises (retried; on the
  last attempt the reminder is dropped instead, so the end still comes on schedule). The
  message gives the end date (Brasília time) and the renewal buttons ``b:<offer>`` (PIX) and
  ``s:<offer>`` (when the offer has a Stars price). Next due: the next reminder, or the end.
- **status active, at the end**: ``status = ended`` first (conditional on the end read: a renewal
  delivered meanwhile wins, and this run stops); then as below.
- **status ended** (this run, or a run that failed half-way and is retried): unless ``removed_at``,
  ``banChatMember`` + ``unbanChatMember(only_if_banned)`` on the delivery's chat (removes the buyer
  and lets them rejoin with a new link: safe to repeat), ``removed_at`` recorded and the offer ADDed
  to the lead's ``access_expired_offer_ids``; then the "access ended" message with the buttons to
  come back, recorded (``end_notified_at``) before it is sent, like a reminder. Done. A buyer whose
  other active access (another offer of the bot) opens the same chat stays in it (``removal =
  kept_by_another_access``, no message).

Telegram errors: 403 on a message → the buyer blocked the bot: the lead is marked unreachable, the
access still ends (the removal is on the chat, not on the buyer's private chat). 403 or 400 on the
removal (the bot left the chat or lost its admin rights) → an anomaly for the seller, recorded as the
removal's outcome, not retried. 401 → the bot's health is marked and the run raises (retried, then
given up after ``funil.timers.MAX_ATTEMPTS``); 429 and Telegram being down → raises (retried).
An unknown bot or offer: nothing to send; the access still ends on schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from funil import keys
from funil.access import texts
from funil.access.models import AccessStatus, next_due, reminder_at
from funil.adapters.dynamo import is_conditional_failure
from funil.adapters.telegram import BotTokenInvalid, Button, RateLimited, TelegramRejected, UserUnreachable
from funil.bot.storage import mark_bot_health, mark_lead_unreachable
from funil.clock import iso, parse_iso
from funil.observability import anomaly, count
from funil.timers import MAX_ATTEMPTS

if TYPE_CHECKING:
    from funil.bot.ports import BotDeps
    from funil.bot.views import BotView, OfferView

__all__ = ["handle"]

log = logging.getLogger(__name__)

KEPT = "kept_by_another_access"


def handle(deps: BotDeps, item: dict[str, Any], now: datetime) -> datetime | None:
    """One due access (see the module's docstring). Raises for a retry."""
    status = item.get("status")
    if status == AccessStatus.ACTIVE:
        ends_at = parse_iso(str(item["ends_at"]))
        if now < ends_at:
            return _remind(deps, item, ends_at, now)
        if not _mark_ended(deps, item, now):
            return None  # renewed while this run started: the renewal's schedule stands
    elif status != AccessStatus.ENDED:
        return None
    removal = item.get("removal") if item.get("removed_at") else _remove(deps, item, now)
    if removal != KEPT:  # still in the chat through another offer: "you left the group" would be wrong
        _tell_ended(deps, item, now)
    return None


# -- before the end ---------------------------------------------------------------------------------


def _remind(deps: BotDeps, item: dict[str, Any], ends_at: datetime, now: datetime) -> datetime:
    reminder_days = [int(day) for day in item.get("reminder_days") or ()]
    reminded = {int(day) for day in item.get("reminded") or ()}
    come = sorted(day for day in reminder_days if day not in reminded and reminder_at(ends_at, day) <= now)
    recorded = bool(come) and _record(
        deps,
        item,
        AccessStatus.ACTIVE,
        change="ADD reminded :days",
        values={":days": set(come), ":day": come[0]},
        unless="NOT contains(reminded, :day)",
    )
    if recorded:
        reminded |= set(come)
        bot = deps.bot(str(item["bot_id"]))
        offer = bot.offer(str(item["offer_id"])) if bot else None
        if bot is None or offer is None:
            log.info("access reminder not sent: the bot or offer is gone", extra={"sk": item.get("sk")})
        else:
            sent = _send(
                deps,
                bot,
                item,
                text=texts.reminder(offer.title, ends_at, now),
                keyboard=_renewal_keyboard(offer),
                now=now,
            )
            if not sent and int(item.get("timer_attempts") or 0) < MAX_ATTEMPTS:
                _undo(deps, item, "DELETE reminded :days", {":days": set(come)})
                raise RetryLater("reminder not delivered; retried")
            if sent:
                count("AccessRemindersSent")
            else:  # the last attempt: the reminder is dropped, never the end (the item would be given up)
                anomaly("access_reminder_dropped", "an access reminder could not be sent", bot_id=bot.bot_id)
    return next_due(ends_at, reminder_days, reminded | set(come))


# -- the end -------------------------------------------------------------------------------------------


def _mark_ended(deps: BotDeps, item: dict[str, Any], now: datetime) -> bool:
    try:
        deps.table.update(
            str(item["pk"]),
            str(item["sk"]),
            "SET #status = :ended, ended_at = :now, updated_at = :now",
            {
                ":ended": AccessStatus.ENDED.value,
                ":active": AccessStatus.ACTIVE.value,
                ":now": iso(now),
                ":end": item["ends_at"],
            },
            condition="#status = :active AND ends_at = :end",
            names={"#status": "status"},
        )
    except Exception as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def _remove(deps: BotDeps, item: dict[str, Any], now: datetime) -> str:
    """Ban + unban: out of the chat, free to come back through a new link. Safe to repeat."""
    bot = deps.bot(str(item["bot_id"]))
    chat_id, user_id = int(item["chat_id"]), int(item["telegram_user_id"])
    outcome = "bot_gone"
    if _covered_elsewhere(deps, item, now):
        outcome = KEPT
    elif bot is not None:
        api = deps.api(bot)  # no token: raises, retried then given up
        try:
            api.ban_chat_member(chat_id, user_id)
            api.unban_chat_member(chat_id, user_id, only_if_banned=True)
            outcome = "removed"
        except BotTokenInvalid:
            _token_invalid(deps, bot, now)
            raise
        except (UserUnreachable, TelegramRejected) as error:
            # The bot left the chat or lost its admin rights: the seller must look, retrying will not help.
            outcome = "bot_not_in_chat" if isinstance(error, UserUnreachable) else "refused"
            anomaly(
                "access_not_removed",
                "an access ended but the buyer could not be removed from the chat",
                bot_id=bot.bot_id,
                offer_id=item.get("offer_id"),
                reason=outcome,
            )
    deps.table.update(
        str(item["pk"]),
        str(item["sk"]),
        "SET removed_at = if_not_exists(removed_at, :now), removal = :outcome",
        {":now": iso(now), ":outcome": outcome},
    )
    try:
        deps.table.update(
            *keys.lead(str(item["bot_id"]), user_id),
            "ADD access_expired_offer_ids :offer",
            {":offer": {str(item["offer_id"])}},
            condition="attribute_exists(pk)",
        )
    except Exception as error:
        if not is_conditional_failure(error):
            raise
    count("AccessesEnded")
    return outcome


def _covered_elsewhere(deps: BotDeps, item: Mapping[str, Any], now: datetime) -> bool:
    """Another offer of the bot still gives this buyer the same chat (the lead's ACCESS# items: one Query)."""
    pk, prefix = keys.accesses(str(item["bot_id"]), int(item["telegram_user_id"]))
    others = deps.table.query("pk = :pk AND begins_with(sk, :access)", {":pk": pk, ":access": prefix})
    return any(
        other.get("sk") != item["sk"]
        and other.get("status") == AccessStatus.ACTIVE
        and other.get("chat_id") == item.get("chat_id")
        and parse_iso(str(other["ends_at"])) > now
        for other in others
    )


def _tell_ended(deps: BotDeps, item: dict[str, Any], now: datetime) -> None:
    if item.get("end_notified_at") or not _record(
        deps,
        item,
        AccessStatus.ENDED,
        change="SET end_notified_at = :now",
        values={":now": iso(now)},
        unless="attribute_not_exists(end_notified_at)",
    ):
        return
    bot = deps.bot(str(item["bot_id"]))
    if bot is None:
        return
    offer = bot.offer(str(item["offer_id"]))
    title = offer.title if offer else str(item["offer_id"])
    keyboard = _renewal_keyboard(offer) if offer else None
    if not _send(deps, bot, item, text=texts.ended(title), keyboard=keyboard, now=now):
        _undo(deps, item, "REMOVE end_notified_at", {})
        raise RetryLater("end message not delivered; retried")


# -- shared -------------------------------------------------------------------------------------------


class RetryLater(Exception):
    """Telegram did not take the message (429, 401): the run is retried after its lease."""


def _renewal_keyboard(offer: OfferView) -> list[list[Button]]:
    rows = [[Button(texts.pix_button(bool(offer.stars_price)), callback_data=f"b:{offer.offer_id}")]]
    if offer.stars_price:
        rows.append([Button(texts.stars_button(), callback_data=f"s:{offer.offer_id}")])
    return rows


def _record(
    deps: BotDeps, item: Mapping[str, Any], status: AccessStatus, *, change: str, values: dict[str, Any], unless: str
) -> bool:
    """Record a message as sent before sending it, in the same period and state: False when it already was."""
    try:
        deps.table.update(
            str(item["pk"]),
            str(item["sk"]),
            change,
            {**values, ":status": status.value, ":end": item["ends_at"]},
            condition=f"#status = :status AND ends_at = :end AND ({unless})",
            names={"#status": "status"},
        )
    except Exception as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def _undo(deps: BotDeps, item: Mapping[str, Any], expression: str, values: dict[str, Any]) -> None:
    try:
        deps.table.update(
            str(item["pk"]),
            str(item["sk"]),
            expression,
            {**values, ":end": item["ends_at"]},
            condition="ends_at = :end",
        )
    except Exception as error:
        if not is_conditional_failure(error):
            raise


def _send(
    deps: BotDeps,
    bot: BotView,
    item: Mapping[str, Any],
    *,
    text: str,
    keyboard: list[list[Button]] | None,
    now: datetime,
) -> bool:
    """True when the message went out or never can (blocked); False when Telegram refused it for now."""
    user_id = int(item["telegram_user_id"])
    api = deps.api(bot)  # no token: raises, retried then given up
    try:
        api.send_message(user_id, text, keyboard=keyboard)
    except UserUnreachable:
        mark_lead_unreachable(deps.table, bot.bot_id, user_id, now, "blocked_bot")
        return True
    except RateLimited:
        return False
    except BotTokenInvalid:
        _token_invalid(deps, bot, now)
        return False
    return True


def _token_invalid(deps: BotDeps, bot: BotView, now: datetime) -> None:
    deps.forget_bot(bot.bot_id)
    mark_bot_health(deps.table, bot.bot_id, "token_invalid", "telegram_401", now)
