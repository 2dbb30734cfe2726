"""A seller's webhook receiver: verifies what Funil's outgoing webhooks send, as
docs/destinations.md tells a seller to (the same code: ``local.fakes.webhook_receiver.verify``).

Checks: ``Funil-Timestamp`` within ``TOLERANCE_SECONDS`` of now, ``Funil-Signature``
(``v1=`` HMAC-SHA256 of ``<timestamp>.<body>`` with the signing secret, compared in constant time),
``Funil-Event-Id`` equal to the body's ``id``. A bad signature or stale timestamp answers 400;
an event id seen before answers 200 without recording it again (``duplicates`` counts them).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

from local.fakes.recording import RecordingFake, Rejected

TOLERANCE_SECONDS = 300


def verify(secret: str, headers: dict[str, str], body: bytes, seen: set[str], now: float) -> dict[str, Any]:
    """The webhook's event, once verified; ValueError when it must be refused.

    ``headers``: lowercase names. ``seen``: the event ids already processed (kept at least as long
    as the tolerance window); a repeat raises ``LookupError`` (answer 200, do nothing)."""
    import json

    timestamp = headers.get("funil-timestamp", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise ValueError("stale or missing timestamp")
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers.get("funil-signature", "")):
        raise ValueError("bad signature")
    event = json.loads(body)
    if event.get("id") != headers.get("funil-event-id"):
        raise ValueError("event id header and body differ")
    if event["id"] in seen:
        raise LookupError(event["id"])
    seen.add(event["id"])
    return dict(event)


class FakeWebhookReceiver(RecordingFake):
    def __init__(self, secret: str, now: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.secret = secret
        self.now = now
        self.seen: set[str] = set()
        self.duplicates = 0

    def clear(self) -> None:
        super().clear()
        self.seen.clear()
        self.duplicates = 0

    def check(
        self, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes, body: Any
    ) -> tuple[int, Any]:
        try:
            verify(self.secret, headers, raw, self.seen, self.now())
        except LookupError:
            self.duplicates += 1
            raise Rejected(200, {"ok": True, "duplicate": True}) from None
        except ValueError as error:
            raise Rejected(400, {"error": str(error)}) from error
        return 200, {"ok": True}
