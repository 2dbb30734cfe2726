"""SQS: sending messages to Funil's queues."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})


@lru_cache(maxsize=1)
def sqs_client() -> SQSClient:
    return boto3.client("sqs", config=_CLIENT_CONFIG)


class Queue:
    def __init__(self, url: str, client: SQSClient | None = None) -> None:
        self.url = url
        self.client = client or sqs_client()

    def send(self, body: str, attributes: dict[str, str] | None = None) -> str:
        message_attributes: dict[str, MessageAttributeValueTypeDef] = {
            name: {"DataType": "String", "StringValue": value} for name, value in (attributes or {}).items()
        }
        answer = self.client.send_message(QueueUrl=self.url, MessageBody=body, MessageAttributes=message_attributes)
        return answer["MessageId"]

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again only after ``seconds`` (a retry with backoff)."""
        self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )
