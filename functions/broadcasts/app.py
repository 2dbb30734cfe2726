"""Broadcast queue → one run of a broadcast (funil.broadcasts.sending): paced sends, at most once per person.

Glue only: one message ``{"broadcast_id"}`` per invocation (batch size 1). The run stops 15 s
before Lambda's timeout and puts its message back to carry on; a message that raises is retried
by the queue (then its dead-letter queue), and the run it starts resumes from the checkpoint.
Bot tokens are decrypted with KMS in memory only, never logged.
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
from funil.broadcasts import sending
from funil.config import settings
from funil.observability import logger, metrics

logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

DEPS = wiring.broadcasts(settings())
MARGIN_SECONDS = 15.0  # to checkpoint, release the bot and put the message back
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_remaining: list[Any] = [None]  # this invocation's context (the record handler is not given it)


def record_handler(record: SQSRecord) -> str:
    logger.set_correlation_id(record.message_id)
    broadcast_id = sending.parse_message(record.body)
    if broadcast_id is None:
        logger.warning("not a broadcast message: dropped")
        return "dropped"
    context = _remaining[0]
    budget = max(1.0, context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS)
    outcome = sending.run(DEPS, broadcast_id, budget_seconds=budget, run_id=wiring.new_claim_id())
    logger.info("broadcast run", extra={"broadcast_id": broadcast_id, "outcome": outcome})
    return outcome


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _remaining[0] = context
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


cold_start.done()
