"""The daily report and the weekly summary of an admin chat, due through the timers (pattern 43).

Each admin chat is due (``timer = notify_report``) at its report hour, Brasília time. When it comes
due, the chat gets, if it wants them: the daily report of yesterday (Brasília day), and on Mondays
the weekly summary of the last seven days (Monday to Sunday). The numbers are the dashboard's own:
``funil.analytics.stats.read_stats`` over the same counters, with the imported spend, ROAS and the
top campaigns by revenue. Each report is a notice (``daily_<day>``, ``weekly_<first day>``) sent
through ``funil.notifications.sending.deliver``, claimed per chat like the others, so a timer run
that repeats sends nothing twice. Then the chat is due again at the next report hour. A removed
chat ends its timer; a blocked chat keeps it, skipped, until it is removed or registered again.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from funil import keys
from funil.notifications import texts
from funil.notifications.models import BLOCKED, BRASILIA, DEFAULT_REPORT_HOUR, enabled_kinds, next_report_at
from funil.notifications.sending import Notice, NotifyDeps, RetryLater, deliver

__all__ = ["daily_notice", "handle", "weekly_notice"]

log = logging.getLogger(__name__)

TOP_CAMPAIGNS = 3
RETRY_FAILED_REPORT = timedelta(minutes=15)


def _read(items: Any, tenant_id: str, start: date, end: date) -> tuple[Any, list[Any]]:
    from funil.analytics.stats import StatsQuery, read_stats  # only when a report is due

    answer = read_stats(items, tenant_id, StatsQuery(start=start, end=end, by="campaign"))
    top = [row for row in answer.rows if row.sales or row.revenue_cents][:TOP_CAMPAIGNS]
    return answer.totals, top


def daily_notice(items: Any, tenant_id: str, day: date) -> Notice:
    totals, top = _read(items, tenant_id, day, day)
    text = texts.report(title="Relatório do dia", start=day, end=day, totals=totals, campaigns=top)
    return Notice(tenant_id, f"daily_{day.isoformat()}", "daily", text)


def weekly_notice(items: Any, tenant_id: str, last_day: date) -> Notice:
    start = last_day - timedelta(days=6)
    totals, top = _read(items, tenant_id, start, last_day)
    previous, _ = _read(items, tenant_id, start - timedelta(days=7), start - timedelta(days=1))
    text = texts.report(
        title="Resumo da semana", start=start, end=last_day, totals=totals, campaigns=top, previous=previous
    )
    return Notice(tenant_id, f"weekly_{start.isoformat()}", "weekly", text)


def handle(deps: NotifyDeps, item: dict[str, Any], now: datetime) -> datetime | None:
    """A chat's reports that are due (a ``funil.timers`` handler): when the chat is next due."""
    tenant_id, chat_id = str(item.get("tenant_id") or ""), item.get("chat_id")
    if item.get("type") != "admin_chat" or not tenant_id or chat_id is None:
        return None
    chat = deps.items.get(*keys.admin_chat(tenant_id, int(chat_id)), consistent=True)
    if chat is None:
        return None  # removed meanwhile
    if chat.get("status") == BLOCKED:
        return None  # it hears nothing until it registers again, which schedules it anew
    wanted = enabled_kinds(chat)
    next_due = next_report_at(now, int(chat.get("report_hour", DEFAULT_REPORT_HOUR)))
    yesterday = now.astimezone(BRASILIA).date() - timedelta(days=1)
    try:
        if wanted["daily"]:
            deliver(deps, daily_notice(deps.items, tenant_id, yesterday), [chat])
        if wanted["weekly"] and yesterday.weekday() == 6:  # today is Monday: last week, Monday to Sunday
            deliver(deps, weekly_notice(deps.items, tenant_id, yesterday), [chat])
    except RetryLater:
        return now + timedelta(minutes=1)  # Telegram asked to wait; what was sent is claimed
    except Exception:
        # Telegram or AWS failing: tried again later today (what was sent is claimed), never given
        # up on, which would end the chat's reports.
        log.exception("report not sent", extra={"tenant_id": tenant_id})
        retry = now + RETRY_FAILED_REPORT
        return retry if retry.astimezone(BRASILIA).date() == now.astimezone(BRASILIA).date() else next_due
    return next_due
