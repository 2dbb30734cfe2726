"""Pure parts of the bot: update parsing, click resolution, the lead plan, texts, keyboards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from funil.bot import leads, menu, texts
from funil.bot.models import Offer
from funil.bot.updates import Person, parse, parse_command, start_token
from funil.bot.views import BotView, OfferView
from funil.clock import iso, to_epoch_s
from funil.messages import ConversionMessage, ConversionRefs, EventKind
from hypothesis import given
from hypothesis import strategies as st

NOW = datetime(2026, 11, 22, 18, 30, tzinfo=UTC)


def bot(**changes: Any) -> BotView:
    fields: dict[str, Any] = {
        "bot_id": "bot_a", "tenant_id": "t1", "username": "FunilDemoABot", "enabled": True,
        "health_status": "healthy", "token_ciphertext": "x", "webhook_secret_ciphertext": "y",
        "pixel_id": "px_bot", "welcome_text": None, "support_text": None, "pix_expires_minutes": 60,
        "offers": (OfferView("vip", "VIP <30 dias>", "Grupo & conteúdo", 1990, "BRL", 150, True),),
    }  # fmt: skip
    fields.update(changes)
    return BotView(**fields)


def click(**changes: Any) -> dict[str, Any]:
    item = {
        "token": "T" * 22, "tenant_id": "t1", "bot_id": "bot_a", "pixel_id": "px_link", "link_slug": "demo",
        "clicked_at": iso(NOW - timedelta(hours=1)), "attribution_ends_at": iso(NOW + timedelta(days=6)),
        "expires_at": to_epoch_s(NOW + timedelta(days=8)), "fbc": "fb.1.1.abc", "ip": "203.0.113.9", "utm": {},
    }  # fmt: skip
    item.update(changes)
    return item


def test_commands() -> None:
    assert parse_command("/start abc", "FunilDemoABot").argument == "abc"  # type: ignore[union-attr]
    assert parse_command("/start@FunilDemoABot abc", "FunilDemoABot").name == "start"  # type: ignore[union-attr]
    assert parse_command("/start@OtherBot abc", "FunilDemoABot") is None
    assert parse_command("/START", "x").name == "start"  # type: ignore[union-attr]
    assert parse_command("hello", "x") is None
    command = parse_command("/start " + "a" * 65, "x")
    assert command is not None and start_token(command) is None
    command = parse_command("/start a-b_C9", "x")
    assert command is not None and start_token(command) == "a-b_C9"


def test_parse_kinds() -> None:
    sender = {"id": 7, "is_bot": False, "first_name": "Ana", "language_code": "pt-br"}
    private = {"id": 7, "type": "private"}
    assert (
        parse({"update_id": 1, "message": {"from": sender, "chat": private, "text": "/start x", "date": 1}}, "b").kind
        == "command"
    )
    assert parse({"update_id": 1, "message": {"from": sender, "chat": private, "text": "oi"}}, "b").kind == "text"
    assert (
        parse(
            {"update_id": 1, "message": {"from": {**sender, "is_bot": True}, "chat": private, "text": "/start"}}, "b"
        ).kind
        == "other"
    )
    paid = {"update_id": 1, "message": {"from": sender, "chat": private, "successful_payment": {"currency": "XTR"}}}
    assert parse(paid, "b").kind == "successful_payment"
    assert parse({"update_id": 1, "pre_checkout_query": {"id": "q", "from": sender}}, "b").kind == "pre_checkout"
    assert parse({"update_id": 1, "poll": {}}, "b").kind == "other"
    with pytest.raises(ValueError, match="update_id"):
        parse({"message": {}}, "b")
    with pytest.raises(ValueError, match="update_id"):
        parse({"update_id": True}, "b")  # fmt: skip


def test_person_profile_bounded() -> None:
    person = Person.from_user({"id": 1, "first_name": "A" * 100, "username": "u", "is_premium": True})
    assert person is not None and len(person.first_name or "") == 64
    assert person.profile() == {"first_name": "A" * 64, "username": "u", "is_premium": True}
    assert Person.from_user({"id": "1"}) is None


@pytest.mark.parametrize(
    ("item", "token", "reason"),
    [
        (click(), "T" * 22, "click"),
        (None, None, "no_token"),
        (None, "T" * 22, "unknown_token"),
        (click(tenant_id="t2"), "T" * 22, "other_tenant"),
        (click(bot_id="bot_b"), "T" * 22, "other_bot"),
        (click(attribution_ends_at=iso(NOW - timedelta(seconds=1))), "T" * 22, "expired"),
        (click(expires_at=to_epoch_s(NOW)), "T" * 22, "expired"),
        (click(attribution_ends_at="garbage"), "T" * 22, "expired"),
        (click(token="U" * 22), "T" * 22, "unknown_token"),
    ],
)
def test_resolve_click(item: dict[str, Any] | None, token: str | None, reason: str) -> None:
    touch = leads.resolve_click(item, bot(), token, NOW)
    assert touch.reason == reason
    assert touch.attributed is (reason == "click")


def test_plan_start_first_time_and_again() -> None:
    person = Person(7, "Ana", None, "ana", "pt-br")
    touch = leads.resolve_click(click(), bot(), "T" * 22, NOW)
    plan = leads.plan_start(bot(), person, touch, None, update_id=5, started_at=NOW, now=NOW)
    assert plan.lead_event is not None and plan.lead_event.pixel_id == "px_link"
    assert plan.lead_event.event_id == "lead_bot_a_7"
    assert plan.values[":attribution"]["fbc"] == "fb.1.1.abc" and plan.values[":attribution"]["click_token"] == "T" * 22
    assert plan.touch_item["sk"] == f"TOUCH#{iso(NOW)}#{'T' * 22}"
    again = leads.plan_start(bot(), person, touch, {"lead_event_at": "x"}, update_id=6, started_at=NOW, now=NOW)
    assert again.lead_event is None and "lead_event_at" not in again.expression


IDS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)


@given(
    bot_id=IDS,
    tenant_id=IDS,
    pixel_id=st.from_regex(r"[0-9]{1,20}", fullmatch=True),
    user_id=st.integers(min_value=1, max_value=2**53),
    started_at=st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)),
    token=st.none() | st.from_regex(r"[A-Za-z0-9_-]{22}", fullmatch=True),
)
def test_the_lead_message_is_what_the_conversion_model_reads(
    bot_id: str, tenant_id: str, pixel_id: str, user_id: int, started_at: datetime, token: str | None
) -> None:
    """Built without pydantic on the webhook, read by the sender's model: the same event either way."""
    view = bot(bot_id=bot_id, tenant_id=tenant_id, pixel_id=pixel_id)
    touch = leads.Touch(token, True, "click", {"pixel_id": pixel_id}) if token else leads.Touch(None, False, "no_token")
    plan = leads.plan_start(view, Person(user_id), touch, None, update_id=1, started_at=started_at, now=NOW)
    assert plan.lead_event is not None
    expected = ConversionMessage(
        kind=EventKind.LEAD,
        event_id=f"lead_{bot_id}_{user_id}",
        tenant_id=tenant_id,
        pixel_id=pixel_id,
        occurred_at=started_at,
        refs=ConversionRefs(bot_id=bot_id, telegram_user_id=user_id, click_token=token),
    )
    read = ConversionMessage.model_validate_json(plan.lead_event.to_json())
    assert read == expected
    assert read.model_dump_json() == expected.model_dump_json()


