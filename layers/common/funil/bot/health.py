"""The bots' health, checked on a schedule (``functions/bot_health``): ``getMe`` and ``getWebhookInfo``.

- the token is refused (401) → ``token_invalid`` (links skip the bot until its token is replaced);
- ``getMe`` answers another username than the one our links open → ``unhealthy``;
- the webhook is not ours (when the public base URL is known) → it is set again, with the bot's
  secret, and the bot stays healthy;
- Telegram unreachable or rate limiting us → nothing changes (a transient problem is no verdict);
- otherwise ``healthy`` — also for a bot that was marked ``token_invalid`` and whose token now works.

One user's block (403 to a chat) never reaches this: only the bot's own calls are judged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from funil import encryption, keys
from funil.adapters.dynamo import Table
from funil.adapters.telegram import BotTokenInvalid, RateLimited, TelegramFailure, TelegramUnavailable
from funil.alerts import bots as bot_alerts
from funil.alerts.incidents import NO_ALERTS, AlertSink, Incidents
from funil.bot import storage
from funil.clock import iso
from funil.observability import anomaly, count
from funil.ports import Secrets

if TYPE_CHECKING:
    from funil.alerts.checks import AlertChecks

log = logging.getLogger(__name__)

FAILING_VERDICTS = frozenset({"token_invalid", "unhealthy", "error"})
ALLOWED_UPDATES = ("message", "callback_query", "pre_checkout_query", "chat_join_request")


@dataclass
class HealthDeps:
    table: Table
    secrets: Secrets
    telegram: Callable[[str], Any]  # token → client with get_me, get_webhook_info, set_webhook
    public_base_url: str = ""
    alerts: AlertSink = NO_ALERTS  # a refused token, a failing webhook (docs/alerts.md)
    incidents: Incidents | None = None  # the open ones, to resolve
    # The other incidents' periodic resolution, after the bots: built on the first run, since it
    # brings the payments' gateway adapters, which the import of the function need not pay for.
    alert_checks: Callable[[], AlertChecks] | None = None
    _checks: AlertChecks | None = field(default=None, init=False, repr=False)

    @property
    def checks(self) -> AlertChecks | None:
        if self._checks is None and self.alert_checks is not None:
            self._checks = self.alert_checks()
        return self._checks


def all_bots(table: Table) -> Iterator[dict[str, Any]]:
    """Every bot (``gsi2pk = BOTS``)."""
    yield from table.query("gsi2pk = :pk", {":pk": keys.every_bot_index()["gsi2pk"]}, index="gsi2")


def check_bot(
    deps: HealthDeps, bot: dict[str, Any], now: datetime, open_incidents: bot_alerts.OpenSet = frozenset()
) -> str:
    bot_id = str(bot["bot_id"])
    if not bot.get("enabled", True):
        return "disabled"
    ciphertext = bot.get("token_ciphertext")
    if not ciphertext:
        return _record(deps, bot, "unhealthy", "no_token", now)
    api = deps.telegram(encryption.bot_token(deps.secrets, bot_id, str(ciphertext)))
    try:
        me = api.get_me()
        info = api.get_webhook_info()
    except BotTokenInvalid:
        anomaly("bot_token_invalid", "bot token refused by Telegram", bot_id=bot_id)
        bot_alerts.token_refused(deps.alerts, bot)
        return _record(deps, bot, "token_invalid", "telegram_401", now)
    except (RateLimited, TelegramUnavailable) as error:
        log.warning("health check of %s skipped: %s", bot_id, type(error).__name__)
        return "skipped"
    except TelegramFailure as error:
        return _record(deps, bot, "unhealthy", f"telegram_error: {error}"[:200], now)
    username = str(bot.get("username") or "")
    if username and str(me.get("username") or "").lower() != username.lower():
        return _record(deps, bot, "unhealthy", "username_mismatch", now)
    extra: dict[str, Any] = {"webhook_pending_update_count": int(info.get("pending_update_count") or 0)}
    if info.get("last_error_message"):
        extra["webhook_last_error"] = str(info["last_error_message"])[:200]
    reason = None
    expected = f"{deps.public_base_url.rstrip('/')}/tg/{bot_id}" if deps.public_base_url else None
    if expected and info.get("url") != expected:
        secret_ciphertext = bot.get("webhook_secret_ciphertext")
        if not secret_ciphertext:
            return _record(deps, bot, "unhealthy", "no_webhook_secret", now)
        try:
            secret = encryption.bot_webhook_secret(deps.secrets, bot_id, str(secret_ciphertext))
            api.set_webhook(expected, secret, list(ALLOWED_UPDATES))
        except (RateLimited, TelegramUnavailable):
            return "skipped"
        except TelegramFailure as error:
            return _record(deps, bot, "unhealthy", f"set_webhook_failed: {error}"[:200], now)
        reason = "webhook_set"
    bot_alerts.bot_answers(deps.alerts, open_incidents, bot, info if reason is None else {}, now)
    return _record(deps, bot, "healthy", reason, now, extra=extra)


def _record(
    deps: HealthDeps,
    bot: dict[str, Any],
    status: str,
    reason: str | None,
    now: datetime,
    *,
    extra: dict[str, Any] | None = None,
) -> str:
    storage.mark_bot_health(deps.table, str(bot["bot_id"]), status, reason, now, extra=extra)
    return status if not reason else f"{status}:{reason.split(':')[0]}"


def check_all(deps: HealthDeps, now: Callable[[], datetime], budget_seconds: float = 240.0) -> dict[str, str]:
    import time

    started = time.monotonic()
    outcomes: dict[str, str] = {}
    open_incidents = _open_bot_incidents(deps)
    for bot in all_bots(deps.table):
        if time.monotonic() - started > budget_seconds:
            break
        try:
            outcomes[str(bot["bot_id"])] = check_bot(deps, bot, now(), open_incidents)
        except Exception:
            log.exception("health check failed", extra={"bot_id": bot.get("bot_id")})
            outcomes[str(bot.get("bot_id"))] = "error"
    log.info("bot health checked at %s: %s", iso(now()), outcomes)
    failing = sum(1 for outcome in outcomes.values() if outcome.split(":")[0] in FAILING_VERDICTS)
    if failing:
        count("BotHealthFailures", failing)  # BotHealthFailuresAlarm
    if deps.checks is not None and time.monotonic() - started <= budget_seconds:
        deps.checks.run()
    return outcomes


def _open_bot_incidents(deps: HealthDeps) -> bot_alerts.OpenSet:
    try:
        return bot_alerts.open_bot_incidents(deps.incidents)
    except Exception:
        log.exception("open incidents not read; none resolved this run")
        return frozenset()
