"""UTC time. Everything stored is UTC; reports convert to America/Sao_Paulo at the edge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def to_epoch_s(moment: datetime) -> int:
    return int(moment.timestamp())


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a ``Z``: sortable as a string."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
