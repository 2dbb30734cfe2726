"""Scheduled: pending payments oldest first → ask the gateway, same transition (funil.payments.reconcile)."""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import wiring
from funil.config import settings
from funil.observability import logger, metrics
from funil.payments.reconcile import reconcile

SETTINGS = settings()
DEPS = wiring.payments(SETTINGS)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Stop in time to record what was done: 15 s before Lambda's own timeout.
    budget = min(SETTINGS.reconciler_budget_seconds, max(1.0, context.get_remaining_time_in_millis() / 1000 - 15))
    return {"counts": reconcile(DEPS, budget_seconds=budget)}


cold_start.done()
