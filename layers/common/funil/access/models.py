"""A buyer's period of access to an offer's chat: the ``ACCESS#<offer>`` item and its dates.

``LEAD#<bot>#<user>`` / ``ACCESS#<offer>`` (pattern 44, ``funil.keys.access``), written whole by
the delivery of a paid payment of an offer with ``access_days`` (``funil.access.grants``) and moved
along by the ``access`` timer (``funil.access.due``). Attributes: ``tenant_id``, ``bot_id``,
``telegram_user_id``, ``offer_id``, ``chat_id`` (the delivery's chat), ``starts_at``, ``ends_at``,
``reminder_days`` (the offer's, when granted), ``payment_ids`` (string set: each payment counts
once), ``last_payment_id`` / ``last_grant`` (new, renewed or restarted), ``status`` (active |
ended), ``reminded`` (number set: the reminder days sent, or already past when granted, for the
current end), ``ended_at``, ``removed_at`` / ``removal`` (what Telegram said), ``end_notified_at``,
and the timer's (``timer = access``, ``gsi2pk``, ``gsi2sk``: ``funil.timers``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Literal

__all__ = ["KIND", "AccessStatus", "Grant", "GrantKind", "brasilia_date", "next_due", "reminder_at"]

KIND = "access"  # the timer's kind (funil.wiring.timer_handlers)

# Brazil has had no daylight saving time since 2019: Brasília is UTC-3 all year (funil.bot.texts too).
BRASILIA = timezone(timedelta(hours=-3))

GrantKind = Literal["new", "renewed", "restarted"]


class AccessStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Grant:
    """What a paid payment did to the buyer's access.

    Attributes:
        kind: ``new`` (first period), ``renewed`` (paid while active: extended from the old end),
            ``restarted`` (paid after the end: a fresh period, and a fresh invite link).
        ends_at: the access's end after this payment.
        duplicate: this payment had already been counted (a retried delivery): nothing changed.
    """

    kind: GrantKind
    ends_at: datetime
    duplicate: bool = False

    @property
    def keeps_access(self) -> bool:
        """The buyer is still in the chat: no new invite link, a "renewed" message."""
        return self.kind == "renewed"


def reminder_at(ends_at: datetime, days: int) -> datetime:
    return ends_at - timedelta(days=days)


def next_due(ends_at: datetime, reminder_days: Iterable[int], reminded: Iterable[int]) -> datetime:
    """The earliest reminder not yet sent (due at once when its time has passed), else the end itself."""
    done = set(reminded)
    return min((reminder_at(ends_at, days) for days in reminder_days if days not in done), default=ends_at)


def brasilia_date(moment: datetime) -> str:
    """``31/12/2026 às 21:00`` in Brasília's time."""
    local = moment.astimezone(BRASILIA)
    return local.strftime("%d/%m/%Y às %H:%M")
