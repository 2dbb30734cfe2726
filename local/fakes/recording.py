"""What the destinations' fakes (UTMify, TikTok, GA4, a webhook receiver) share: a record of what
each accepted and rejected, transient failures on demand, and one entry point for httpx's
``MockTransport`` (tests) and the local stack's HTTP server (local/destinations_local.py).

``fail_transiently(times, status)`` makes the next ``times`` requests fail the way the service
fails when it is down (each fake's own ``transient_answer``) before anything is checked or recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


class Rejected(ValueError):
    """The request breaks the service's rules: answered with ``status`` and ``payload``."""

    def __init__(self, status: int, payload: Any) -> None:
        super().__init__(str(payload))
        self.status = status
        self.payload = payload


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    query: dict[str, str] = field(default_factory=dict)


class RecordingFake:
    """Subclasses give ``check(path, query, headers, body) -> (status, payload)`` (raising Rejected)
    and ``transient_answer(status) -> (status, payload)``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.rejected: list[dict[str, Any]] = []
        self.failures_left = 0
        self.failure_status = 503
        self.transient_failures_served = 0
        self._lock = threading.Lock()

    def fail_transiently(self, times: int = 1, status: int = 503) -> None:
        with self._lock:
            self.failures_left, self.failure_status = times, status

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self.rejected.clear()
            self.failures_left = self.transient_failures_served = 0

    def bodies(self) -> list[Any]:
        return [item.body for item in self.received]

    def handle(self, request: httpx.Request) -> httpx.Response:
        """httpx.MockTransport's handler."""
        status, payload = self.serve(request.method, str(request.url), dict(request.headers), request.content)
        return httpx.Response(status, json=payload)

    def serve(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any]:
        parts = urlsplit(url)
        lowered = {name.lower(): value for name, value in headers.items()}
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        with self._lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                self.transient_failures_served += 1
                return self.transient_answer(self.failure_status)
        try:
            if method.upper() != "POST":
                raise Rejected(405, {"error": "POST only"})
            try:
                parsed = json.loads(body or b"")
            except ValueError as error:
                raise Rejected(400, {"error": "body is not JSON"}) from error
            status, payload = self.check(parts.path, query, lowered, body, parsed)
        except Rejected as rejection:
            with self._lock:
                self.rejected.append({"path": parts.path, "status": rejection.status, "answer": rejection.payload})
            return rejection.status, rejection.payload
        with self._lock:
            self.received.append(Received(parts.path, lowered, parsed, query))
        return status, payload

    def check(
        self, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes, body: Any
    ) -> tuple[int, Any]:
        raise NotImplementedError

    def transient_answer(self, status: int) -> tuple[int, Any]:
        return status, {"error": "temporarily unavailable"}


def require(condition: bool, status: int, payload: Any) -> None:
    if not condition:
        raise Rejected(status, payload)
