"""SQS conversions queue → Meta Conversions API, each event once (funil.conversions.sender).

Glue only: the collaborators (funil.wiring), and the batch response with ``batchItemFailures``
(the event source mapping has ReportBatchItemFailures). The sender batches per pixel (one Graph
request per pixel per batch), so it reports the batch itself rather than record by record.
"""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

import logging
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import wiring
from funil.config import settings
from funil.conversions.sender import SqsRecord, process_batch
from funil.observability import logger, metrics

logging.getLogger("httpx").setLevel(logging.WARNING)

DEPS = wiring.conversions_sender(settings())


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = [SqsRecord.from_event(record) for record in event.get("Records") or []]
    report = process_batch(records, DEPS)
    logger.info(
        "conversions batch",
        extra={"messages": len(records), "to_retry": len(report.failures), "graph_requests": report.graph_requests},
    )
    return report.response()


cold_start.done()
