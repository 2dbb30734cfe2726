"""Helpers for the gateway adapter tests: a settable clock and ready-made requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from funil.payments.gateways.base import ChargeRequest

T0 = datetime(2026, 11, 22, 20, 0, 0, tzinfo=UTC)


@dataclass
class Clock:
    moment: datetime = field(default=T0)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


def charge_request(amount_cents: int = 1990, **overrides: object) -> ChargeRequest:
    values: dict[str, object] = {
        "payment_id": uuid.uuid4().hex,
        "amount_cents": amount_cents,
        "description": "Curso Funil",
        "expires_in_seconds": 1800,
        "webhook_url": "https://api.funil.test/pay/gw_1/s3cr3t-url-part-0123456789abcdef",
    }
    values.update(overrides)
    return ChargeRequest.model_validate(values)


def raising(exc: type[httpx.TransportError]) -> httpx.MockTransport:
    """A transport whose every request fails with ``exc`` (what httpx raises on the wire)."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("simulated", request=request)

    return httpx.MockTransport(handler)
