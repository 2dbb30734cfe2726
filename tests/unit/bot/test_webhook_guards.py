"""The Telegram route's guards at the logic level: ids are matched whole (no trailing newline)."""

from __future__ import annotations

from typing import Any

from funil.bot.entry import NOT_FOUND, handle_webhook


class _NoBots:
    def bot(self, bot_id: str) -> Any:
        raise AssertionError(f"a malformed bot id reached the table: {bot_id!r}")


def test_a_bot_id_with_a_trailing_newline_is_refused_before_any_read() -> None:
    assert handle_webhook(_NoBots(), "bot_demo_a\n", "secret", b"{}") == NOT_FOUND  # type: ignore[arg-type]
