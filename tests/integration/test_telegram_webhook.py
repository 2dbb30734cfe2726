"""POST /tg/{bot_id} through the real handler on moto, with the fake Bot API over HTTP.

Every Bot API call is validated by the fake against the Bot API 10.1 oracle; the ``telegram_api``
fixture fails the test if any call broke the spec.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.handlers import LambdaContext
from tests.unit.bot.telegram_harness import TgEnv

MARIA, JOAO = 5550001, 5550002


# -- the route's guards ---------------------------------------------------------------------------


NOT_FOUND = (404, {"error": "not found"})


def test_unknown_bot_is_404(tg: TgEnv) -> None:
    assert tg.post_raw("bot_nope", "{}", "x" * 43) == NOT_FOUND
    assert tg.post_raw("../BOT", "{}", "x" * 43)[0] == 404  # refused by the route itself
    assert tg.fake.recorded() == []


def test_wrong_or_missing_secret_answers_as_an_unknown_bot_before_the_body_is_read(tg: TgEnv) -> None:
    update = '{"update_id": 1, "message": {"text": "/start"}}'
    unknown = tg.post_raw("bot_nope", update, tg.secret(tg.bot_a))
    assert unknown == NOT_FOUND
    assert tg.post_raw(tg.bot_a, update, tg.secret(tg.bot_a)[:-1] + "x") == unknown
    assert tg.post_raw(tg.bot_a, update, None) == unknown
    assert tg.post_raw(tg.bot_a, update, tg.secret(tg.bot_b)) == unknown  # another bot's secret
    assert tg.post_raw(tg.bot_a, "not json at all", "wrong") == unknown
    assert tg.fake.recorded() == []
    assert tg.lead(1) is None


def test_malformed_update_from_telegram_is_acknowledged(tg: TgEnv) -> None:
    assert tg.post_raw(tg.bot_a, "not json", tg.secret(tg.bot_a)) == (200, {"ok": True, "outcome": "malformed"})


def test_sample_event_file(tg: TgEnv) -> None:
    """events/telegram_start.json is a real-shaped update; with the bot's secret it is served."""
    from tests.unit.bot.telegram_harness import load_event

    event = load_event("telegram_start.json")
    event["headers"]["x-telegram-bot-api-secret-token"] = tg.secret(tg.bot_a)
    answer = tg.handler(event, LambdaContext(tg.function, "sample"))
    assert answer["statusCode"] == 200
    assert tg.lead(5550001)["first_name"] == "Maria"


# -- /start attribution ---------------------------------------------------------------------------


def test_start_with_token_attributes_the_lead_and_shows_offers(tg: TgEnv) -> None:
    click = tg.click("TokA1234567890123456789")
    status, body = tg.start(MARIA, "TokA1234567890123456789", last_name="Souza", username="maria_s")
    assert (status, body["outcome"]) == (200, "start_attributed")
    lead = tg.lead(MARIA)
    assert lead["tenant_id"] == tg.tenant and lead["attributed"] is True
    assert (lead["first_name"], lead["last_name"], lead["username"], lead["language_code"]) == (
        "Maria", "Souza", "maria_s", "pt-br",
    )  # fmt: skip
    for name in ("fbc", "fbp", "utm", "ad", "link_slug", "clicked_at", "pixel_id"):
        assert lead["attribution"][name] == click[name]
    # The visitor's raw IP, User-Agent, language, Referer and location stay on the click (it expires).
    assert {"ip", "user_agent", "accept_language", "referer", "geo"}.isdisjoint(lead["attribution"])
    assert lead["attribution"]["click_token"] == click["token"]
    assert lead["first_touch"]["click_token"] == lead["last_touch"]["click_token"] == click["token"]
    assert lead["gsi1pk"] == f"BOTLEADS#{tg.bot_a}"
    assert len(tg.touches(MARIA)) == 1
    [lead_event] = tg.drain()
    assert lead_event["kind"] == "Lead" and lead_event["event_id"] == f"lead_{tg.bot_a}_{MARIA}"
    assert lead_event["pixel_id"] == tg.seed.pixel_id and lead_event["tenant_id"] == tg.tenant
    [reply] = tg.sent("sendMessage")
    assert reply["chat_id"] == MARIA and "Maria" in reply["text"]
    buttons = [button for row in reply["reply_markup"]["inline_keyboard"] for button in row]
    assert [button["callback_data"] for button in buttons] == ["b:grupo_vip", "s:grupo_vip", "b:curso"]
    assert all(len(button["callback_data"].encode()) <= 64 for button in buttons)


