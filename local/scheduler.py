"""EventBridge schedules, locally: each ``rate(...)`` of the template fires its function on cadence.

``speed`` compresses time (``--schedule-speed 60`` runs a 5-minute schedule every 5 seconds). Runs
never overlap per function (the stack invokes one event at a time per function, like one container),
a run that raises is logged and the next comes on time, as with EventBridge's own retries spent.
``cron(...)`` schedules are not run by themselves; every schedule stays triggerable by
``POST /_local/schedules/{function}``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local import aws
from local.template import Function, Schedule

log = logging.getLogger("local.schedules")

Invoke = Callable[[Function, dict[str, Any]], Any]


def scheduled_event(rule: str, now: float | None = None) -> dict[str, Any]:
    """The event EventBridge sends a rule's Lambda target on schedule."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": aws.ACCOUNT,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": aws.REGION,
        "resources": [f"arn:aws:events:{aws.REGION}:{aws.ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


def schedule_event(function: Function, schedule: Schedule) -> dict[str, Any]:
    """What the function receives: the schedule's fixed Input when it has one, else EventBridge's event."""
    if schedule.input is not None:
        parsed = json.loads(schedule.input)
        if isinstance(parsed, dict):
            return parsed
    return scheduled_event(f"{function.logical_id}{schedule.name}")


@dataclass
class Run:
    function: str
    schedule: str
    at: str
    ok: bool


class Scheduler:
    """One thread firing every rate schedule of the added functions, ``speed`` times faster than real."""

    def __init__(self, invoke: Invoke, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("schedule speed must be positive")
        self._invoke = invoke
        self.speed = speed
        self._due: list[tuple[float, Function, Schedule]] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs: list[Run] = []

    def add(self, function: Function) -> None:
        for schedule in function.schedules:
            period = schedule.period_seconds
            if period is None:
                log.info("%s %s (%s) runs only on request", function.logical_id, schedule.name, schedule.expression)
                continue
            with self._changed:
                self._due.append((time.monotonic() + period / self.speed, function, schedule))
                self._changed.notify()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="local-schedules", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def fire(self, function: Function, schedule: Schedule) -> Any:
        """Invoke one schedule now (also what ``POST /_local/schedules/{function}`` does)."""
        ok = False
        try:
            result = self._invoke(function, schedule_event(function, schedule))
            ok = True
            return result
        finally:
            self.runs.append(Run(function.logical_id, schedule.name, datetime.now(UTC).isoformat(), ok))

    def _next(self) -> tuple[Function, Schedule] | None:
        """Wait for the next schedule due (None when stopping) and book its following run."""
        with self._changed:
            while not self._stop.is_set():
                self._due.sort(key=lambda due: due[0])
                wait = self._due[0][0] - time.monotonic() if self._due else None
                if wait is not None and wait <= 0:
                    when, function, schedule = self._due[0]
                    step = (schedule.period_seconds or 0.0) / self.speed
                    # EventBridge skips what a long run missed; it never catches up.
                    self._due[0] = (max(when + step, time.monotonic() + step / 2), function, schedule)
                    return function, schedule
                self._changed.wait(wait)
        return None

    def _run(self) -> None:
        while (due := self._next()) is not None:
            function, schedule = due
            try:
                self.fire(function, schedule)
            except Exception:
                log.exception("%s failed on schedule %s", function.logical_id, schedule.name)
