"""KMS: secrets stored in the table as base64 ciphertext, decrypted only in memory (docs/architecture.md §3)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient

_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})


@lru_cache(maxsize=1)
def kms_client() -> KMSClient:
    return boto3.client("kms", config=_CLIENT_CONFIG)


class Kms:
    def __init__(self, client: KMSClient | None = None) -> None:
        # Built with the container: each function holding one decrypts on its first request.
        self.client = client or kms_client()

    def encrypt(self, key_id: str, plaintext: str, context: Mapping[str, str]) -> str:
        """Ciphertext (base64) bound to ``context`` (``funil.encryption``): it decrypts under that context only."""
        _require(context)
        blob = self.client.encrypt(KeyId=key_id, Plaintext=plaintext.encode(), EncryptionContext=dict(context))
        return base64.b64encode(blob["CiphertextBlob"]).decode()

    def decrypt(self, ciphertext_b64: str, context: Mapping[str, str]) -> str:
        """The plaintext, in memory only; KMS refuses (InvalidCiphertextException) under any other context."""
        _require(context)
        answer = self.client.decrypt(CiphertextBlob=base64.b64decode(ciphertext_b64), EncryptionContext=dict(context))
        return answer["Plaintext"].decode()


def _require(context: Mapping[str, str]) -> None:
    # An empty context would bind the ciphertext to nothing: KMS treats it as no context at all.
    if not context:
        raise ValueError("an encryption context naming the item and its field is required")


class CachedKms(Kms):
    """Decrypts each ciphertext once per container: plaintexts stay in memory only, never logged."""

    def __init__(self, client: KMSClient | None = None, max_entries: int = 256) -> None:
        super().__init__(client)
        self._plaintexts: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        self._max_entries = max_entries

    def decrypt(self, ciphertext_b64: str, context: Mapping[str, str]) -> str:
        # Keyed by the context too: a ciphertext decrypted for its own item is not served for another.
        key = (ciphertext_b64, tuple(sorted(context.items())))
        if key not in self._plaintexts:
            if len(self._plaintexts) >= self._max_entries:
                self._plaintexts.clear()
            self._plaintexts[key] = super().decrypt(ciphertext_b64, context)
        return self._plaintexts[key]

    def __repr__(self) -> str:
        return f"CachedKms({len(self._plaintexts)} cached)"
