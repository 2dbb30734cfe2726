"""The report's hour in Brasília, the code as a person types it, the click-to-sale time as shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from funil.notifications.models import next_report_at
from funil.notifications.registration import CODE_ALPHABET, CODE_LENGTH, normalise_code
from funil.notifications.texts import duration
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("now", "hour", "due"),
    [
        ("2026-12-02T10:59:00", 8, "2026-12-02T11:00:00"),  # 07:59 in Brasília: today at 8
        ("2026-12-02T11:00:00", 8, "2026-12-03T11:00:00"),  # 08:00 sharp: tomorrow
        ("2026-12-02T02:30:00", 23, "2026-12-02T02:00:00+1d"),  # 23:30 of the 1st in Brasília: the 2nd at 23h
        ("2026-12-02T02:30:00", 0, "2026-12-02T03:00:00"),  # midnight in Brasília is 03:00 UTC
    ],
)
def test_the_next_report_is_the_next_such_hour_in_brasilia(now: str, hour: int, due: str) -> None:
    moment = datetime.fromisoformat(now).replace(tzinfo=UTC)
    expected = datetime.fromisoformat(due.removesuffix("+1d")).replace(tzinfo=UTC)
    if due.endswith("+1d"):
        expected += timedelta(days=1)
    assert next_report_at(moment, hour) == expected


@given(moment=st.datetimes(timezones=st.just(UTC)), hour=st.integers(0, 23))
def test_a_report_is_always_ahead_within_a_day_at_its_hour(moment: datetime, hour: int) -> None:
    due = next_report_at(moment, hour)
    assert timedelta(0) < due - moment <= timedelta(days=1)
    assert (due - timedelta(hours=3)).hour == hour and due.minute == 0


def test_a_code_is_read_as_typed() -> None:
    assert normalise_code("abcde-fghjk") == "ABCDEFGHJK"
    assert normalise_code(" ABCDE FGHJK ") == "ABCDEFGHJK"
    assert normalise_code("ABCDEFGHJ0") is None  # 0 is not in the alphabet: never a code
    assert normalise_code(None) is None and normalise_code("") is None


@given(text=st.text(max_size=100))
def test_anything_normalised_is_a_code_of_the_alphabet(text: str) -> None:
    code = normalise_code(text)
    assert code is None or (len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET))


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(40, "40 s"), (12 * 60 + 5, "12 min"), (2 * 3600 + 5 * 60, "2 h 05 min"), (2 * 86400 + 3 * 3600, "2 d 3 h"),
     (-5, "0 s")],
)  # fmt: skip
def test_click_to_sale_is_shown_in_its_largest_units(seconds: int, shown: str) -> None:
    assert duration(timedelta(seconds=seconds)) == shown
