"""Pieces shared by the fake PIX gateways (API Pix, Mercado Pago, PushinPay, Woovi).

Each fake is a plain ``handle(request: httpx.Request) -> httpx.Response`` over in-memory state, used
by tests through ``httpx.MockTransport(fake.handle)`` and mountable in the local stack. Faults are
injected on demand: an HTTP status (4xx/5xx) or a timeout, raised as httpx raises it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from local.server import LocalRequest, LocalResponse, LocalStack

# How a fake's webhook leaves it: (url, headers, body) → the receiver's HTTP status (None: unreached).
# Tests hand the handler in; the local stack, an HTTP client. A fake sends only to the URL it was
# given (on the charge or registered for the account), never to one wired in beside it.
Deliver = Callable[[str, dict[str, str], bytes], int | None]

TIMEOUT_SLEEP_SECONDS = 6.0  # longer than the adapters' 5 s timeout


@dataclass
class Fault:
    """One injected failure. ``times`` None = until cleared; ``path`` = only requests whose path has it."""

    status: int = 500
    timeout: bool = False
    times: int | None = 1
    path: str | None = None
    method: str | None = None
    body: dict[str, Any] | None = None


@dataclass
class FakeGatewayBase:
    requests: list[httpx.Request] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    sent_webhooks: list[dict[str, Any]] = field(default_factory=list)  # url and answer of each webhook sent
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def fail(
        self,
        status: int = 500,
        *,
        timeout: bool = False,
        times: int | None = 1,
        path: str | None = None,
        method: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        self.faults.append(Fault(status=status, timeout=timeout, times=times, path=path, method=method, body=body))

    def time_out(self, *, times: int | None = 1, path: str | None = None, method: str | None = None) -> None:
        self.fail(timeout=True, times=times, path=path, method=method)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def handle(self, request: httpx.Request) -> httpx.Response:
        """For ``httpx.MockTransport``."""
        request.read()
        with self._lock:
            self.requests.append(request)
            fault = self._take_fault(request)
        if fault is not None:
            if fault.timeout:
                raise httpx.ReadTimeout("fake gateway timeout", request=request)
            return httpx.Response(fault.status, json=fault.body or {"message": f"fake fault {fault.status}"})
        with self._lock:
            return self.route(request)

    def send_webhook(self, url: str | None, headers: dict[str, str], body: bytes, deliver: Deliver) -> int | None:
        """POST one webhook to ``url`` (the one the gateway was given); no URL, nothing is sent."""
        if not url:
            return None
        try:
            status = deliver(url, headers, body)
        except httpx.HTTPError:
            status = None
        with self._lock:
            self.sent_webhooks.append({"url": url, "status": status})
        return status

    def route(self, request: httpx.Request) -> httpx.Response:  # pragma: no cover - overridden
        raise NotImplementedError

    def _take_fault(self, request: httpx.Request) -> Fault | None:
        for fault in list(self.faults):
            if fault.path is not None and fault.path not in request.url.path:
                continue
            if fault.method is not None and fault.method != request.method:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            return fault
        return None


def json_body(request: httpx.Request) -> Any:
    try:
        return json.loads(request.content or b"null")
    except ValueError:
        return None


def crc16_ccitt_false(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def dynamic_brcode(
    location: str, amount_cents: int | None, name: str = "FUNIL FAKE PSP", city: str = "SAO PAULO"
) -> str:
    """A dynamic BR Code (point of initiation 12, location URL) with a valid CRC16/CCITT-FALSE."""
    body = _tlv("00", "01") + _tlv("01", "12")
    body += _tlv("26", _tlv("00", "br.gov.bcb.pix") + _tlv("25", location[:77]))
    body += _tlv("52", "0000") + _tlv("53", "986")
    if amount_cents is not None:
        body += _tlv("54", str(Decimal(amount_cents) / 100))
    body += _tlv("58", "BR") + _tlv("59", name[:25]) + _tlv("60", city[:15]) + _tlv("62", _tlv("05", "***"))
    body += "6304"
    return body + f"{crc16_ccitt_false(body.encode()):04X}"


def mount(stack: LocalStack, prefix: str, fake: FakeGatewayBase) -> str:
    """Serve ``fake`` in the local stack under ``prefix`` (every method and path); return its base URL.

    A gateway configured with that base URL then talks to the fake over real HTTP; an injected
    timeout answers only after the adapters have given up.
    """
    from local.server import LocalResponse

    def endpoint(request: LocalRequest) -> LocalResponse:
        url = httpx.URL("http://fake.local" + (request.path[len(prefix) :] or "/"), params=request.query)
        forwarded = httpx.Request(request.method, url, headers=request.headers, content=request.body)
        try:
            response = fake.handle(forwarded)
        except httpx.TimeoutException:
            time.sleep(TIMEOUT_SLEEP_SECONDS)
            return LocalResponse(504)
        content_type = response.headers.get("content-type", "application/json")
        return LocalResponse(response.status_code, response.content, {"content-type": content_type})

    stack.add_route("ANY", prefix + "/{path+}", endpoint)
    return stack.base_url + prefix
