"""Lambda's SQS event source mapping, locally: poll, invoke with a real SQS event, delete what succeeded.

Semantics follow AWS: the queue's own visibility timeout applies; a handler error leaves the whole
batch (it reappears after the timeout, then goes to the dead-letter queue per the redrive policy,
which moto enforces); with ReportBatchItemFailures only the records listed in
``batchItemFailures`` stay, and a malformed answer fails the whole batch.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from local.aws import REGION
from local.template import Function, QueueTrigger

log = logging.getLogger("local.sqs")

Invoke = Callable[[Function, dict[str, Any]], Any]
RECEIVE_LIMIT = 10  # SQS returns at most 10 messages per ReceiveMessage


@dataclass(frozen=True)
class Consumer:
    function: Function
    trigger: QueueTrigger
    queue_url: str
    queue_arn: str


def _message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SQS's MessageAttributes in the shape Lambda passes them (camelCase, binary as base64)."""
    shaped: dict[str, Any] = {}
    for name, value in attributes.items():
        item: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            item["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        shaped[name] = item
    return shaped


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": _message_attributes(message.get("MessageAttributes") or {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def sqs_event(messages: Iterable[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {"Records": [sqs_record(message, queue_arn) for message in messages]}


def records_to_delete(message_ids: list[str], result: Any, report_failures: bool) -> list[str]:
    """Ids of the records the invocation completed (the handler returned ``result``)."""
    if not report_failures or result is None:
        return message_ids
    if not isinstance(result, Mapping):
        return []  # not a valid response: the whole batch failed
    failures = result.get("batchItemFailures")
    if not failures:
        return message_ids
    if not isinstance(failures, list):
        return []
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return []  # empty, null or unknown identifiers fail the whole batch
        failed.add(identifier)
    return [message_id for message_id in message_ids if message_id not in failed]


class SqsPoller:
    """One polling thread per consumer; a handler error never stops the thread."""

    def __init__(self, invoke: Invoke, interval: float = 0.2) -> None:
        self._invoke = invoke
        self._interval = interval
        self._client = boto3.client("sqs", region_name=REGION)
        self._consumers: list[Consumer] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._started = False

    @property
    def consumers(self) -> list[Consumer]:
        return list(self._consumers)

    def add(self, consumer: Consumer) -> None:
        self._consumers.append(consumer)
        if self._started:
            self._spawn(consumer)

    def start(self) -> None:
        self._started = True
        for consumer in self._consumers:
            self._spawn(consumer)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _spawn(self, consumer: Consumer) -> None:
        name = f"sqs-{consumer.function.logical_id}-{consumer.trigger.queue}"
        thread = threading.Thread(target=self._run, args=(consumer,), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self, consumer: Consumer) -> None:
        while not self._stop.is_set():
            try:
                handled = self.poll_once(consumer)
            except Exception:
                log.exception("polling %s failed", consumer.trigger.queue)
                handled = False
            if not handled:
                self._stop.wait(self._interval)

    def _receive(self, consumer: Consumer) -> list[dict[str, Any]]:
        """Up to BatchSize messages, gathered over as many receives as needed."""
        messages: list[dict[str, Any]] = []
        while len(messages) < consumer.trigger.batch_size and not self._stop.is_set():
            answer = self._client.receive_message(
                QueueUrl=consumer.queue_url,
                MaxNumberOfMessages=min(RECEIVE_LIMIT, consumer.trigger.batch_size - len(messages)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = answer.get("Messages", [])
            messages.extend(received)  # type: ignore[arg-type]
            if not received:
                break
        return messages

    def poll_once(self, consumer: Consumer) -> bool:
        """Receive one batch and invoke; False when the queue had nothing."""
        with self._busy_lock:
            self._busy += 1
        try:
            messages = self._receive(consumer)
            if messages:
                self._deliver(consumer, messages)
            return bool(messages)
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _deliver(self, consumer: Consumer, messages: list[dict[str, Any]]) -> None:
        event = sqs_event(messages, consumer.queue_arn)
        try:
            result = self._invoke(consumer.function, event)
        except Exception:
            log.exception(
                "%s failed on %d record(s); they stay on the queue", consumer.function.logical_id, len(messages)
            )
            return
        ids = [message["MessageId"] for message in messages]
        done = set(records_to_delete(ids, result, consumer.trigger.report_failures))
        handles = [message["ReceiptHandle"] for message in messages if message["MessageId"] in done]
        for start in range(0, len(handles), RECEIVE_LIMIT):
            chunk = handles[start : start + RECEIVE_LIMIT]
            self._client.delete_message_batch(
                QueueUrl=consumer.queue_url,
                Entries=[{"Id": str(index), "ReceiptHandle": handle} for index, handle in enumerate(chunk)],
            )

    @property
    def busy(self) -> bool:
        return self._busy > 0

    def counts(self, queue_url: str) -> tuple[int, int]:
        """(visible, in flight) messages of a queue."""
        attributes = self._client.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every queue with a consumer is empty (nothing visible or in flight)."""
        deadline = time.monotonic() + timeout
        urls = {consumer.queue_url for consumer in self._consumers}
        while True:
            if not self.busy and all(self.counts(url) == (0, 0) for url in urls):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
