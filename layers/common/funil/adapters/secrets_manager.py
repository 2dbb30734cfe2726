"""Secrets Manager: a deployment secret's value, read through Powertools parameters (docs/architecture.md §3).

Read on first use and cached per container for ``MAX_AGE_SECONDS``, never at import: the
parameters utility and its client are imported inside ``secret_bytes``, so a handler that imports
this module pays nothing until it needs the secret (the redirect's cold import budget,
docs/architecture.md §8). Values stay in memory and are never logged.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

MAX_AGE_SECONDS = 300  # a new value reaches every warm container within five minutes


@lru_cache(maxsize=1)
def secrets_provider() -> SecretsProvider:
    """The container's one provider: its cache is what keeps each value between invocations."""
    import boto3
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from botocore.config import Config

    # Short timeouts: the redirect (5 s in all) must still answer the visitor when this read fails.
    config = Config(connect_timeout=0.5, read_timeout=1, retries={"mode": "standard", "max_attempts": 2})
    return SecretsProvider(boto3_client=boto3.client("secretsmanager", config=config))


def secret_bytes(secret_id: str, max_age: int = MAX_AGE_SECONDS) -> bytes:
    """The value of the secret ``secret_id`` (its ARN or name), as bytes; raises when it cannot be read."""
    if not secret_id:
        raise LookupError("no secret configured")
    value = secrets_provider().get(secret_id, max_age=max_age)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes) and value:
        return value
    raise LookupError(f"secret {secret_id} has no usable value")