def test_organic_start_without_token(tg: TgEnv) -> None:
    status, body = tg.start(MARIA)
    assert (status, body["outcome"]) == (200, "start_organic_no_token")
    lead = tg.lead(MARIA)
    assert lead["attributed"] is False and "attribution" not in lead and "first_touch" not in lead
    [lead_event] = tg.drain()  # the bot's pixel counts organic leads too
    assert lead_event["event_id"] == f"lead_{tg.bot_a}_{MARIA}" and lead_event["refs"].get("click_token") is None
    assert len(tg.sent("sendMessage")) == 1  # served the same


@pytest.mark.parametrize(
    ("click_fields", "reason"),
    [
        (None, "unknown_token"),
        ({"clicked_at": datetime.now(UTC) - timedelta(days=8)}, "expired"),
        ({"clicked_at": datetime.now(UTC) - timedelta(days=2), "window_days": 1}, "expired"),
    ],
)
def test_unknown_or_expired_token_is_organic(tg: TgEnv, click_fields: dict[str, Any] | None, reason: str) -> None:
    token = "TokExp12345678901234567"
    if click_fields is not None:
        tg.click(token, **click_fields)  # still in the table: TTL deletes late, moto never
    status, body = tg.start(MARIA, token)
    assert (status, body["outcome"]) == (200, f"start_organic_{reason}")
    lead = tg.lead(MARIA)
    assert lead["attributed"] is False and "attribution" not in lead
    [touch] = tg.touches(MARIA)
    assert touch["reason"] == reason and touch["start_parameter"] == token
    assert len(tg.sent("sendMessage")) == 1


def test_malformed_start_parameter_is_organic(tg: TgEnv) -> None:
    assert tg.start(MARIA, "bad token with spaces")[1]["outcome"] == "start_organic_no_token"


def test_re_click_moves_last_touch_keeps_first_touch(tg: TgEnv) -> None:
    tg.click("TokFirst0123456789abcd", clicked_at=datetime.now(UTC) - timedelta(days=2))
    tg.click("TokSecond123456789abcd", utm={"utm_campaign": "retargeting"})
    tg.start(MARIA, "TokFirst0123456789abcd")
    tg.start(MARIA)  # organic re-start: attribution kept
    tg.start(MARIA, "TokSecond123456789abcd")
    lead = tg.lead(MARIA)
    assert lead["first_touch"]["click_token"] == "TokFirst0123456789abcd"
    assert lead["last_touch"]["click_token"] == "TokSecond123456789abcd"
    assert lead["attribution"]["utm"] == {"utm_campaign": "retargeting"}
    assert lead["attributed"] is True and lead["starts"] == 3
    assert len(tg.touches(MARIA)) == 3
    assert [event["kind"] for event in tg.drain()] == ["Lead"]  # once per lead
    assert len(tg.sent("sendMessage")) == 3


def test_two_bots_of_one_link(tg: TgEnv) -> None:
    """The link rotates between bots: each click belongs to the bot it sent the visitor to."""
    tg.click("TokForBotA0123456789ab", tg.bot_a)
    tg.click("TokForBotB0123456789ab", tg.bot_b)
    assert tg.start(MARIA, "TokForBotA0123456789ab", bot_id=tg.bot_a)[1]["outcome"] == "start_attributed"
    assert tg.start(MARIA, "TokForBotB0123456789ab", bot_id=tg.bot_b)[1]["outcome"] == "start_attributed"
    assert tg.lead(MARIA, tg.bot_a)["attribution"]["click_token"] == "TokForBotA0123456789ab"
    assert tg.lead(MARIA, tg.bot_b)["attribution"]["click_token"] == "TokForBotB0123456789ab"
    # bot B started with bot A's token: not B's click → organic
    assert tg.start(JOAO, "TokForBotA0123456789ab", bot_id=tg.bot_b)[1]["outcome"] == "start_organic_other_bot"
    assert {event["event_id"] for event in tg.drain()} == {
        f"lead_{tg.bot_a}_{MARIA}", f"lead_{tg.bot_b}_{MARIA}", f"lead_{tg.bot_b}_{JOAO}",
    }  # fmt: skip
    assert len(tg.sent("sendMessage", tg.bot_b)) == 2


def test_two_tenants_click_of_another_tenant_is_not_used(tg: TgEnv) -> None:
    tg.click("TokOtherTenant012345678", tg.bot_a, tenant="t_other")
    assert tg.start(MARIA, "TokOtherTenant012345678")[1]["outcome"] == "start_organic_other_tenant"
    assert "attribution" not in tg.lead(MARIA)
    # a lead key of this bot held by another tenant is never overwritten
    tg.table.put({"pk": f"LEAD#{tg.bot_a}#{JOAO}", "sk": "LEAD", "tenant_id": "t_other", "first_name": "X"})
    assert tg.start(JOAO) == (200, {"ok": True, "outcome": "foreign_lead"})
    assert tg.lead(JOAO)["first_name"] == "X"


