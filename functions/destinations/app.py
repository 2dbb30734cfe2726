"""SQS destinations queue → UTMify, TikTok, GA4 and webhooks, each (destination, event id) once
(funil.destinations.sending).

Glue only: the collaborators (funil.wiring) and Powertools' BatchProcessor, which reports the
messages a destination is to retry in ``batchItemFailures`` (the event source mapping has
ReportBatchItemFailures). Secrets are decrypted with KMS in memory only, cached, never logged.
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
from funil.destinations.sending import DESTINATION_ATTRIBUTE, DestinationSender, Incoming, RetryLater
from funil.observability import logger, metrics

logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry GA4's API secret

SENDER = DestinationSender(wiring.destinations(settings()))
# Every message failing is still a partial answer: each is retried on its own, none is lost.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# A message may wait on four destinations (5 s each at worst): one is not started without the time
# to finish it, so a batch never ends in a timeout that would hold its sent messages back too.
RESERVE_MS = 25_000
_context: list[Any] = [None]  # this invocation's context (the record handler is not given it)


def record_handler(record: SQSRecord) -> str:
    logger.set_correlation_id(record.message_id)
    context = _context[0]
    if context is not None and context.get_remaining_time_in_millis() < RESERVE_MS:
        raise RetryLater("not enough time left in this invocation: left for the next one")
    raw = record.raw_event
    count = str((raw.get("attributes") or {}).get("ApproximateReceiveCount") or "1")
    replayed_for = ((raw.get("messageAttributes") or {}).get(DESTINATION_ATTRIBUTE) or {}).get("stringValue")
    incoming = Incoming(
        message_id=record.message_id,
        body=record.body or "",
        receipt_handle=record.receipt_handle,
        receive_count=int(count) if count.isdigit() else 1,
        destination_id=str(replayed_for) if replayed_for else None,
    )
    return SENDER.handle(incoming)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _context[0] = context
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


cold_start.done()
