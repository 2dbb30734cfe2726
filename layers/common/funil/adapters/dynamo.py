"""DynamoDB: the application table (single-table design, docs/data-model.md).

Uses the low-level client with boto3's type (de)serialisers: ``boto3.resource`` costs more cold
import time than the redirect's budget allows (docs/architecture.md §8).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Fail fast: a click must not wait seconds on a slow write (the SDK's default is 60 s).
_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3})


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CLIENT_CONFIG)


def _plain(value: Any) -> Any:
    """Decimal → int/float, recursively, so callers get JSON-friendly Python values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | set):
        return [_plain(item) for item in value]
    return value


def _wire(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_wire(item) for item in value]
    return value


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(_wire(value)) for key, value in item.items() if value is not None}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


class Table:
    """The application table: plain dicts in and out."""

    def __init__(self, name: str, client: DynamoDBClient | None = None) -> None:
        self.name = name
        # Built with the container: every function reads or writes the table on every request, and
        # Lambda runs init code at full CPU, not at the memory setting's share (docs/architecture.md §8).
        self.client = client or dynamodb_client()

    def get(self, pk: str, sk: str, consistent: bool = False) -> dict[str, Any] | None:
        found = self.client.get_item(
            TableName=self.name, Key=serialize({"pk": pk, "sk": sk}), ConsistentRead=consistent
        )
        return deserialize(found["Item"]) if "Item" in found else None

    def batch_get(self, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """Items for up to 100 keys, retrying unprocessed keys a few times."""
        pending: list[Any] = [serialize({"pk": pk, "sk": sk}) for pk, sk in dict.fromkeys(keys)]
        found: list[dict[str, Any]] = []
        for _attempt in range(5):
            if not pending:
                break
            answer = self.client.batch_get_item(RequestItems={self.name: {"Keys": pending}})
            found.extend(deserialize(item) for item in answer.get("Responses", {}).get(self.name, []))
            unprocessed: dict[str, Any] = dict(answer.get("UnprocessedKeys") or {})
            pending = list((unprocessed.get(self.name) or {}).get("Keys", []))
        if pending:
            raise RuntimeError(f"batch_get left {len(pending)} keys unprocessed")
        return found

    def put(self, item: Mapping[str, Any], condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        self.client.put_item(**kwargs)

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        values: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        return_values: str = "NONE",
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": serialize({"pk": pk, "sk": sk}),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": serialize(values),
            "ReturnValues": return_values,
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        answer = self.client.update_item(**kwargs)
        return deserialize(answer.get("Attributes", {}))

    def query(
        self,
        key_condition: str,
        values: Mapping[str, Any],
        *,
        index: str | None = None,
        names: Mapping[str, str] | None = None,
        forward: bool = True,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching item, page by page (``limit`` caps each page, not the total)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": forward,
        }
        if index:
            kwargs["IndexName"] = index
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        if limit:
            kwargs["Limit"] = limit
        while True:
            page = self.client.query(**kwargs)
            yield from (deserialize(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def query_page(
        self,
        key_condition: str,
        values: Mapping[str, Any],
        *,
        index: str | None = None,
        limit: int,
        start: Mapping[str, Any] | None = None,
        forward: bool = True,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of matching items and the key to start the next page from (None: the last page)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": forward,
            "Limit": limit,
        }
        if index:
            kwargs["IndexName"] = index
        if start:
            kwargs["ExclusiveStartKey"] = serialize(start)
        page = self.client.query(**kwargs)
        last = page.get("LastEvaluatedKey")
        return [deserialize(item) for item in page.get("Items", [])], deserialize(last) if last else None

    def delete(self, pk: str, sk: str, condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": serialize({"pk": pk, "sk": sk})}
        if condition:
            kwargs["ConditionExpression"] = condition
        self.client.delete_item(**kwargs)

    def transact_write(self, writes: Sequence[Write]) -> None:
        """All the writes or none (one DynamoDB transaction, ≤ 100 items)."""
        self.client.transact_write_items(TransactItems=[write.wire(self.name) for write in writes])  # type: ignore[misc]


@dataclass(frozen=True)
class Write:
    """One write of a transaction: a put (``item``), an update (``key`` + ``expression``) or a delete (``key``)."""

    item: Mapping[str, Any] | None = None
    key: tuple[str, str] | None = None
    expression: str | None = None
    values: Mapping[str, Any] | None = None
    condition: str | None = None
    names: Mapping[str, str] | None = None

    def wire(self, table: str) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.condition:
            extra["ConditionExpression"] = self.condition
        if self.values:
            extra["ExpressionAttributeValues"] = serialize(self.values)
        if self.names:
            extra["ExpressionAttributeNames"] = dict(self.names)
        if self.item is not None:
            return {"Put": {"TableName": table, "Item": serialize(self.item), **extra}}
        assert self.key is not None, "an update or a delete names its key"
        key = serialize({"pk": self.key[0], "sk": self.key[1]})
        if self.expression:
            return {"Update": {"TableName": table, "Key": key, "UpdateExpression": self.expression, **extra}}
        return {"Delete": {"TableName": table, "Key": key, **extra}}


def is_conditional_failure(error: Exception) -> bool:
    """A write's condition failed: on its own, or as one write of a cancelled transaction."""
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    if code == "TransactionCanceledException":
        reasons = response.get("CancellationReasons") or []
        return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)
    return bool(code == "ConditionalCheckFailedException")
