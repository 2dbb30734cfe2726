"""The optional phone step through the Telegram webhook on moto, with the fake Bot API held to the spec.

An offer with ``ask_phone`` offers Telegram's share-my-phone button after the PIX; the shared
contact (events/telegram_contact.json: an Update whose message carries the Bot API's Contact
object, checked against the spec oracle below) becomes the lead's phone, which the conversions
builder sends (hashed) when the payer gave none.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from funil.conversions.builder import BuildSettings, BuildStatus, build_event
from funil.conversions.hashing import sha256_hex
from funil.conversions.sources import SourceLoader
from funil.messages import ConversionMessage, ConversionRefs, EventKind

from local.fakes.telegram_api import validate_object
from tests.unit.bot.telegram_harness import TgEnv, load_event

MARIA = 5550001  # the sender of events/telegram_contact.json
SHARE, SKIP = "📱 Compartilhar meu telefone", "Pular"


def contact_update(**contact: Any) -> dict[str, Any]:
    update: dict[str, Any] = json.loads(load_event("telegram_contact.json")["body"])
    update["message"]["contact"].update(contact)
    update["message"]["contact"] = {k: v for k, v in update["message"]["contact"].items() if v is not None}
    return update


def ask_phone_on(tg: TgEnv, offer_id: str = "grupo_vip") -> None:
    """The offer setting, before the first update (the webhook caches the bot and its offers)."""
    tg.table.update(f"BOT#{tg.bot_a}", f"OFFER#{offer_id}", "SET ask_phone = :yes", {":yes": True})


def phone_prompts(tg: TgEnv) -> list[dict[str, Any]]:
    return [call for call in tg.sent("sendMessage") if "keyboard" in (call.get("reply_markup") or {})]


def keyboard_removals(tg: TgEnv) -> list[dict[str, Any]]:
    return [call for call in tg.sent("sendMessage") if (call.get("reply_markup") or {}).get("remove_keyboard")]


def test_the_contact_fixture_is_an_update_telegram_can_send() -> None:
    update = json.loads(load_event("telegram_contact.json")["body"])
    assert validate_object("Update", update) == []
    assert update["message"]["contact"]["user_id"] == update["message"]["from"]["id"] == MARIA


def test_without_the_offer_setting_no_phone_is_asked(tg: TgEnv) -> None:
    tg.start(MARIA)
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "pix_created"
    assert phone_prompts(tg) == []


def test_the_phone_step_follows_the_pix_with_a_contact_button_and_a_skip(tg: TgEnv) -> None:
    ask_phone_on(tg)
    tg.start(MARIA)
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "pix_created"
    methods = [call["method"] for call in tg.fake.recorded(tg.bot_a) if call["method"] != "answerCallbackQuery"]
    assert methods[-2:] == ["sendPhoto", "sendMessage"]  # the PIX first: the step never holds the sale up
    [prompt] = phone_prompts(tg)
    markup = prompt["reply_markup"]
    assert markup["keyboard"] == [[{"text": SHARE, "request_contact": True}], [{"text": SKIP}]]
    assert markup["one_time_keyboard"] is True
    assert "phone" not in (tg.lead(MARIA) or {})


def test_a_shared_contact_becomes_the_leads_phone_and_reaches_the_purchase(tg: TgEnv) -> None:
    ask_phone_on(tg)
    tg.start(MARIA)
    tg.callback(MARIA, "b:grupo_vip")
    status, body = tg.post(contact_update())
    assert (status, body["outcome"]) == (200, "contact_stored")
    lead = tg.lead(MARIA) or {}
    assert lead["phone"] == "+5511987654321"
    assert lead["phone_source"] == "telegram_contact" and lead["phone_shared_at"]
    assert len(keyboard_removals(tg)) == 1
    # Asked once: another offer's checkout does not ask again.
    ask_phone_on(tg, "curso")
    tg.callback(MARIA, "b:curso")
    assert len(phone_prompts(tg)) == 1
    # The sender's loader and builder on what the webhook stored: the Purchase carries ph (no payer item).
    [payment, *_] = tg.payments(MARIA)
    now = datetime.now(UTC)
    purchase = ConversionMessage(
        kind=EventKind.PURCHASE,
        event_id=f"purchase_{payment['payment_id']}",
        tenant_id=tg.tenant,
        pixel_id=tg.seed.pixel_id,
        occurred_at=now,
        refs=ConversionRefs(payment_id=payment["payment_id"]),
    )
    from funil.adapters.dynamo import Table

    [sources] = SourceLoader(Table(tg.resources.tables["AppTable"])).load([purchase], now)
    built = build_event(purchase, sources, BuildSettings("https://funil.example.com"), now)
    assert built.status is BuildStatus.READY and built.event is not None
    assert built.event["user_data"]["ph"] == sha256_hex("5511987654321")


def test_someone_elses_contact_is_not_stored(tg: TgEnv) -> None:
    ask_phone_on(tg)
    tg.start(MARIA)
    assert tg.post(contact_update(user_id=5550099))[1]["outcome"] == "contact_not_own"
    card = contact_update(user_id=None)  # a contact card without a Telegram user
    card["update_id"] += 1
    assert tg.post(card)[1]["outcome"] == "contact_not_own"
    assert "phone" not in (tg.lead(MARIA) or {})


def test_skipping_is_remembered(tg: TgEnv) -> None:
    ask_phone_on(tg)
    tg.start(MARIA)
    tg.callback(MARIA, "b:grupo_vip")
    assert tg.post(tg.message(MARIA, SKIP))[1]["outcome"] == "phone_skipped"
    assert (tg.lead(MARIA) or {})["phone_declined_at"]
    assert len(keyboard_removals(tg)) == 1
    ask_phone_on(tg, "curso")
    tg.callback(MARIA, "b:curso")
    assert len(phone_prompts(tg)) == 1  # not asked again
    assert tg.post(tg.message(MARIA, "oi"))[1]["outcome"] == "menu"  # other text is still the menu
