"""A fake of GA4's Measurement Protocol: ``POST /mp/collect?measurement_id=…&api_secret=…``.

Google answers 2xx to whatever it receives; this fake checks what Google's validation server
(``/debug/mp/collect``) checks that matters to us, and answers 400 instead so a test sees it: a
known measurement id and its API secret (else 403), ``client_id`` a string, at most 25 events,
event names of letters, digits and underscores (≤ 40), params ≤ 25, ``purchase``/``refund`` with
``transaction_id``, ``currency`` with ``value``, ``timestamp_micros`` an integer no more than 72
hours in the past. Accepted requests are recorded (``events()``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from local.fakes.recording import RecordingFake, require

PATH = "/mp/collect"
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
MAX_AGE_MICROS = 72 * 3600 * 1_000_000


class FakeGa4(RecordingFake):
    def __init__(self, secrets_by_measurement_id: dict[str, str], now: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.secrets_by_measurement_id = secrets_by_measurement_id
        self.now = now

    def events(self) -> list[dict[str, Any]]:
        return [{**event, "client_id": body["client_id"]} for body in self.bodies() for event in body["events"]]

    def check(
        self, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes, body: Any
    ) -> tuple[int, Any]:
        require(path == PATH, 404, {"error": "not found"})
        expected = self.secrets_by_measurement_id.get(query.get("measurement_id", ""))
        require(expected is not None and query.get("api_secret") == expected, 403, {"error": "api_secret"})
        messages = _problems(body, self.now())
        require(not messages, 400, {"validationMessages": messages})
        return 204, None


def _problems(body: Any, now: float) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("client_id"), str) or not body["client_id"]:
        return ["client_id is required"]
    problems = []
    stamp = body.get("timestamp_micros")
    if stamp is not None and (not isinstance(stamp, int) or stamp < now * 1_000_000 - MAX_AGE_MICROS):
        problems.append("timestamp_micros must be an integer within the last 72 hours")
    events = body.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= 25:
        return [*problems, "events: 1 to 25"]
    for event in events:
        name = event.get("name") if isinstance(event, dict) else None
        params = event.get("params") or {} if isinstance(event, dict) else {}
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append("event name invalid")
            continue
        if not isinstance(params, dict) or len(params) > 25:
            problems.append(f"{name}: params must be an object of at most 25")
            continue
        if name in ("purchase", "refund") and not params.get("transaction_id"):
            problems.append(f"{name} needs transaction_id")
        if "value" in params and not isinstance(params.get("currency"), str):
            problems.append(f"{name}: value needs currency")
    return problems
