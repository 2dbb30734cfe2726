"""AppTable's stream (new click items) → the click's server PageView to Meta (funil.click.stream).

Glue only: the collaborators (funil.wiring) and Powertools' batch processing, specialised in
funil.click.stream to send the PageViews one Graph request per pixel, the ones not sent ten per
SendMessageBatch to the conversions queue. Records whose PageView was neither sent nor queued are
reported in ``batchItemFailures`` by SequenceNumber (the event source mapping has
ReportBatchItemFailures); a redelivered record is harmless, Meta keeps one PageView per event id.
"""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import wiring
from funil.click.stream import ClickStreamProcessor, record_page_view
from funil.config import settings
from funil.observability import logger, metrics

processor = ClickStreamProcessor(wiring.click_stream(settings()))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_page_view, processor=processor, context=context)


cold_start.done()
