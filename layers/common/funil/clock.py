"""UTC time. Everything stored is UTC; reports convert to America/Sao_Paulo at the edge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

# How far the local stack has moved its clock ahead (``POST /_local/clock``), so a 30-day access or a
# PIX follow-up can come due in a test; nothing deployed ever changes it.
_ahead = [timedelta(0)]


def utc_now() -> datetime:
    return datetime.now(UTC) + _ahead[0]


def travel(by: timedelta) -> datetime:
    """Move this process's clock ahead (the local stack only). Returns the new now."""
    if by < timedelta(0):
        raise ValueError("time only moves forward")
    _ahead[0] += by
    return utc_now()


def to_epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def to_epoch_s(moment: datetime) -> int:
    return int(moment.timestamp())


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a ``Z``: sortable as a string."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def back_to_now() -> None:
    """Undo every ``travel`` (a local stack's tests, between stacks)."""
    _ahead[0] = timedelta(0)
