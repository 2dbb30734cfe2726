"""Test-only Lambda handlers the local stack runs in tests/integration/test_local_stack.py.

Each function gets its own module instance (local.handlers), so CALLS is per function.
"""

from __future__ import annotations

import json
from typing import Any

CALLS: list[Any] = []


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answers with the API Gateway event it received, and two cookies."""
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-echo": "1"},
        "cookies": ["a=1; Path=/; HttpOnly", "b=2"],
        "body": json.dumps(event),
        "isBase64Encoded": False,
    }


def bare(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """No statusCode: API Gateway answers 200 with this as JSON."""
    return {"hello": "world"}


def boom(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("secret internal detail")


def partial(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fails every record whose body is "fail" through batchItemFailures."""
    CALLS.extend(event["Records"])
    failed = [record["messageId"] for record in event["Records"] if record["body"] == "fail"]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def raising(event: dict[str, Any], context: Any) -> None:
    CALLS.extend(event["Records"])
    raise RuntimeError("consumer down")


def tick(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(event)
    return {"saw": event.get("detail-type"), "remaining_ms": context.get_remaining_time_in_millis()}
