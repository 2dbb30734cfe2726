"""The alerts' thresholds (funil.alerts): the Conversions API error rate and a failing bot webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from funil.alerts.bots import webhook_problem
from funil.alerts.watch import over_threshold, window_start

NOW = datetime(2026, 12, 2, 5, 37, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sent", "failed", "alerting"),
    [
        (0, 4, False),  # every event failed, but only four: one bad minute on a quiet pixel
        (0, 5, True),
        (20, 5, True),  # exactly 20 %
        (21, 5, False),  # just under 20 %
        (1000, 199, False),
        (800, 200, True),
        (0, 0, False),
    ],
)
def test_the_error_rate_needs_five_failures_and_a_fifth_of_the_events(sent: int, failed: int, alerting: bool) -> None:
    assert over_threshold(sent, failed) is alerting


def test_windows_are_fixed_quarter_hours_in_utc() -> None:
    assert window_start(NOW) == datetime(2026, 12, 2, 5, 30, tzinfo=UTC)
    assert window_start(datetime(2026, 12, 2, 5, 45, tzinfo=UTC)) == datetime(2026, 12, 2, 5, 45, tzinfo=UTC)


def stamp(moment: datetime) -> int:
    return int(moment.timestamp())


@pytest.mark.parametrize(
    ("info", "previous", "failing"),
    [
        ({"pending_update_count": 0}, None, False),
        ({"last_error_date": stamp(NOW - timedelta(minutes=5))}, 0, True),
        ({"last_error_date": stamp(NOW - timedelta(minutes=20))}, 0, True),  # the edge: still this check's
        ({"last_error_date": stamp(NOW - timedelta(minutes=21))}, 0, False),  # the previous check saw it
        ({"last_error_date": True}, 0, False),  # not a time (JSON true)
        ({"last_error_date": "1796000000"}, 0, False),
        ({"pending_update_count": 150}, None, False),  # nothing to compare with yet
        ({"pending_update_count": 150}, 150, False),  # not growing
        ({"pending_update_count": 150}, 120, True),
        ({"pending_update_count": 99}, 10, False),  # growing, but a normal backlog
    ],
)
def test_a_webhook_fails_on_a_recent_error_or_a_growing_backlog(
    info: dict[str, Any], previous: int | None, failing: bool
) -> None:
    assert (webhook_problem(info, previous, NOW) is not None) is failing
