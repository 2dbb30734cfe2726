"""Test-only DynamoDB stream consumers the local stack runs in tests/integration/test_local_streams.py.

Each function gets its own module instance (local.handlers), so BATCHES and the other lists are per
function. A record is "poison" when its NewImage has ``poison: {"BOOL": true}``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

BATCHES: list[list[dict[str, Any]]] = []
FAILED_ONCE: set[str] = set()
BODIES: list[str] = []


def _poison(record: dict[str, Any]) -> bool:
    image = record["dynamodb"].get("NewImage") or {}
    return image.get("poison", {}).get("BOOL") is True


def keep(event: dict[str, Any], context: Any) -> None:
    """Keeps every batch it gets."""
    BATCHES.append(event["Records"])


def fail_twice(event: dict[str, Any], context: Any) -> None:
    """Raises on its first two invocations, then succeeds."""
    BATCHES.append(event["Records"])
    if len(BATCHES) <= 2:
        raise RuntimeError("consumer down")


def fail_on_poison(event: dict[str, Any], context: Any) -> None:
    """Raises whenever its batch holds a poison record."""
    BATCHES.append(event["Records"])
    if any(_poison(record) for record in event["Records"]):
        raise RuntimeError("poison record")


def report_poison(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """ReportBatchItemFailures: reports every poison record, every time."""
    BATCHES.append(event["Records"])
    failed = [record["dynamodb"]["SequenceNumber"] for record in event["Records"] if _poison(record)]
    return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in failed]}


def report_poison_once(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """ReportBatchItemFailures: reports a poison record the first time it sees it only (a transient failure)."""
    BATCHES.append(event["Records"])
    for record in event["Records"]:
        sequence_number = record["dynamodb"]["SequenceNumber"]
        if _poison(record) and sequence_number not in FAILED_ONCE:
            FAILED_ONCE.add(sequence_number)
            return {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
    return {"batchItemFailures": []}


def forward(event: dict[str, Any], context: Any) -> None:
    """Sends each inserted item's pk to the queue in TEST_FORWARD_QUEUE_URL (a stream consumer that enqueues)."""
    BATCHES.append(event["Records"])
    sqs = boto3.client("sqs", region_name="us-east-1")
    for record in event["Records"]:
        if record["eventName"] == "INSERT":
            body = json.dumps({"pk": record["dynamodb"]["Keys"]["pk"]["S"]})
            sqs.send_message(QueueUrl=os.environ["TEST_FORWARD_QUEUE_URL"], MessageBody=body)


def collect(event: dict[str, Any], context: Any) -> None:
    """An SQS consumer that keeps the bodies it gets."""
    BODIES.extend(record["body"] for record in event["Records"])
