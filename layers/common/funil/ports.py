"""The collaborators every step shares, as the logic sees them: the table, the secrets, a queue.

Adapters implement them (``funil.adapters.dynamo.Table``, ``funil.adapters.kms.Kms``,
``funil.adapters.sqs.Queue``); tests give moto-backed adapters or in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

__all__ = ["BatchReads", "Items", "MessageQueue", "Pages", "Secrets"]


class BatchReads(Protocol):
    """Items by key, up to 100 per call (``funil.adapters.dynamo.Table.batch_get``)."""

    def batch_get(self, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any]]: ...


class Items(Protocol):
    """The application table: the parts of ``funil.adapters.dynamo.Table`` the logic uses."""

    def get(self, pk: str, sk: str, consistent: bool = False) -> dict[str, Any] | None: ...

    def put(self, item: Any, condition: str | None = None) -> None: ...

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        values: Any,
        *,
        condition: str | None = None,
        names: Any = None,
        return_values: str = "NONE",
    ) -> dict[str, Any]: ...

    def query(
        self,
        key_condition: str,
        values: Any,
        *,
        index: str | None = None,
        names: Any = None,
        forward: bool = True,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]: ...


class Pages(Protocol):
    """One page of a Query at a time, and where the next begins (``funil.adapters.dynamo.Table.query_page``)."""

    def query_page(
        self,
        key_condition: str,
        values: Mapping[str, Any],
        *,
        index: str | None = None,
        limit: int,
        start: Mapping[str, Any] | None = None,
        forward: bool = True,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...


class Secrets(Protocol):
    """KMS: ciphertexts bound to the item they belong to by an encryption context.

    The context is mandatory: ``funil.encryption`` spells it for every encrypted attribute, and a
    ciphertext decrypts only under the context it was encrypted with.
    """

    def encrypt(self, key_id: str, plaintext: str, context: Mapping[str, str]) -> str: ...

    def decrypt(self, ciphertext_b64: str, context: Mapping[str, str]) -> str: ...


class MessageQueue(Protocol):
    """An SQS queue messages are sent to (the conversions and delivery queues)."""

    def send(self, body: str, attributes: dict[str, str] | None = None) -> str: ...

    def send_batch(self, messages: Sequence[tuple[str, Mapping[str, str] | None]]) -> list[int]:
        """Send (body, attributes) pairs, 10 per request; the positions of those SQS did not accept."""
        ...
