"""Every minute: the work that has come due (funil.timers) → its kind's handler (wiring.timer_handlers)."""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

import logging
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import timers, wiring
from funil.config import settings
from funil.observability import logger, metrics

logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

SETTINGS = settings()
DEPS = wiring.bot(SETTINGS)
HANDLERS = wiring.timer_handlers(DEPS)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Stop in time to record what was done: 10 s before Lambda's own timeout.
    budget = max(1.0, context.get_remaining_time_in_millis() / 1000 - 10)
    counts = timers.run_due(DEPS.table, HANDLERS, DEPS.now, budget_seconds=budget, new_lease_id=wiring.new_claim_id)
    return {"counts": counts}


cold_start.done()
