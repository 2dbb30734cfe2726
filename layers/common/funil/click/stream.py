"""What follows a stored click, off the visitor's request: the table's stream → the server PageView.

The redirect answers with one write (docs/architecture.md §2.1); everything the visitor's answer does
not need happens here, on the click as stored. The event source mapping lets only INSERTs of click
items through (``FilterCriteria``: ``eventName`` INSERT, ``sk`` CLICK; filtered records cost nothing).
For each new click with a pixel, the click's one server PageView (event id ``pv_<token>``, the
eventID of the bridge page's Pixel, so Meta deduplicates the two) is sent to Meta from here, one
Graph request per pixel per batch (funil.conversions.page_views); a PageView not sent at once goes
to the conversions queue, ten messages per SendMessageBatch, where the sender takes it over.

Idempotency: a stream record may come again (a batch retried after an error, or the records after
the lowest failure reported). That is harmless: Meta keeps one PageView per ``pv_<token>``, and a
queued one is claimed once by the sender (``CAPI#<pixel>#pv_<token>``).

Enrichment the answer to the visitor does not need (geo from the IP, a finer User-Agent parse,
counters) belongs here too, never on the redirect's path; none is done yet.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from funil import clock, ids, messages
from funil.adapters.dynamo import deserialize
from funil.click.fields import click_fields
from funil.conversions.page_views import Outcome, PageView, PageViewDeps, send_page_views
from funil.messages import ConversionMessage
from funil.observability import anomaly, count
from funil.ports import MessageQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClickStreamDeps:
    page_views: PageViewDeps
    conversions: MessageQueue  # the sender's queue: PageViews not sent at once


PAGE_VIEW_METRICS = {
    Outcome.SENT: "PageViewsSent",
    Outcome.SKIPPED: "PageViewsSkipped",
    Outcome.QUEUED: "PageViewsQueued",  # not sent at once: the sender takes them over
}


class MessageNotQueued(RuntimeError):
    """SQS did not take the record's message: the record is reported as failed and comes again."""


def page_view_message(image: Mapping[str, Any]) -> ConversionMessage | None:
    """The server PageView of a newly stored click (its item as stored); None for a click without a pixel.

    Raises ValueError when the click has a pixel but not what the PageView needs.
    """
    click = click_fields(image)
    pixel_id = click.get("pixel_id")
    if not pixel_id:
        return None
    token, tenant_id, clicked_at = click.get("token"), click.get("tenant_id"), click.get("clicked_at")
    if not (ids.is_click_token(token) and isinstance(tenant_id, str) and tenant_id and isinstance(clicked_at, str)):
        raise ValueError("a click with a pixel but no token, tenant or click time")
    return messages.page_view(str(token), tenant_id, str(pixel_id), clock.parse_iso(clicked_at))


def record_page_view(record: DynamoDBRecord) -> PageView | None:
    """The record handler: the PageView of the click a stream record inserted, if any.

    A click that cannot be read is not retried (retrying cannot fix it; it would only hold up the
    clicks behind it in the shard): it is reported as an anomaly and skipped.
    """
    stream = record.raw_event.get("dynamodb") or {}
    image = deserialize(stream.get("NewImage") or {})
    try:
        message = page_view_message(image)
    except ValueError as error:
        anomaly(
            "click_unreadable",
            "stored click without a server PageView",
            reason=str(error),
            sequence_number=stream.get("SequenceNumber"),
        )
        return None
    return PageView(message, click_fields(image)) if message else None


class ClickStreamProcessor(BatchProcessor):
    """Powertools' BatchProcessor for the table's stream, with the PageViews sent in batches.

    The record handler builds each record's PageView (a raising handler fails that record, as in any
    BatchProcessor); once every record is seen, the PageViews go to Meta, one request per pixel, and
    the ones not sent go to the conversions queue with SendMessageBatch (ten per request). A record
    whose PageView was neither sent nor queued becomes a failure. The response is the usual
    ``batchItemFailures`` with the records' SequenceNumbers: Lambda retries from the lowest one
    reported.
    """

    def __init__(self, deps: ClickStreamDeps) -> None:
        # Every record failing is still a partial answer (Lambda retries from the lowest).
        super().__init__(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
        self.deps = deps

    def process(self) -> list[tuple[Any, ...]]:
        results = super().process()
        count("ClicksStored", len(results))  # the redirect's one write per click, counted here in bulk
        found = [
            (index, result[1], result[2])
            for index, result in enumerate(results)
            if result[0] == "success" and isinstance(result[1], PageView)
        ]
        if not found:
            return results
        outcomes = send_page_views([page_view for _, page_view, _ in found], self.deps.page_views)
        for outcome, metric in PAGE_VIEW_METRICS.items():
            if tally := outcomes.count(outcome):
                count(metric, tally)
        fallback = [entry for entry, outcome in zip(found, outcomes, strict=True) if outcome is Outcome.QUEUED]
        if fallback:
            self._queue(results, fallback)
        return results

    def _queue(self, results: list[tuple[Any, ...]], fallback: list[tuple[int, PageView, Any]]) -> None:
        """The PageViews not sent, onto the conversions queue; a record whose message SQS did not take fails."""
        messages: list[ConversionMessage] = [page_view.message for _, page_view, _ in fallback]
        failed = set(
            self.deps.conversions.send_batch(
                [(message.model_dump_json(), {"kind": message.kind.value}) for message in messages]
            )
        )
        for position, (index, page_view, raw) in enumerate(fallback):
            if position not in failed:
                continue
            self.success_messages.remove(raw)
            try:
                raise MessageNotQueued(f"{page_view.message.event_id} not queued")
            except MessageNotQueued:
                results[index] = self.failure_handler(record=DynamoDBRecord(raw), exception=sys.exc_info())
        if failed:
            log.warning("%d of %d server PageView(s) not queued; their records are retried", len(failed), len(fallback))
