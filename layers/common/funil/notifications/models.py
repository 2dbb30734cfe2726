"""An admin chat of a tenant, and what it asked to hear (docs/notifications.md).

A chat is the private chat of a person with one of the tenant's bots: they registered it by sending
``/admin <code>`` to that bot, and its notices go out through that same bot. Each kind is opt-in per
chat; a new chat hears sales, refunds, alerts and the daily report, not the weekly summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

__all__ = [
    "BRASILIA",
    "DEFAULT_KINDS",
    "DEFAULT_REPORT_HOUR",
    "KINDS",
    "REPORT_TIMER",
    "ChatChange",
    "Kind",
    "chat_view",
    "enabled_kinds",
    "next_report_at",
]

Kind = Literal["sale", "refund", "daily", "weekly", "alerts"]
KINDS: tuple[Kind, ...] = ("sale", "refund", "daily", "weekly", "alerts")
DEFAULT_KINDS: dict[str, bool] = {"sale": True, "refund": True, "daily": True, "weekly": False, "alerts": True}
DEFAULT_REPORT_HOUR = 8  # Brasília time: the morning after
REPORT_TIMER = "notify_report"  # funil.timers' kind for a chat's daily and weekly reports
BRASILIA = timezone(timedelta(hours=-3))  # the counters' day (Brazil has had no daylight saving since 2019)

ACTIVE, BLOCKED = "active", "blocked"  # blocked: the person blocked the bot (a 403); skipped since


class ChatChange(BaseModel):
    """``PATCH /api/v1/notifications/chats/{chat_id}``: the kinds to turn on or off, and the report hour."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: dict[Kind, StrictBool] | None = Field(
        default=None, description="Kinds to turn on (true) or off (false); kinds not named keep their setting."
    )
    report_hour: StrictInt | None = Field(
        default=None, ge=0, le=23, description="Hour of the day (Brasília time, 0-23) of the daily and weekly reports."
    )


def enabled_kinds(item: Mapping[str, Any]) -> dict[str, bool]:
    stored = item.get("kinds") or {}
    return {kind: bool(stored.get(kind, DEFAULT_KINDS[kind])) for kind in KINDS}


def chat_view(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "chat_id": int(item["chat_id"]),
        "bot_id": str(item["bot_id"]),
        "status": str(item.get("status") or ACTIVE),
        "kinds": enabled_kinds(item),
        "report_hour": int(item.get("report_hour", DEFAULT_REPORT_HOUR)),
        "registered_at": item.get("created_at"),
        "blocked_at": item.get("blocked_at"),
    }


def next_report_at(now: datetime, hour: int) -> datetime:
    """The next ``hour`` o'clock in Brasília after ``now`` (UTC)."""
    local = now.astimezone(BRASILIA)
    due = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if due <= local:
        due += timedelta(days=1)
    return due.astimezone(now.tzinfo)
