"""One JSON POST to a destination beyond Meta, and what its answer means for a retry.

Shared by the destinations' adapters (``utmify``, ``tiktok``, ``ga4``, ``webhooks``): each gives the
URL, headers and body; this sends them and classifies the HTTP answer (docs/destinations.md):

- 2xx: delivered (an adapter may look closer: TikTok answers errors with 200 and a ``code``);
- a timeout, a network error, 408, 425, 429 or 5xx: transient, the message is retried with backoff;
- 401 and 403: permanent, ``auth_rejected`` (a token or secret to renew; recorded, dead-lettered);
- any other 4xx: permanent, ``rejected`` (recorded, dead-lettered, replayable once fixed).

Nothing here logs a URL, header or body: they carry tokens and personal data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

TIMEOUT_SECONDS = 5.0  # per request; DestinationsFunction keeps 25 s for a message's four
TRANSIENT_STATUSES = frozenset({408, 425, 429})
AUTH_STATUSES = frozenset({401, 403})
DETAIL_CHARS = 300
MAX_ANSWER_BYTES = 16 * 1024  # enough for any error a destination gives; the rest is not read


class Failure(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one request: ``failure`` None when the destination took it."""

    http_status: int | None
    failure: Failure | None = None
    reason: str | None = None  # http_429, auth_rejected, rejected, network_error, tiktok_40002…
    detail: str | None = None  # the destination's own words, shortened (never our request)
    reference: str | None = None  # the destination's id of the request, when it gives one

    @property
    def ok(self) -> bool:
        return self.failure is None


def encode(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and, for webhooks, signed)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def new_client() -> httpx.Client:
    import httpx  # only once a destination is called

    return httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int | None
    body: bytes = b""
    network_error: str | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def detail(self) -> str | None:
        text = self.network_error or self.body.decode("utf-8", "replace")
        return text[:DETAIL_CHARS] or None


def post(client: httpx.Client, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
    """One POST; its answer read up to ``MAX_ANSWER_BYTES`` and ``TIMEOUT_SECONDS`` in all.

    httpx's timeout bounds each read, not the whole answer: a receiver trickling bytes (or sending
    gigabytes) would otherwise hold the batch, other tenants' events included, until Lambda's timeout.
    """
    import httpx

    deadline = time.monotonic() + TIMEOUT_SECONDS
    try:
        with client.stream(
            "POST", url, content=body, headers={"content-type": "application/json", **headers}
        ) as answer:
            read = bytearray()
            for chunk in answer.iter_bytes():
                read += chunk
                if len(read) >= MAX_ANSWER_BYTES:
                    break
                if time.monotonic() > deadline:
                    return Answer(None, network_error="timeout")
            return Answer(answer.status_code, bytes(read[:MAX_ANSWER_BYTES]))
    except httpx.TimeoutException:
        return Answer(None, network_error="timeout")
    except httpx.HTTPError as error:
        return Answer(None, network_error=type(error).__name__)


def classify(answer: Answer) -> Delivery:
    """What an HTTP answer means, by its status alone."""
    status = answer.status_code
    if status is None:
        return Delivery(None, Failure.TRANSIENT, "network_error", answer.detail())
    if 200 <= status < 300:
        return Delivery(status)
    if status >= 500 or status in TRANSIENT_STATUSES:
        return Delivery(status, Failure.TRANSIENT, f"http_{status}", answer.detail())
    if status in AUTH_STATUSES:
        return Delivery(status, Failure.PERMANENT, "auth_rejected", answer.detail())
    return Delivery(status, Failure.PERMANENT, "rejected", answer.detail())
