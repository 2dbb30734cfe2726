"""Work due at a time (funil.timers): found through the DUE# index, run once per lease, rescheduled or done."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from funil import keys, timers
from funil.clock import iso

from local import aws
from local.handlers import LambdaContext, handler_globals, load_handler
from local.template import load
from tests.conftest import load_event

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _due_item(table: Any, name: str, due_at: datetime, kind: str = "test") -> tuple[str, str]:
    key = (f"THING#{name}", "THING")
    table.put({"pk": key[0], "sk": key[1], "type": "thing", **timers.due_attributes(key, kind, due_at)})
    return key


def _run(table: Any, handlers: dict[str, timers.Handler], at: datetime, budget: float = 30.0) -> dict[str, int]:
    leases = iter(range(10_000))
    return timers.run_due(
        table, handlers, lambda: at, budget_seconds=budget, new_lease_id=lambda: f"lease{next(leases)}"
    )


def _recording(next_due: Callable[[dict[str, Any]], datetime | None] = lambda _: None) -> Any:
    seen: list[str] = []

    def handler(item: dict[str, Any], now: datetime) -> datetime | None:
        seen.append(str(item["pk"]))
        return next_due(item)

    return seen, handler


def test_only_items_due_by_now_run_and_each_once(table: Any) -> None:
    for index in range(30):  # spread over the shards
        _due_item(table, f"past{index}", NOW - timedelta(minutes=index))
    _due_item(table, "future", NOW + timedelta(seconds=1))
    seen, handler = _recording()
    counts = _run(table, {"test": handler}, NOW)
    assert counts == {"test_done": 30}
    assert sorted(seen) == sorted(f"THING#past{index}" for index in range(30))
    done = table.get("THING#past0", "THING", consistent=True)
    assert "gsi2pk" not in done and "gsi2sk" not in done and "timer_lease" not in done
    assert table.get("THING#future", "THING", consistent=True)["gsi2sk"].startswith(iso(NOW + timedelta(seconds=1)))
    assert _run(table, {"test": handler}, NOW) == {}  # nothing left due: nothing runs again


def test_a_handler_returns_when_the_item_is_next_due(table: Any) -> None:
    key = _due_item(table, "access", NOW - timedelta(seconds=5))
    _, handler = _recording(lambda _: NOW + timedelta(days=3))
    assert _run(table, {"test": handler}, NOW) == {"test_rescheduled": 1}
    item = table.get(*key, consistent=True)
    assert item["gsi2sk"] == keys.due_index(*key, iso(NOW + timedelta(days=3)))["gsi2sk"]
    assert "timer_lease" not in item and "timer_attempts" not in item
    assert _run(table, {"test": handler}, NOW + timedelta(days=2)) == {}
    assert _run(table, {"test": handler}, NOW + timedelta(days=3)) == {"test_rescheduled": 1}


def test_a_failing_handler_is_retried_after_its_lease_then_given_up(table: Any) -> None:
    key = _due_item(table, "broken", NOW)
    calls: list[datetime] = []

    def failing(item: dict[str, Any], now: datetime) -> datetime | None:
        calls.append(now)
        raise RuntimeError("Telegram is down")

    assert _run(table, {"test": failing}, NOW) == {"failed": 1}
    assert _run(table, {"test": failing}, NOW + timedelta(minutes=1)) == {}  # leased: not yet again
    at = NOW
    for _ in range(timers.MAX_ATTEMPTS - 1):
        at += timers.LEASE
        assert _run(table, {"test": failing}, at) == {"failed": 1}
    assert len(calls) == timers.MAX_ATTEMPTS
    assert _run(table, {"test": failing}, at + timers.LEASE) == {"given_up": 1}
    item = table.get(*key, consistent=True)
    assert item["timer_failed"] is True and "gsi2pk" not in item
    assert len(calls) == timers.MAX_ATTEMPTS  # never run past its last attempt


def test_an_unknown_kind_is_given_up_not_retried_forever(table: Any) -> None:
    key = _due_item(table, "mystery", NOW, kind="nobody_handles_this")
    assert _run(table, {}, NOW) == {"given_up": 1}
    assert table.get(*key, consistent=True)["timer_failed"] is True


def test_a_schedule_changed_while_it_runs_stands(table: Any) -> None:
    """A renewal moves an access's end while the old end's run is under way: the run's next time loses."""
    key = _due_item(table, "renewed", NOW)
    renewed_end = NOW + timedelta(days=33)

    def ending(item: dict[str, Any], now: datetime) -> datetime | None:
        timers.schedule(table, key, "test", renewed_end)  # what a renewal's delivery does meanwhile
        return NOW + timedelta(days=1)

    _run(table, {"test": ending}, NOW)
    assert table.get(*key, consistent=True)["gsi2sk"] == keys.due_index(*key, iso(renewed_end))["gsi2sk"]


def test_one_runner_at_a_time_per_item(table: Any) -> None:
    """A second run that starts while the first holds the item does not act on it."""
    _due_item(table, "once", NOW)
    inner: list[dict[str, int]] = []
    seen, recording = _recording()

    def nested(item: dict[str, Any], now: datetime) -> datetime | None:
        inner.append(_run(table, {"test": recording}, now))
        return None

    assert _run(table, {"test": nested}, NOW) == {"test_done": 1}
    assert inner == [{}] and seen == []


def test_clearing_a_schedule_removes_the_item_from_the_index(table: Any) -> None:
    key = _due_item(table, "cancelled", NOW)
    timers.schedule(table, key, "test", None)
    assert "gsi2pk" not in table.get(*key, consistent=True)
    assert _run(table, {"test": _recording()[1]}, NOW) == {}


def test_no_time_left_runs_nothing(table: Any) -> None:
    _due_item(table, "later", NOW)
    assert _run(table, {"test": _recording()[1]}, NOW, budget=0) == {}
    assert "gsi2pk" in table.get("THING#later", "THING", consistent=True)


def test_the_timers_function_runs_due_work_on_its_schedule(aws_env: aws.Resources, table: Any) -> None:
    function = load().functions["TimersFunction"]
    assert [schedule.expression for schedule in function.schedules] == ["rate(1 minute)"]
    handler = load_handler(function, fresh=True)
    seen, recording = _recording()
    handler_globals(handler)["HANDLERS"]["test"] = recording
    key = _due_item(table, "now", datetime.now(UTC) - timedelta(seconds=1))
    result = handler(load_event("timers_schedule.json"), LambdaContext(function, "timers-test"))
    assert result == {"counts": {"test_done": 1}}
    assert seen == [key[0]]


@pytest.mark.parametrize("kind", ["access", "follow_up", "broadcast"])
def test_every_kind_of_due_work_has_a_handler(aws_env: aws.Resources, kind: str) -> None:
    handler = load_handler(load().functions["TimersFunction"], fresh=True)
    assert kind in handler_globals(handler)["HANDLERS"]
