"""Outgoing webhooks: a signed JSON POST to the seller's own HTTPS URL.

Headers (docs/destinations.md has the receiver's verification, in Python):

- ``Funil-Event-Id``: the event's id (``purchase_<payment>``…), the same on every retry: dedupe on it;
- ``Funil-Timestamp``: Unix seconds when this attempt was sent;
- ``Funil-Signature``: ``v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the signing secret>``.

Answers are classified by status (``funil.adapters.outgoing``); redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from funil.adapters.outgoing import Delivery, classify, post

if TYPE_CHECKING:
    import httpx

EVENT_ID_HEADER = "Funil-Event-Id"
TIMESTAMP_HEADER = "Funil-Timestamp"
SIGNATURE_HEADER = "Funil-Signature"
SIGNATURE_VERSION = "v1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex>``: HMAC-SHA256 over ``<timestamp>.<body>`` with the destination's signing secret."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(secret: str, timestamp: int, event_id: str, body: bytes) -> dict[str, str]:
    return {
        EVENT_ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def send(client: httpx.Client, url: str, secret: str, *, event_id: str, timestamp: int, body: bytes) -> Delivery:
    return classify(post(client, url, body, signed_headers(secret, timestamp, event_id, body)))
