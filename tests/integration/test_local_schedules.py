"""Schedules run by themselves in the local stack (time compressed), and stay triggerable by POST."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.scheduler import Scheduler, schedule_event
from local.server import LocalStack, start_stack
from local.template import Function, Schedule, load

SPEED = 600.0  # the reconciler's 5 minutes pass in 0.5 s, the health check's 15 in 1.5 s


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with start_stack(port=0, schedule_speed=SPEED) as started:
        yield started


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


def _wait(condition: Any, what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


def test_the_template_rates_are_read() -> None:
    schedules = {f.logical_id: f.schedules for f in load().functions.values() if f.schedules}
    assert {name: [s.period_seconds for s in found] for name, found in schedules.items()} == {
        "ReconcilerFunction": [300],
        "BotHealthFunction": [900],
        "SpendImportFunction": [None],  # a cron: run on request only
        "DailyExportFunction": [None],
        "TimersFunction": [60],
    }


def test_a_lost_webhook_is_confirmed_without_anyone_asking(stack: LocalStack, client: httpx.Client) -> None:
    created = client.post("/_local/sandbox/checkout", json={"amount_cents": 990, "telegram_user_id": 777100}).json()
    stack.sandbox.fake.pay(created["gateway_charge_id"])  # type: ignore[attr-defined]  # no webhook: lost

    def paid() -> bool:
        items = client.get("/_local/items", params={"prefix": f"PAYMENT#{created['payment_id']}"}).json()
        return any(item["sk"] == "PAYMENT" and item["status"] == "paid" for item in items)

    _wait(paid, "the reconciler's own run to confirm the payment")


def test_both_schedules_ran_and_are_listed(client: httpx.Client) -> None:
    def ran() -> set[str]:
        runs = client.get("/_local/schedules").json()["recent_runs"]
        return {run["function"] for run in runs if run["ok"]} >= {"ReconcilerFunction", "BotHealthFunction"}

    _wait(ran, "a run of each scheduled function")
    listed = client.get("/_local/schedules").json()
    assert listed["speed"] == SPEED
    every = {row["function"]: row["every_seconds"] for row in listed["schedules"]}
    assert every == {
        "ReconcilerFunction": 0.5,
        "BotHealthFunction": 1.5,
        "SpendImportFunction": None,
        "DailyExportFunction": None,
        "TimersFunction": 0.1,
    }


def test_a_schedule_is_still_triggerable_by_post(client: httpx.Client) -> None:
    ran = client.post("/_local/schedules/BotHealthFunction")
    assert ran.status_code == 200 and ran.json()["schedule"] == "EveryFifteenMinutes"
    assert client.post("/_local/schedules/BotHealthFunction", params={"schedule": "Nope"}).status_code == 404
    assert client.post("/_local/schedules/NoSuchFunction").status_code == 404


def test_the_scheduler_skips_missed_runs_and_uses_a_fixed_input() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    slow = Function("Slow", code_uri=load().functions["ReconcilerFunction"].code_uri, handler="app.h", environment={})
    fixed = Schedule("Nightly", "rate(1 day)", input='{"kind": "nightly"}')
    timed = Schedule("Often", "rate(1 minute)")
    function = Function(**{**slow.__dict__, "schedules": (timed, fixed)})

    def invoke(called: Function, event: dict[str, Any]) -> None:
        calls.append((called.logical_id, event))
        time.sleep(0.3)  # longer than the period: missed runs are skipped, never queued

    scheduler = Scheduler(invoke, speed=600)  # a minute every 0.1 s
    scheduler.add(function)
    scheduler.start()
    _wait(lambda: len(calls) >= 2, "two runs", 10)
    scheduler.stop()
    assert calls[0][1]["detail-type"] == "Scheduled Event" and calls[0][1]["source"] == "aws.events"
    assert len(calls) <= 4  # about 0.6 s of runs at 0.3 s each; a catch-up would have fired many more
    assert schedule_event(function, fixed) == {"kind": "nightly"}
    assert Schedule("c", "cron(0 12 * * ? *)").period_seconds is None
