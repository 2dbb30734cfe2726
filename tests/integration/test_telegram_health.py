"""The scheduled bot health check (getMe, getWebhookInfo) and join requests through the webhook."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from local.handlers import LambdaContext, load_handler
from local.template import load
from tests.unit.bot.telegram_harness import TgEnv, load_event

BUYER, OTHER = 5550001, 5550002


def run_health(monkeypatch: pytest.MonkeyPatch, public_base_url: str = "") -> dict[str, Any]:
    monkeypatch.setenv("PUBLIC_BASE_URL", public_base_url)
    function = load().functions["BotHealthFunction"]
    handler = load_handler(function, fresh=True)
    result: dict[str, Any] = handler(load_event("reconciler_schedule.json"), LambdaContext(function, "test"))
    return result


def health(tg: TgEnv, bot_id: str) -> dict[str, Any]:
    return dict(tg.table.get(f"BOT#{bot_id}", "BOT")["health"])


def test_healthy_bots_stay_healthy(tg: TgEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_health(monkeypatch)
    assert result["outcomes"] == {tg.bot_a: "healthy", tg.bot_b: "healthy"}
    assert health(tg, tg.bot_a)["checked_at"]
    assert [call["method"] for call in tg.fake.recorded(tg.bot_a)] == ["getMe", "getWebhookInfo"]


def test_revoked_token_is_token_invalid_then_recovers(tg: TgEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    tg.fake.revoke_token(tg.bot()["token"])
    assert run_health(monkeypatch)["outcomes"][tg.bot_a] == "token_invalid:telegram_401"
    assert health(tg, tg.bot_a)["status"] == "token_invalid"
    assert health(tg, tg.bot_b)["status"] == "healthy"
    tg.fake.revoked.clear()  # the token works again (or was replaced)
    assert run_health(monkeypatch)["outcomes"][tg.bot_a] == "healthy"
    assert health(tg, tg.bot_a)["status"] == "healthy"


def test_a_blocked_user_never_touches_bot_health(tg: TgEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    tg.fake.block(BUYER, bot=tg.bot_a, times=None)
    tg.start(BUYER)
    assert run_health(monkeypatch)["outcomes"][tg.bot_a] == "healthy"


def test_rate_limited_check_changes_nothing(tg: TgEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    tg.table.update(f"BOT#{tg.bot_a}", "BOT", "SET health = :h", {":h": {"status": "token_invalid"}})
    tg.fake.rate_limit(5, bot=tg.bot_a, method="getMe")
    assert run_health(monkeypatch)["outcomes"][tg.bot_a] == "skipped"
    assert health(tg, tg.bot_a) == {"status": "token_invalid"}


def test_username_mismatch_is_unhealthy(tg: TgEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    tg.table.update(f"BOT#{tg.bot_a}", "BOT", "SET username = :u", {":u": "RenamedBot"})
    assert run_health(monkeypatch)["outcomes"][tg.bot_a] == "unhealthy:username_mismatch"


def test_webhook_is_set_when_not_ours(tg: TgEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes = run_health(monkeypatch, "https://funil.example")["outcomes"]
    assert outcomes == {tg.bot_a: "healthy:webhook_set", tg.bot_b: "healthy:webhook_set"}
    [hook] = tg.sent("setWebhook")
    assert hook["url"] == f"https://funil.example/tg/{tg.bot_a}" and hook["secret_token"] == tg.secret(tg.bot_a)
    assert run_health(monkeypatch, "https://funil.example")["outcomes"][tg.bot_a] == "healthy"
    assert len(tg.sent("setWebhook")) == 1


# -- join requests --------------------------------------------------------------------------------


def test_join_request_approved_only_for_the_buyer(tg: TgEnv) -> None:
    from funil.delivery.storage import DeliveryRecords

    chat = -1001000000001
    link = "https://t.me/+BuyerOnlyLink01"
    payment = {"pk": f"PAYMENT#{'0' * 32}", "sk": "PAYMENT", "type": "payment", "payment_id": "0" * 32,
               "tenant_id": tg.tenant, "bot_id": tg.bot_a, "telegram_user_id": BUYER, "status": "paid"}  # fmt: skip
    tg.table.put(payment)
    DeliveryRecords(tg.table).index_invite(
        link,
        {"payment_id": "0" * 32, "bot_id": tg.bot_a, "telegram_user_id": BUYER, "tenant_id": tg.tenant},
        chat,
        True,
        datetime.now(UTC),
    )

    def request(user_id: int) -> dict[str, Any]:
        return {
            "chat_join_request": {
                "chat": {"id": chat, "type": "supergroup", "title": "VIP"},
                "from": {"id": user_id, "is_bot": False, "first_name": "X"},
                "user_chat_id": user_id,
                "date": 1795372260,
                "invite_link": {"invite_link": link, "creator": {"id": 1, "is_bot": True, "first_name": "B"},
                                "creates_join_request": True, "is_primary": False, "is_revoked": False},
            }
        }  # fmt: skip

    assert tg.post(request(OTHER))[1]["outcome"] == "join_declined_not_the_buyer"
    assert tg.post(request(BUYER))[1]["outcome"] == "join_approved_buyer"
    assert tg.sent("declineChatJoinRequest") == [{"chat_id": chat, "user_id": OTHER}]
    assert tg.sent("approveChatJoinRequest") == [{"chat_id": chat, "user_id": BUYER}]
    tg.table.put({**payment, "status": "refunded"})  # a refunded buyer's request is declined
    assert tg.post(request(BUYER))[1]["outcome"] == "join_declined_payment_not_paid"
