"""Every 15 minutes: each bot's getMe and getWebhookInfo → its health (funil.bot.health)."""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

import logging
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import wiring
from funil.bot.health import check_all
from funil.clock import utc_now
from funil.config import settings
from funil.observability import logger, metrics

logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

SETTINGS = settings()
DEPS = wiring.bot_health(SETTINGS)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes = check_all(DEPS, utc_now, budget_seconds=SETTINGS.health_budget_seconds)
    return {"checked": len(outcomes), "outcomes": outcomes}


cold_start.done()