def test_duplicate_update_is_handled_once(tg: TgEnv) -> None:
    tg.click("TokDup01234567890123456")
    update = tg.message(MARIA, "/start TokDup01234567890123456")
    assert tg.post(dict(update))[1]["outcome"] == "start_attributed"
    assert tg.post(dict(update)) == (200, {"ok": True, "outcome": "duplicate"})
    assert len(tg.touches(MARIA)) == 1
    assert len(tg.sent("sendMessage")) == 1
    assert len(tg.drain()) == 1
    callback = {"update_id": 777, "callback_query": {"id": "cb1", "from": {"id": MARIA, "is_bot": False,
                "first_name": "Maria"}, "chat_instance": "1", "data": "x:unknown",
                "message": {"message_id": 1, "date": 1, "chat": {"id": MARIA, "type": "private"}}}}  # fmt: skip
    assert tg.post(dict(callback))[1]["outcome"] == "callback_unknown"
    assert tg.post(dict(callback))[1]["outcome"] == "duplicate"
    assert len(tg.sent("answerCallbackQuery")) == 1
    marker = tg.table.get(f"TGUPDATE#{tg.bot_a}#777", "TGUPDATE")
    assert marker["expires_at"] > datetime.now(UTC).timestamp() + 86400


def test_group_messages_and_other_updates_are_ignored(tg: TgEnv) -> None:
    update = tg.message(MARIA, "/start")
    update["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "G"}
    assert tg.post(update)[1]["outcome"] == "ignored"
    assert tg.post({"edited_message": {"message_id": 1}})[1]["outcome"] == "ignored"
    assert tg.fake.recorded() == []


def test_text_message_shows_the_menu_and_creates_a_missing_lead(tg: TgEnv) -> None:
    assert tg.post(tg.message(MARIA, "quero comprar"))[1]["outcome"] == "menu"
    assert tg.lead(MARIA)["attributed"] is False
    assert tg.post(tg.message(MARIA, "/paysupport"))[1]["outcome"] == "paysupport"
    assert "Suporte" in tg.sent("sendMessage")[-1]["text"]


# -- Telegram errors ------------------------------------------------------------------------------


def test_blocked_user_marks_the_lead_not_the_bot(tg: TgEnv) -> None:
    tg.fake.block(MARIA, bot=tg.bot_a, times=None)
    status, body = tg.start(MARIA)
    assert (status, body["outcome"]) == (200, "user_unreachable")
    lead = tg.lead(MARIA)
    assert lead["reachable"] is False and lead["unreachable_reason"] == "blocked_bot"
    assert tg.table.get(f"BOT#{tg.bot_a}", "BOT")["health"]["status"] == "healthy"
    assert tg.start(JOAO)[1]["outcome"] == "start_organic_no_token"  # the bot serves others


def test_rate_limited_reply_is_released_for_redelivery(tg: TgEnv) -> None:
    tg.click("TokRate0123456789012345")
    tg.fake.rate_limit(3, bot=tg.bot_a, method="sendMessage")
    update = tg.message(MARIA, "/start TokRate0123456789012345")
    assert tg.post(dict(update))[0] == 503  # Telegram redelivers
    assert tg.lead(MARIA)["attributed"] is True  # the lead exists already
    assert tg.post(dict(update))[1]["outcome"] == "start_attributed"  # the redelivery is served
    assert len(tg.sent("sendMessage")) == 1
    assert [event["kind"] for event in tg.drain()] == ["Lead"]  # still once
    assert len(tg.touches(MARIA)) == 1


def test_revoked_token_marks_the_bot_unhealthy(tg: TgEnv) -> None:
    tg.fake.revoke_token(tg.bot()["token"])
    status, body = tg.start(MARIA)
    assert (status, body["outcome"]) == (200, "bot_token_invalid")
    health = tg.table.get(f"BOT#{tg.bot_a}", "BOT")["health"]
    assert health["status"] == "token_invalid" and health["reason"] == "telegram_401"
    # links now skip it (funil.click.links keeps only healthy bots)
    from funil.click.links import bot_is_eligible

    assert not bot_is_eligible(tg.table.get(f"BOT#{tg.bot_a}", "BOT"), tg.tenant)
    assert bot_is_eligible(tg.table.get(f"BOT#{tg.bot_b}", "BOT"), tg.tenant)
