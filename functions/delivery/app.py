"""SQS delivery queue → the buyer's product over Telegram, once per payment (funil.delivery.entry).

Glue only: the collaborators (funil.wiring) and Powertools' BatchProcessor, which reports the
messages whose delivery raised in ``batchItemFailures`` (the event source mapping has
ReportBatchItemFailures). Bot tokens are decrypted with KMS in memory only, cached per container,
never logged.
"""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

import logging
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import wiring
from funil.config import settings
from funil.delivery.entry import handle_message
from funil.observability import logger, metrics

logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

DEPS = wiring.delivery(settings())
# Every message failing is still a partial answer: each is retried on its own, none is lost.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> str:
    logger.set_correlation_id(record.message_id)
    return handle_message(record.message_id, record.receipt_handle, record.body, DEPS)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


cold_start.done()
