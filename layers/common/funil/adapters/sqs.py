"""SQS: sending messages to Funil's queues."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from funil.adapters.first_use import on_first_use

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, SendMessageBatchRequestEntryTypeDef

MAX_BATCH_ENTRIES = 10  # SendMessageBatch's limit (and, for our small messages, one billed request)

_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})


@lru_cache(maxsize=1)
def sqs_client() -> SQSClient:
    return boto3.client("sqs", config=_CLIENT_CONFIG)


def _attributes(attributes: Mapping[str, str] | None) -> dict[str, MessageAttributeValueTypeDef]:
    return {name: {"DataType": "String", "StringValue": value} for name, value in (attributes or {}).items()}


class Queue:
    def __init__(self, url: str, client: SQSClient | None = None) -> None:
        self.url = url
        # Built on first use unless given: some functions queue only to retry (funil.wiring decides).
        self.client = client or on_first_use(sqs_client)

    def send(self, body: str, attributes: dict[str, str] | None = None) -> str:
        answer = self.client.send_message(
            QueueUrl=self.url, MessageBody=body, MessageAttributes=_attributes(attributes)
        )
        return answer["MessageId"]

    def send_batch(self, messages: Sequence[tuple[str, Mapping[str, str] | None]]) -> list[int]:
        """Send (body, attributes) pairs with SendMessageBatch, 10 per request.

        Returns the positions (in ``messages``) that SQS did not accept: those it reported as failed,
        and every message of a request that raised. Nothing is retried here; the caller decides.
        """
        failed: list[int] = []
        for start in range(0, len(messages), MAX_BATCH_ENTRIES):
            chunk = messages[start : start + MAX_BATCH_ENTRIES]
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(start + offset), "MessageBody": body, "MessageAttributes": _attributes(attributes)}
                for offset, (body, attributes) in enumerate(chunk)
            ]
            try:
                answer = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            except Exception:
                log.exception("SendMessageBatch of %d message(s) failed", len(entries))
                failed.extend(range(start, start + len(chunk)))
                continue
            for entry in answer.get("Failed") or []:
                log.warning("SQS refused message %s: %s %s", entry["Id"], entry.get("Code"), entry.get("Message"))
                failed.append(int(entry["Id"]))
        return sorted(failed)

    def depth(self) -> int:
        """The messages waiting to be received (SQS's approximate count)."""
        answer = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(answer.get("Attributes", {}).get("ApproximateNumberOfMessages", "0"))

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again only after ``seconds`` (a retry with backoff)."""
        self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )


class FanOutQueue:
    """A queue that also sends a copy of some kinds of message to other queues.

    The conversions queue's producers send each sale event once; the destinations beyond Meta and
    the seller's notifications each get a copy of the kinds they consume (the message attribute
    ``kind``). A copy that fails raises like the original: the producer has not recorded the event as
    enqueued and sends it all again, which the consumers absorb by their claims on the event id.
    """

    def __init__(self, primary: Queue, copies: Sequence[tuple[Queue, frozenset[str]]]) -> None:
        self.primary = primary
        self.copies = list(copies)
        self.url = primary.url

    def send(self, body: str, attributes: dict[str, str] | None = None) -> str:
        message_id = self.primary.send(body, attributes)
        kind = (attributes or {}).get("kind")
        for queue, kinds in self.copies:
            if kind in kinds:
                queue.send(body, attributes)
        return message_id

    def send_batch(self, messages: Sequence[tuple[str, Mapping[str, str] | None]]) -> list[int]:
        failed = set(self.primary.send_batch(messages))
        for queue, kinds in self.copies:
            positions = [i for i, (_, attributes) in enumerate(messages) if (attributes or {}).get("kind") in kinds]
            if positions:
                refused = queue.send_batch([messages[i] for i in positions])
                failed.update(positions[i] for i in refused)
        return sorted(failed)

    def delay(self, receipt_handle: str, seconds: int) -> None:
        self.primary.delay(receipt_handle, seconds)
