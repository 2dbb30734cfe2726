"""Daily: each tenant's Meta ad accounts → the recent days' spend per ad (funil.analytics.spend)."""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

import logging
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import wiring
from funil.analytics.spend import DEFAULT_BUDGET_SECONDS, import_spend
from funil.config import settings
from funil.observability import logger, metrics

logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines name the accounts' URLs

DEPS = wiring.spend_import(settings())


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Stop in time to record what was done: 15 s before Lambda's own timeout.
    budget = min(DEFAULT_BUDGET_SECONDS, max(1.0, context.get_remaining_time_in_millis() / 1000 - 15))
    return import_spend(DEPS, budget_seconds=budget).as_json()


cold_start.done()
