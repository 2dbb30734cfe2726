"""Every 15 minutes: each bot's getMe and getWebhookInfo → its health (funil.bot.health)."""

from __future__ import annotations

import logging
import os
from typing import Any

from funil.adapters.dynamo import Table
from funil.adapters.kms import CachedKms
from funil.adapters.telegram import TelegramClient
from funil.bot.health import HealthDeps, check_all
from funil.clock import utc_now
from funil.config import settings

log = logging.getLogger()
log.setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

DEPS = HealthDeps(
    table=Table(settings().table_name),
    secrets=CachedKms(),
    telegram=TelegramClient,
    public_base_url=os.environ.get("PUBLIC_BASE_URL", ""),
)


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    outcomes = check_all(DEPS, utc_now, budget_seconds=float(os.environ.get("HEALTH_BUDGET_SECONDS") or 240))
    return {"checked": len(outcomes), "outcomes": outcomes}
