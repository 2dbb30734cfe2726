"""Join requests through a delivery's join-request link: approved only for the buyer it was made for.

The Telegram webhook calls ``decide_join_request`` on a ``chat_join_request`` update and then
``approveChatJoinRequest`` or ``declineChatJoinRequest``. A link forwarded to someone else, a link
of another bot or chat, a link revoked by a refund, a link whose payment is no longer paid (the
refund's revocation may still be queued), or a request without a link is declined.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from funil import keys
from funil.clock import iso
from funil.delivery.storage import DeliveryRecords
from funil.payments.models import PaymentStatus
from funil.ports import Items


@dataclass(frozen=True, slots=True)
class JoinDecision:
    approve: bool
    reason: str
    payment_id: str | None = None


def decide_join_request(items: Items, bot_id: str, update: Mapping[str, Any], now: datetime) -> JoinDecision:
    """``update`` is the ``chat_join_request`` object of the Update."""
    link = (update.get("invite_link") or {}).get("invite_link")
    user = (update.get("from") or {}).get("id")
    chat = (update.get("chat") or {}).get("id")
    if not isinstance(link, str) or user is None or chat is None:
        return JoinDecision(False, "no_invite_link")
    invite = DeliveryRecords(items).invite(link)
    if invite is None:
        return JoinDecision(False, "unknown_link")
    payment_id = str(invite.get("payment_id"))
    if invite.get("bot_id") != bot_id or str(invite.get("chat_id")) != str(chat):
        return JoinDecision(False, "link_of_another_bot_or_chat", payment_id)
    if str(invite.get("telegram_user_id")) != str(user):
        return JoinDecision(False, "not_the_buyer", payment_id)
    if invite.get("revoked_at"):
        return JoinDecision(False, "revoked", payment_id)
    payment = items.get(*keys.payment(payment_id), consistent=True) or {}
    if payment.get("status") != PaymentStatus.PAID:
        return JoinDecision(False, "payment_not_paid", payment_id)
    items.update(*keys.invite(link), "SET joined_at = :now", {":now": iso(now)})
    return JoinDecision(True, "buyer", payment_id)
