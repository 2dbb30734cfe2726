"""The fake Bot API's flood control (opt-in): 30 messages a second per bot, one a second per chat, 429
with ``parameters.retry_after`` beyond, as Telegram answers; off by default."""

from __future__ import annotations

from local.fakes.telegram_api import FakeTelegramApi

TOKEN = "7000000001:TEST-fake-token-for-tests-only-aaaa"


class Clock:
    def __init__(self) -> None:
        self.at = 1_000.0

    def __call__(self) -> float:
        return self.at


def send(fake: FakeTelegramApi, chat: int, method: str = "sendMessage") -> dict:
    params = {"chat_id": chat, "text": "oi"} if method == "sendMessage" else {"chat_id": chat, "action": "typing"}
    return fake.call(TOKEN, method, params).payload


def test_off_by_default_any_rate_goes() -> None:
    fake = FakeTelegramApi(now=Clock())
    assert all(send(fake, 1)["ok"] for _ in range(50))


def test_the_31st_message_of_a_bot_within_a_second_is_a_429_until_the_window_has_room() -> None:
    clock = Clock()
    fake = FakeTelegramApi(now=clock)
    fake.enforce_rate_limits()
    for chat in range(30):
        clock.at += 0.01
        assert send(fake, chat)["ok"]
    refused = send(fake, 99)
    assert refused == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert send(fake, 99, "sendChatAction")["ok"]  # not a message: never limited
    clock.at += 0.72  # the first send (at +0.01) has left the window
    assert send(fake, 99)["ok"]
    assert fake.detailed()[30]["status"] == 429 and fake.sent("sendMessage") and len(fake.sent("sendMessage")) == 31


def test_a_second_message_to_one_chat_within_a_second_is_a_429() -> None:
    clock = Clock()
    fake = FakeTelegramApi(now=clock)
    fake.enforce_rate_limits()
    assert send(fake, 7)["ok"]
    clock.at += 0.5
    assert send(fake, 7)["parameters"] == {"retry_after": 1}
    assert send(fake, 8)["ok"]  # another chat is free
    clock.at += 0.6
    assert send(fake, 7)["ok"]


def test_refused_messages_do_not_count_and_the_limits_are_settable() -> None:
    clock = Clock()
    fake = FakeTelegramApi(now=clock)
    fake.enforce_rate_limits(bot_per_second=2, chat_per_second=5)
    assert send(fake, 1)["ok"] and send(fake, 1)["ok"]
    assert [send(fake, 2)["error_code"] for _ in range(3)] == [429, 429, 429]
    clock.at += 1.01
    assert send(fake, 2)["ok"]
    fake.enforce_rate_limits(False)
    assert all(send(fake, 3)["ok"] for _ in range(10))
