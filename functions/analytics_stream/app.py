"""AppTable's stream (clicks, leads, payments) → the funnel's counters (funil.analytics.stream).

Glue only: the collaborators (funil.wiring) and the batch. Any error fails the whole batch (no
partial answer: its counters are written per batch, funil.analytics.storage); Lambda retries it,
then splits it, then reports it to AnalyticsStreamDeadLetterQueue.
"""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import wiring
from funil.analytics.stream import count_batch
from funil.config import settings
from funil.observability import logger, metrics

deps = wiring.analytics_stream(settings())


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    count_batch(event.get("Records") or [], deps)
    return {}


cold_start.done()
