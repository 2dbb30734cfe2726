"""SQS conversions queue → Meta Conversions API, each event once (funil.conversions.sender).

Glue only: the collaborators (funil.wiring), and the batch response with ``batchItemFailures``
(the event source mapping has ReportBatchItemFailures).
"""

from __future__ import annotations

import logging
from typing import Any

from funil import wiring
from funil.config import settings
from funil.conversions.sender import SqsRecord, process_batch

log = logging.getLogger()
log.setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)

DEPS = wiring.conversions_sender(settings())


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    records = [SqsRecord.from_event(record) for record in event.get("Records") or []]
    report = process_batch(records, DEPS)
    log.info(
        "conversions batch: %d messages, %d to retry, graph requests %s",
        len(records),
        len(report.failures),
        report.graph_requests,
    )
    return report.response()
