"""Daily: each tenant's recent Brasília days → JSON Lines in the export bucket, for Athena
(funil.analytics.export). Invoked directly with ``{"from", "to"}`` it exports a past range."""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import wiring
from funil.analytics.export import DEFAULT_BUDGET_SECONDS, run
from funil.config import settings
from funil.observability import logger, metrics

DEPS = wiring.export(settings())


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Begin no tenant within 30 s of Lambda's timeout (nor after 840 s): those begun must finish, and
    # where the walk ended must be recorded.
    budget = min(DEFAULT_BUDGET_SECONDS, max(1.0, context.get_remaining_time_in_millis() / 1000 - 30))
    return run(DEPS, event, budget_seconds=budget).as_json()


cold_start.done()
