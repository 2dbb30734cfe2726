"""Fixtures for the fake Telegram Bot API (local/fakes/telegram_api.py).

tests/conftest.py lists this module in ``pytest_plugins``, so every test can ask for them.
``telegram_server`` runs the fake on a real local HTTP server so python-telegram-bot talks to it
through its own HTTPXRequest; ``TELEGRAM_API_BASE_URL`` points at it while the test runs. Every
test using them fails (at teardown) if a recorded Bot API call broke the spec oracle; a test that
provokes a violation on purpose clears it. A fake that outlives one test (the local stack's) is held
to the same rule per test with ``no_new_violations``. ``tg`` is the Telegram webhook's whole
environment on moto (``tests/unit/bot/telegram_harness.py``) talking to the fake over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from local import aws
from local.fakes.telegram_api import FakeTelegramApi, RunningFake, serve_http

if TYPE_CHECKING:
    from tests.unit.bot.telegram_harness import TgEnv

# Tokens of the shape BotFather gives (numeric bot id, colon, 35 characters); never real.
TOKEN_A = "7000000001:TEST-fake-token-for-tests-only-aaaa"
TOKEN_B = "7000000002:TEST-fake-token-for-tests-only-bbbb"


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegramApi]:
    """The fake, in-process (``httpx.MockTransport(telegram_api.handle)``); no spec violations allowed."""
    fake = FakeTelegramApi()
    with no_new_violations(fake):
        yield fake


@contextmanager
def no_new_violations(fake: FakeTelegramApi) -> Iterator[None]:
    """Fail unless every Bot API call recorded inside the block passed the spec oracle."""
    already = len(fake.violations)
    yield
    new = fake.violations[already:]
    assert new == [], f"Bot API calls broke the spec: {new}"


@pytest.fixture
def telegram_server(telegram_api: FakeTelegramApi, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningFake]:
    """The fake over HTTP on 127.0.0.1; TELEGRAM_API_BASE_URL is its base URL (PTB adds /bot<token>)."""
    with serve_http(telegram_api) as running:
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", running.base_url)
        yield running


@pytest.fixture
def tg(
    aws_env: aws.Resources,
    table: Any,
    telegram_api: FakeTelegramApi,
    telegram_server: RunningFake,
    monkeypatch: pytest.MonkeyPatch,
) -> TgEnv:
    """The Telegram webhook on moto (seeded bots, the sandbox gateway) with the fake Bot API over HTTP."""
    from tests.unit.bot.telegram_harness import make_env  # the handler's world: imported by the tests that ask

    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram_server.base_url)
    return make_env(aws_env, table, telegram_api, telegram_server.base_url)