def test_organic_lead_without_any_pixel_sends_no_lead_event() -> None:
    person = Person(7)
    touch = leads.resolve_click(None, bot(pixel_id=None), None, NOW)
    plan = leads.plan_start(bot(pixel_id=None), person, touch, None, update_id=5, started_at=NOW, now=NOW)
    assert plan.lead_event is None and "attribution =" not in plan.expression


def test_welcome_escapes_and_formats() -> None:
    text = texts.welcome(bot(), "<b>Ana</b>")
    assert "&lt;b&gt;Ana&lt;/b&gt;" in text and "VIP &lt;30 dias&gt;" in text and "R$ 19,90" in text
    assert "150 Stars" in text
    assert texts.welcome(bot(offers=()), None).endswith(texts.NO_OFFERS)
    assert texts.brl(123456789) == "R$ 1.234.567,89" and texts.brl(5) == "R$ 0,05"


def test_keyboard_callback_data_within_64_bytes() -> None:
    long_id = "o" * 40
    view = bot(offers=(OfferView(long_id, "T" * 32, "", 100, "BRL", 10, True),))
    rows = menu.offers_keyboard(view)
    for row in rows:
        for button in row:
            assert button.callback_data is not None and len(button.callback_data.encode()) <= 64
            assert len(button.text) <= 64
    with pytest.raises(ValueError, match="offer_id"):
        Offer(tenant_id="t", bot_id="b", offer_id="o" * 41, title="x", price_cents=1)


