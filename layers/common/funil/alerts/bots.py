"""The bots' alerts, judged by the scheduled health check (``funil.bot.health``).

- Telegram refuses the token (401) → ``bot_token_refused``; resolved when the token works again.
- The webhook fails: ``getWebhookInfo`` reports a delivery error in the last ``RECENT_ERROR``
  (more than one check's period, so every error is seen by some check), or at least
  ``PENDING_GROWING`` updates wait and more than at the previous check → ``bot_webhook_failing``;
  resolved by a check that finds neither.

Resolving only touches what pattern 54 lists as open (read once per run), so a healthy bot costs no
write.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from funil.alerts.incidents import AlertSink, Incidents
from funil.clock import iso, to_epoch_s
from funil.event_kinds import AlertKind

RECENT_ERROR = timedelta(minutes=20)
PENDING_GROWING = 100

BOT_KINDS = (AlertKind.BOT_TOKEN_REFUSED, AlertKind.BOT_WEBHOOK_FAILING)

OpenSet = frozenset[tuple[str, str]]  # (kind, subject) of the open incidents


def open_bot_incidents(incidents: Incidents | None) -> OpenSet:
    if incidents is None:
        return frozenset()
    return frozenset(
        (str(item["kind"]), str(item["subject"])) for kind in BOT_KINDS for item in incidents.open_of_kind(kind)
    )


def webhook_problem(info: Mapping[str, Any], previous_pending: int | None, now: datetime) -> str | None:
    """Why the bot's webhook is failing, or None. Telegram's own error text is not repeated (it may
    quote our URL, which holds no secret but is not the seller's business either)."""
    last_error = info.get("last_error_date")
    if (
        isinstance(last_error, int)
        and not isinstance(last_error, bool)
        and to_epoch_s(now - RECENT_ERROR) <= last_error
    ):
        return f"Telegram could not deliver an update at {iso(datetime.fromtimestamp(last_error, tz=now.tzinfo))}"
    pending = int(info.get("pending_update_count") or 0)
    if pending >= PENDING_GROWING and previous_pending is not None and pending > previous_pending:
        return f"{pending} updates wait for delivery (were {previous_pending})"
    return None


def token_refused(alerts: AlertSink, bot: Mapping[str, Any]) -> None:
    alerts.open(
        str(bot["tenant_id"]), AlertKind.BOT_TOKEN_REFUSED, str(bot["bot_id"]), "Telegram refuses the bot's token"
    )


def bot_answers(
    alerts: AlertSink, open_now: OpenSet, bot: Mapping[str, Any], info: Mapping[str, Any], now: datetime
) -> None:
    """The bot's token works: resolve a refused-token incident; judge the webhook."""
    tenant_id, bot_id = str(bot["tenant_id"]), str(bot["bot_id"])
    if (AlertKind.BOT_TOKEN_REFUSED.value, bot_id) in open_now:
        alerts.resolve(tenant_id, AlertKind.BOT_TOKEN_REFUSED, bot_id, "Telegram accepts the bot's token again")
    previous = (bot.get("health") or {}).get("webhook_pending_update_count")
    problem = webhook_problem(info, int(previous) if previous is not None else None, now)
    if problem:
        alerts.open(tenant_id, AlertKind.BOT_WEBHOOK_FAILING, bot_id, problem)
    elif (AlertKind.BOT_WEBHOOK_FAILING.value, bot_id) in open_now:
        alerts.resolve(tenant_id, AlertKind.BOT_WEBHOOK_FAILING, bot_id, "Telegram delivers the bot's updates again")
