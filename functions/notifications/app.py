"""Notifications queue → the tenant's admin chats in Telegram (funil.notifications.sending), each once.

Glue only. A record that Telegram asked to wait for (429) is made visible again after its
``retry_after`` and reported failed; one that raises otherwise is retried by the queue (then its
dead-letter queue, alarmed). Chats already sent are claimed, so a retry sends only the rest. Bot
tokens are decrypted with KMS in memory only, never logged.
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
from funil.notifications import sending
from funil.observability import logger, metrics

logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

SETTINGS = settings()
DEPS = wiring.notifications(SETTINGS)
QUEUE = wiring.notifications_queue(SETTINGS)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> dict[str, int]:
    logger.set_correlation_id(record.message_id)
    try:
        counts = sending.handle_message(DEPS, record.body)
    except sending.RetryLater as wait:
        QUEUE.delay(record.receipt_handle, wait.seconds)
        raise
    logger.info("notification handled", extra={"counts": counts})
    return counts


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    DEPS.forget_bots()
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


cold_start.done()