def test_bot_view_keeps_only_its_tenants_enabled_offers() -> None:
    items = [
        {"pk": "BOT#b", "sk": "BOT", "bot_id": "b", "tenant_id": "t1", "username": "B"},
        {"sk": "OFFER#a", "offer_id": "a", "tenant_id": "t1", "title": "A", "price_cents": 100, "position": 2},
        {"sk": "OFFER#z", "offer_id": "z", "tenant_id": "t1", "title": "Z", "price_cents": 100, "position": 1},
        {"sk": "OFFER#off", "offer_id": "off", "tenant_id": "t1", "title": "O", "price_cents": 100, "enabled": False},
        {"sk": "OFFER#x", "offer_id": "x", "tenant_id": "t2", "title": "X", "price_cents": 100},
    ]
    view = BotView.from_items("b", items)
    assert view is not None and [offer.offer_id for offer in view.offers] == ["z", "a"]
    assert BotView.from_items("b", items[1:]) is None


def test_parse_contact() -> None:
    sender = {"id": 7, "is_bot": False, "first_name": "Ana"}
    private = {"id": 7, "type": "private"}
    own = {"phone_number": "5511987654321", "first_name": "Ana", "user_id": 7}
    incoming = parse({"update_id": 1, "message": {"from": sender, "chat": private, "date": 1, "contact": own}}, "b")
    assert incoming.kind == "contact" and incoming.contact is not None and incoming.person is not None
    assert incoming.contact.is_senders(incoming.person)
    card = {"phone_number": "+55 21 98765-0000", "first_name": "Bia"}  # a card without a Telegram user
    incoming = parse({"update_id": 2, "message": {"from": sender, "chat": private, "date": 1, "contact": card}}, "b")
    assert incoming.contact is not None and incoming.person is not None
    assert not incoming.contact.is_senders(incoming.person)
    with pytest.raises(ValueError):
        parse({"update_id": 3, "message": {"from": sender, "chat": private, "contact": {"phone_number": 5511}}}, "b")


def test_phone_step_setting_and_number() -> None:
    from funil.bot import phone

    offer = Offer(tenant_id="t1", bot_id="bot_a", offer_id="vip", title="VIP", price_cents=1990)
    assert offer.ask_phone is False  # never asked unless the offer says so
    view = OfferView.from_item({**offer.to_item(), "ask_phone": True})
    assert phone.wanted(view, {}) and not phone.wanted(view, {"phone": "+5511987654321"})
    assert not phone.wanted(view, {"phone_declined_at": iso(NOW)})
    assert phone.international("5511987654321") == "+5511987654321"
    assert phone.international("+55 (11) 8765-4321") == "+5511987654321"  # ninth digit, as Meta matches it
    assert phone.international("+351 912 345 678") == "+351912345678"
    assert phone.international("123") is None
