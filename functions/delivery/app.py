"""SQS delivery queue → the buyer's product over Telegram, once per payment (funil.delivery.entry).

Glue only: the collaborators (funil.wiring), the batch response with ``batchItemFailures`` (the
event source mapping has ReportBatchItemFailures). Bot tokens are decrypted with KMS in memory
only, cached per container, never logged.
"""

from __future__ import annotations

import logging
from typing import Any

from funil import wiring
from funil.config import settings
from funil.delivery.entry import SqsRecord, process_batch

log = logging.getLogger()
log.setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

DEPS = wiring.delivery(settings())


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    records = [SqsRecord.from_event(record) for record in event.get("Records") or []]
    report = process_batch(records, DEPS)
    log.info(
        "delivery batch: %d messages, %d to retry, outcomes %s",
        len(records),
        len(report.failures),
        sorted(report.outcomes.values()),
    )
    return report.response()
