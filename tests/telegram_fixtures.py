"""Fixtures for the fake Telegram Bot API (local/fakes/telegram_api.py).

tests/conftest.py lists this module in ``pytest_plugins``, so every test can ask for them.
``telegram_server`` runs the fake on a real local HTTP server so python-telegram-bot talks to it
through its own HTTPXRequest; ``TELEGRAM_API_BASE_URL`` points at it while the test runs. Every test using them fails if a call broke the Bot API spec.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.fakes.telegram_api import FakeTelegramApi, RunningFake, serve_http

# Tokens of the shape BotFather gives (numeric bot id, colon, 35 characters); never real.
TOKEN_A = "7000000001:TEST-fake-token-for-tests-only-aaaa"
TOKEN_B = "7000000002:TEST-fake-token-for-tests-only-bbbb"


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegramApi]:
    """The fake, in-process (``httpx.MockTransport(telegram_api.handle)``); no spec violations allowed."""
    fake = FakeTelegramApi()
    yield fake
    assert fake.violations == [], f"Bot API calls broke the spec: {fake.violations}"


@pytest.fixture
def telegram_server(telegram_api: FakeTelegramApi, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningFake]:
    """The fake over HTTP on 127.0.0.1; TELEGRAM_API_BASE_URL is its base URL (PTB adds /bot<token>)."""
    with serve_http(telegram_api) as running:
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", running.base_url)
        yield running
