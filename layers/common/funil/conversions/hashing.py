"""SHA-256 of normalised customer information, as Meta's Conversions API expects (lowercase hex)."""

from __future__ import annotations

import hashlib
import re

SHA256_HEX_RE = re.compile(r"^[a-f0-9]{64}$")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def is_sha256_hex(value: object) -> bool:
    return isinstance(value, str) and SHA256_HEX_RE.fullmatch(value) is not None


def hash_normalised(value: str | None) -> str | None:
    """The hash of an already normalised value; a value that already is a SHA-256 passes as is
    (as the SDK's ``Normalize`` does)."""
    if not value:
        return None
    return value if is_sha256_hex(value) else sha256_hex(value)
