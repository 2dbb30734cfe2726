"""Every 15 minutes: each bot's getMe and getWebhookInfo → its health (funil.bot.health)."""

from __future__ import annotations

import logging
from typing import Any

from funil import wiring
from funil.bot.health import check_all
from funil.clock import utc_now
from funil.config import settings

log = logging.getLogger()
log.setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

SETTINGS = settings()
DEPS = wiring.bot_health(SETTINGS)


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    outcomes = check_all(DEPS, utc_now, budget_seconds=SETTINGS.health_budget_seconds)
    return {"checked": len(outcomes), "outcomes": outcomes}
