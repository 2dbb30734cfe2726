"""S3: objects of Funil's buckets (the daily export, ``funil.analytics.export``): put, read, list, delete.

Plain bytes in and out; the bucket's own default encryption applies to every object (template.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

__all__ = ["Bucket"]

# A day's export of a busy tenant is a few megabytes: more patience than the table's reads.
_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=30, retries={"mode": "standard", "max_attempts": 5})
_ABSENT = frozenset({"NoSuchKey", "404"})
MAX_KEYS = 1000  # ListObjectsV2's page


class Bucket:
    def __init__(self, name: str, client: S3Client | None = None) -> None:
        self.name = name
        # One per container, built with it: the export's only function writes on every run.
        self.client = client or boto3.client("s3", config=_CLIENT_CONFIG)

    def put(self, key: str, body: bytes, content_type: str, metadata: Mapping[str, str] | None = None) -> None:
        """Write the object (over any before it); ``metadata``: its user metadata (``x-amz-meta-*``)."""
        self.client.put_object(
            Bucket=self.name, Key=key, Body=body, ContentType=content_type, Metadata=dict(metadata or {})
        )

    def metadata(self, key: str) -> dict[str, str] | None:
        """The object's user metadata (one HEAD); None when there is no such object."""
        try:
            answer = self.client.head_object(Bucket=self.name, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _ABSENT:
                return None
            raise
        return dict(answer.get("Metadata") or {})

    def get(self, key: str) -> bytes | None:
        """The object's bytes; None when there is no such object."""
        try:
            answer = self.client.get_object(Bucket=self.name, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _ABSENT:
                return None
            raise
        return answer["Body"].read()

    def keys(self, prefix: str, start_after: str = "", limit: int = MAX_KEYS) -> list[str]:
        """Keys under ``prefix`` that sort after ``start_after``, in order: one request, at most ``limit``."""
        answer = self.client.list_objects_v2(
            Bucket=self.name, Prefix=prefix, StartAfter=start_after, MaxKeys=min(limit, MAX_KEYS)
        )
        return [entry["Key"] for entry in answer.get("Contents", [])]

    def delete(self, key: str) -> None:
        """Remove an object (nothing happens when it is already absent)."""
        self.client.delete_object(Bucket=self.name, Key=key)
