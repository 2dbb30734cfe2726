"""Notices to a tenant's admin chats, each chat at most once per notice (docs/notifications.md).

The notifications queue carries copies of the Purchase and Refund messages of the conversions queue
(``funil.wiring.conversions_out``) and ``AlertNotice`` messages; the timers make the reports
(``funil.notifications.reports``). For one message, in order:

1. parsed (anything else is dropped and logged: a retry cannot fix it); a sale or refund is built
   from the stored payment, only when it is the message's tenant's (ids only travel on the queue);
2. the tenant's admin chats (pattern 51) that are active and want the notice's kind;
3. per chat, the notice is **claimed** (``NOTICE#<tenant>#<notice id>`` / ``CHAT#<chat>``, pattern
   52, a conditional put) before it is sent through the bot the chat registered with, so a repeated
   message or a redelivered batch sends nobody twice. The outcome is recorded on the claim:
   ``sent``; ``blocked`` (403: the person blocked the bot; the chat is marked and skipped from then
   on); ``failed`` (a 400, the bot gone or its token refused: retrying cannot help).
   A 429 gives the claim back and raises ``RetryLater`` with Telegram's ``retry_after``: the handler
   makes the message visible again after it, and the chats already sent are not sent again.
   Telegram unavailable gives the claim back and raises: the queue retries the message.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from funil import encryption, keys
from funil.adapters.dynamo import is_conditional_failure
from funil.adapters.telegram import (
    BotTokenInvalid,
    RateLimited,
    TelegramClient,
    TelegramFailure,
    TelegramUnavailable,
    UserUnreachable,
)
from funil.bot import storage
from funil.bot.views import BotView
from funil.clock import Clock, iso, parse_iso, to_epoch_s
from funil.messages import AlertNotice, ConversionMessage, EventKind
from funil.notifications import texts
from funil.notifications.models import ACTIVE, BLOCKED, enabled_kinds
from funil.observability import count
from funil.payments.amounts import own_cents, refund_step_cents, refund_steps
from funil.ports import Secrets

__all__ = ["Notice", "NotifyDeps", "RetryLater", "deliver", "handle_message", "notice_for"]

log = logging.getLogger(__name__)

CLAIM_TTL = timedelta(days=30)  # longer than any redelivery of the message (the queue keeps 4 days)


@dataclass
class NotifyDeps:
    items: Any  # funil.adapters.dynamo.Table
    secrets: Secrets
    telegram: Callable[[str], TelegramClient]  # bot token (decrypted, memory only) → its client
    now: Clock
    _bots: dict[str, BotView | None] = field(default_factory=dict, repr=False)

    def bot(self, bot_id: str) -> BotView | None:
        if bot_id not in self._bots:
            if len(self._bots) > 200:
                self._bots.clear()
            self._bots[bot_id] = storage.load_bot(self.items, bot_id)
        return self._bots[bot_id]

    def forget_bots(self) -> None:
        """Bots are read again on the next message (an admin may have changed a token)."""
        self._bots.clear()


class RetryLater(Exception):
    """Telegram asked to wait (429): the message comes back after ``seconds``."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Notice:
    tenant_id: str
    notice_id: str  # purchase_<payment>, refund_<payment>[_<n>], alert_<incident>_<state>, daily_<day>…
    kind: str  # which of the chat's switches it needs (funil.notifications.models.KINDS)
    text: str


def parse(body: str) -> ConversionMessage | AlertNotice | None:
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    if not isinstance(decoded, dict):
        return None
    try:
        if decoded.get("type") == "alert":
            return AlertNotice.model_validate(decoded)
        message = ConversionMessage.model_validate(decoded)
    except ValidationError:
        return None
    return message if message.kind in (EventKind.PURCHASE, EventKind.REFUND) else None


def _payment(items: Any, message: ConversionMessage) -> dict[str, Any] | None:
    payment_id = message.refs.payment_id or ""
    payment = items.get(*keys.payment(payment_id), consistent=True)
    if payment is None or payment.get("tenant_id") != message.tenant_id:
        return None
    return dict(payment)


def _gateway_label(items: Any, payment: Mapping[str, Any]) -> str:
    if payment.get("method") == "stars" or payment.get("currency") == "XTR":
        return "Telegram Stars"
    gateway_id = str(payment.get("gateway_id") or "")
    if not gateway_id:
        return "PIX"
    gateway = items.get(*keys.gateway(gateway_id)) or {}
    if gateway.get("tenant_id") != payment.get("tenant_id"):
        return f"PIX ({gateway_id})"
    return f"PIX · {gateway.get('name') or gateway.get('kind') or gateway_id}"


def _amount(payment: Mapping[str, Any], cents: int) -> str:
    if payment.get("currency") == "XTR":
        return f"{cents} Stars"
    return texts.money(cents)


def _sale_text(items: Any, payment: Mapping[str, Any]) -> str:
    attribution = payment.get("attribution") or {}
    paid_at = parse_iso(str(payment.get("paid_at") or payment.get("confirmed_at") or payment["created_at"]))
    clicked_at = attribution.get("clicked_at")
    return texts.sale(
        offer=str(payment.get("offer_name") or payment.get("offer_id") or "—"),
        amount=_amount(payment, own_cents(payment)),
        gateway=_gateway_label(items, payment),
        attribution=attribution,
        click_to_sale=paid_at - parse_iso(str(clicked_at)) if clicked_at else None,
        paid_at=paid_at,
    )


def _refund_text(payment: Mapping[str, Any], step: int) -> str | None:
    steps = refund_steps(payment)
    if steps and step >= len(steps):
        return None  # a step the payment does not hold (yet): nothing true to say
    part = refund_step_cents(payment, step) if steps else own_cents(payment)
    last = not steps or step == len(steps) - 1
    return texts.refund(
        offer=str(payment.get("offer_name") or payment.get("offer_id") or "—"),
        part=_amount(payment, part),
        step=step,
        full=last and payment.get("status") == "refunded",
        chargeback=payment.get("refund_reason") == "chargeback",
    )


def notice_for(items: Any, message: ConversionMessage | AlertNotice) -> Notice | None:
    """The notice a queue message stands for (None: nothing to tell, e.g. another tenant's payment)."""
    if isinstance(message, AlertNotice):
        return Notice(message.tenant_id, message.notice_id, "alerts", texts.alert(message))
    payment = _payment(items, message)
    if payment is None:
        return None
    if message.kind is EventKind.PURCHASE:
        return Notice(message.tenant_id, message.event_id, "sale", _sale_text(items, payment))
    text = _refund_text(payment, message.refs.refund_step or 0)
    return Notice(message.tenant_id, message.event_id, "refund", text) if text else None


def handle_message(deps: NotifyDeps, body: str) -> dict[str, int]:
    """One queue message to the admin chats that want it (see the module's docstring)."""
    message = parse(body)
    if message is None:
        log.warning("not a notification message: dropped")
        return {"dropped": 1}
    notice = notice_for(deps.items, message)
    if notice is None:
        log.info("nothing to notify", extra={"tenant_id": message.tenant_id})
        return {"nothing": 1}
    from funil.notifications.registration import chats

    return deliver(deps, notice, chats(deps.items, notice.tenant_id))


def deliver(deps: NotifyDeps, notice: Notice, chats: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for chat in chats:
        if chat.get("tenant_id") != notice.tenant_id:
            continue
        if chat.get("status", ACTIVE) != ACTIVE:
            counts["blocked"] += 1
            continue
        if not enabled_kinds(chat).get(notice.kind):
            counts["opted_out"] += 1
            continue
        counts[_send_once(deps, notice, chat)] += 1
    if counts["sent"]:
        count("NotificationsSent", counts["sent"])
    return dict(counts)


def _claim(deps: NotifyDeps, notice: Notice, chat_id: int) -> bool:
    now = deps.now()
    try:
        deps.items.update(
            *keys.notice_claim(notice.tenant_id, notice.notice_id, chat_id),
            "SET #type = :type, tenant_id = :tenant, notice_id = :notice, chat_id = :chat, #status = :claimed, "
            "claimed_at = :now, expires_at = :expires",
            {
                ":type": "notice",
                ":tenant": notice.tenant_id,
                ":notice": notice.notice_id,
                ":chat": chat_id,
                ":claimed": "claimed",
                ":now": iso(now),
                ":expires": to_epoch_s(now + CLAIM_TTL),
                ":released": "released",
            },
            names={"#type": "type", "#status": "status"},
            condition="attribute_not_exists(pk) OR #status = :released",
        )
    except Exception as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def _record(deps: NotifyDeps, notice: Notice, chat_id: int, status: str, reason: str | None = None) -> None:
    values: dict[str, Any] = {":status": status, ":at": iso(deps.now())}
    expression = "SET #status = :status, recorded_at = :at"
    if reason:
        expression += ", reason = :reason"
        values[":reason"] = reason
    deps.items.update(
        *keys.notice_claim(notice.tenant_id, notice.notice_id, chat_id), expression, values, names={"#status": "status"}
    )


def _release(deps: NotifyDeps, notice: Notice, chat_id: int) -> None:
    """Give the claim back: the notice was not sent and a later try claims and sends it."""
    _record(deps, notice, chat_id, "released")


def _mark_blocked(deps: NotifyDeps, chat: Mapping[str, Any], now: datetime) -> None:
    deps.items.update(
        *keys.admin_chat(str(chat["tenant_id"]), int(chat["chat_id"])),
        "SET #status = :blocked, blocked_at = :now",
        {":blocked": BLOCKED, ":now": iso(now)},
        names={"#status": "status"},
        condition="attribute_exists(pk)",
    )


def _send_once(deps: NotifyDeps, notice: Notice, chat: Mapping[str, Any]) -> str:
    chat_id = int(chat["chat_id"])
    if not _claim(deps, notice, chat_id):
        return "already_claimed"
    try:
        bot = deps.bot(str(chat.get("bot_id") or ""))
    except Exception:
        _release(deps, notice, chat_id)  # nothing was sent: a retry claims it again
        raise
    if bot is None or bot.tenant_id != notice.tenant_id or not bot.token_ciphertext:
        _record(deps, notice, chat_id, "failed", "bot_unavailable")
        return "failed"
    try:
        api = deps.telegram(encryption.bot_token(deps.secrets, bot.bot_id, bot.token_ciphertext))
        api.send_message(chat_id, notice.text, parse_mode=texts.PARSE_MODE)
    except UserUnreachable:
        _record(deps, notice, chat_id, "blocked")
        _mark_blocked(deps, chat, deps.now())
        log.info("admin chat blocked the bot: skipped from now on", extra={"bot_id": bot.bot_id})
        return "blocked"
    except RateLimited as error:
        _release(deps, notice, chat_id)
        count("NotificationsRateLimited")
        raise RetryLater(max(1, error.retry_after)) from None
    except TelegramUnavailable:
        _release(deps, notice, chat_id)
        raise
    except BotTokenInvalid:
        _record(deps, notice, chat_id, "failed", "bot_token_invalid")
        return "failed"
    except TelegramFailure as error:
        _record(deps, notice, chat_id, "failed", type(error).__name__)
        return "failed"
    except Exception:
        # Before Telegram answered (the token's decryption, the client): not sent, so given back.
        _release(deps, notice, chat_id)
        raise
    _record(deps, notice, chat_id, "sent")
    return "sent"
