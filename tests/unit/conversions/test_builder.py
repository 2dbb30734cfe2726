"""Golden cases of the event builder (pure: no AWS)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from facebook_business.adobjects.serverside.normalize import Normalize
from funil import clock
from funil.conversions.browser import browser_purchase, purchase_event_id
from funil.conversions.builder import (
    REDACTED,
    BuildSettings,
    BuildStatus,
    Sources,
    build_event,
    external_id_for,
    match_quality,
)
from funil.conversions.hashing import sha256_hex
from funil.messages import EventKind

from tests.unit.conversions.factories import (
    BASE_URL,
    CLICKED_AT,
    FBC,
    FBP,
    IP,
    NOW,
    PAID_AT,
    PAYMENT,
    TENANT,
    TG_USER,
    TOKEN,
    UA,
    click_item,
    lead_item,
    message,
    payer_item,
    payment_item,
    pixel_item,
)

SETTINGS = BuildSettings(BASE_URL)
WEB_KEYS = {"client_ip_address": IP, "client_user_agent": UA, "fbc": FBC, "fbp": FBP}
EXTERNAL_ID = sha256_hex(f"funil:{TENANT}:tg:{TG_USER}")
BRAZIL = Normalize.normalize_field("country", "BR")  # the tenant's default country, hashed by Meta's SDK


def test_page_view_golden() -> None:
    built = build_event(message(EventKind.PAGE_VIEW), Sources(pixel=pixel_item(), click=click_item()), SETTINGS, NOW)
    assert built.status is BuildStatus.READY
    assert built.event == {
        "event_name": "PageView",
        "event_time": clock.to_epoch_s(CLICKED_AT),
        "event_id": f"pv_{TOKEN}",
        "action_source": "website",
        "event_source_url": "https://funil.example.com/go/demo",
        "user_data": WEB_KEYS,
    }
    assert built.match_quality is not None
    assert built.match_quality.score == 5.0
    assert built.match_quality.grade == "good"


def test_purchase_golden() -> None:
    sources = Sources(pixel=pixel_item(), payment=payment_item(), lead=lead_item(), payer=payer_item())
    built = build_event(message(EventKind.PURCHASE), sources, SETTINGS, NOW)
    assert built.status is BuildStatus.READY
    assert built.event == {
        "event_name": "Purchase",
        "event_time": clock.to_epoch_s(PAID_AT),
        "event_id": f"purchase_{PAYMENT}",
        "action_source": "website",
        "event_source_url": "https://funil.example.com/go/demo",
        "user_data": {
            # Meta's SDK on the same values (or their documented equivalents, docs/conversions.md)
            "em": Normalize.normalize_field("em", " Joao.Silva@Gmail.com "),
            "ph": Normalize.normalize_field("ph", "+55 11 98765-4321"),
            "fn": Normalize.normalize_field("fn", "JOÃO"),  # the payer's name, not Telegram's "João 🔥"
            "ln": Normalize.normalize_field("ln", "SILVA"),
            "ct": Normalize.normalize_field("ct", "São Paulo"),
            "st": Normalize.normalize_field("st", "SP"),
            "zp": Normalize.normalize_field("zp", "01310100"),
            "country": BRAZIL,
            "external_id": EXTERNAL_ID,
            **WEB_KEYS,
        },
        "custom_data": {
            "value": 49.9,
            "currency": "BRL",
            "content_ids": ["vip_mensal"],
            "contents": [{"id": "vip_mensal", "quantity": 1, "item_price": 49.9}],
            "content_type": "product",
            "num_items": 1,
            "content_name": "VIP mensal",
            "order_id": PAYMENT,
        },
    }
    assert built.match_quality is not None
    assert (built.match_quality.score, built.match_quality.grade) == (10.0, "great")


def test_purchase_time_is_paid_at_not_message_time() -> None:
    later = NOW + timedelta(minutes=3)
    built = build_event(
        message(EventKind.PURCHASE, occurred_at=later),
        Sources(pixel=pixel_item(), payment=payment_item()),
        SETTINGS,
        later,
    )
    assert built.event_time == clock.to_epoch_s(PAID_AT)


def test_lead_golden_with_attribution_snapshot() -> None:
    built = build_event(message(EventKind.LEAD), Sources(pixel=pixel_item(), lead=lead_item()), SETTINGS, NOW)
    assert built.status is BuildStatus.READY
    assert built.event == {
        "event_name": "Lead",
        "event_time": clock.to_epoch_s(NOW),
        "event_id": f"lead_bot_demo_a_{TG_USER}",
        "action_source": "website",
        "event_source_url": "https://funil.example.com/go/demo",
        "user_data": {
            "fn": sha256_hex("joão"),
            "ln": sha256_hex("dávila"),
            "country": BRAZIL,
            "external_id": EXTERNAL_ID,
            **WEB_KEYS,
        },
    }


def test_organic_lead_on_a_website_pixel_is_sent_as_chat() -> None:
    lead = lead_item(attribution=None, first_name="Ana", last_name=None)
    built = build_event(message(EventKind.LEAD), Sources(pixel=pixel_item(), lead=lead), SETTINGS, NOW)
    assert built.status is BuildStatus.READY
    assert built.event is not None
    assert built.event["action_source"] == "chat"
    assert "event_source_url" not in built.event
    assert built.event["user_data"] == {"fn": sha256_hex("ana"), "country": BRAZIL, "external_id": EXTERNAL_ID}
    assert built.notes == ("website_without_click_sent_as_chat",)


def test_chat_pixel_has_no_source_url() -> None:
    built = build_event(
        message(EventKind.PURCHASE),
        Sources(pixel=pixel_item(action_source="chat"), payment=payment_item()),
        SETTINGS,
        NOW,
    )
    assert built.event is not None
    assert built.event["action_source"] == "chat"
    assert "event_source_url" not in built.event
    assert built.event["user_data"]["fbc"] == FBC


def test_initiate_checkout_golden() -> None:
    built = build_event(
        message(EventKind.INITIATE_CHECKOUT), Sources(pixel=pixel_item(), payment=payment_item()), SETTINGS, NOW
    )
    assert built.event == {
        "event_name": "InitiateCheckout",
        "event_time": clock.to_epoch_s(PAID_AT - timedelta(minutes=5)),
        "event_id": f"ic_{PAYMENT}",
        "action_source": "website",
        "event_source_url": "https://funil.example.com/go/demo",
        "user_data": {"country": BRAZIL, "external_id": EXTERNAL_ID, **WEB_KEYS},
        "custom_data": {
            "value": 49.9,
            "currency": "BRL",
            "content_ids": ["vip_mensal"],
            "contents": [{"id": "vip_mensal", "quantity": 1, "item_price": 49.9}],
            "content_type": "product",
            "num_items": 1,
            "content_name": "VIP mensal",
        },
    }


def test_refund_is_a_custom_event_with_the_order() -> None:
    refunded_at = NOW - timedelta(minutes=1)
    payment = payment_item(status="refunded", refunded_at=clock.iso(refunded_at))
    built = build_event(message(EventKind.REFUND), Sources(pixel=pixel_item(), payment=payment), SETTINGS, NOW)
    assert built.event is not None
    assert built.event["event_name"] == "Refund"
    assert built.event["event_id"] == f"refund_{PAYMENT}"
    assert built.event["event_time"] == clock.to_epoch_s(refunded_at)
    assert built.event["custom_data"]["order_id"] == PAYMENT
    assert built.event["custom_data"]["value"] == 49.9


def test_stars_purchase_uses_the_fiat_equivalent_or_is_invalid() -> None:
    stars = payment_item(currency="XTR", amount_cents=250, fiat_amount_cents=2490, fiat_currency="brl")
    built = build_event(message(EventKind.PURCHASE), Sources(pixel=pixel_item(), payment=stars), SETTINGS, NOW)
    assert built.event is not None
    assert built.event["custom_data"]["value"] == 24.9
    assert built.event["custom_data"]["currency"] == "BRL"
    bare = payment_item(currency="XTR", amount_cents=250)
    built = build_event(message(EventKind.PURCHASE), Sources(pixel=pixel_item(), payment=bare), SETTINGS, NOW)
    assert (built.status, built.reason) == (BuildStatus.INVALID, "payment_without_fiat_value")


def test_event_older_than_seven_days_is_expired() -> None:
    old = NOW - timedelta(days=7, minutes=1)
    built = build_event(
        message(EventKind.PAGE_VIEW), Sources(pixel=pixel_item(), click=click_item(clicked_at=old)), SETTINGS, NOW
    )
    assert (built.status, built.reason) == (BuildStatus.EXPIRED, "older_than_7_days")
    assert built.event is None


def test_event_time_is_never_in_the_future_and_a_recorded_time_wins() -> None:
    future = NOW + timedelta(minutes=10)
    payment = payment_item(paid_at=clock.iso(future))
    built = build_event(message(EventKind.PURCHASE), Sources(pixel=pixel_item(), payment=payment), SETTINGS, NOW)
    assert built.event_time == clock.to_epoch_s(NOW)
    retry = build_event(
        message(EventKind.PURCHASE),
        Sources(pixel=pixel_item(), payment=payment),
        SETTINGS,
        NOW + timedelta(minutes=20),
        event_time=clock.to_epoch_s(NOW),
    )
    assert retry.event_time == clock.to_epoch_s(NOW)


@pytest.mark.parametrize(
    ("pixel", "pixel_id", "reason"),
    [
        (None, None, "no_pixel"),
        (None, "px_demo", "no_pixel"),
        (pixel_item(tenant_id="t_other"), "px_demo", "pixel_of_another_tenant"),
        (pixel_item(enabled=False), "px_demo", "pixel_disabled"),
        (pixel_item(events={"PageView": False}), "px_demo", "event_switched_off"),
    ],
)
def test_skips(pixel: dict | None, pixel_id: str | None, reason: str) -> None:
    built = build_event(
        message(EventKind.PAGE_VIEW, pixel_id=pixel_id), Sources(pixel=pixel, click=click_item()), SETTINGS, NOW
    )
    assert (built.status, built.reason) == (BuildStatus.SKIPPED, reason)


def test_a_sale_whose_buyer_was_erased_is_skipped_not_sent_nor_dead_lettered() -> None:
    erased = payment_item(anonymised_at=clock.iso(NOW))
    for kind in (EventKind.PURCHASE, EventKind.REFUND):
        built = build_event(message(kind), Sources(pixel=pixel_item(), payment=erased), SETTINGS, NOW)
        assert (built.status, built.reason, built.event) == (BuildStatus.SKIPPED, "subject_erased", None)


def test_missing_or_foreign_sources_are_invalid() -> None:
    built = build_event(message(EventKind.PURCHASE), Sources(pixel=pixel_item()), SETTINGS, NOW)
    assert (built.status, built.reason) == (BuildStatus.INVALID, "payment_not_found")
    foreign = payment_item(tenant_id="t_other")
    built = build_event(message(EventKind.PURCHASE), Sources(pixel=pixel_item(), payment=foreign), SETTINGS, NOW)
    assert (built.status, built.reason) == (BuildStatus.INVALID, "payment_of_another_tenant")


def test_page_view_without_user_agent_is_invalid_on_a_website_pixel() -> None:
    click = click_item()
    del click["user_agent"]
    built = build_event(message(EventKind.PAGE_VIEW), Sources(pixel=pixel_item(), click=click), SETTINGS, NOW)
    assert (built.status, built.reason) == (BuildStatus.INVALID, "website_event_without_user_agent")


def test_no_synthetic_values() -> None:
    """Nothing is made up: no e-mail/phone from Telegram ids, no geo guessed from the IP."""
    built = build_event(message(EventKind.LEAD), Sources(pixel=pixel_item(), lead=lead_item()), SETTINGS, NOW)
    assert built.event is not None
    assert set(built.event["user_data"]) == {"fn", "ln", "country", "external_id", *WEB_KEYS}


def test_invalid_cookies_are_not_sent() -> None:
    click = click_item(fbc="garbage", fbp="fb.1.x")
    built = build_event(message(EventKind.PAGE_VIEW), Sources(pixel=pixel_item(), click=click), SETTINGS, NOW)
    assert built.event is not None
    assert "fbc" not in built.event["user_data"]
    assert "fbp" not in built.event["user_data"]


def test_match_quality_scoring() -> None:
    assert match_quality({}).score == 0.0
    assert match_quality({"client_ip_address": "x", "client_user_agent": "y"}).score == 1.5
    assert match_quality({"em": "h", "ph": "h", "fbc": "c", "fbp": "p"}).grade == "great"
    assert match_quality({"fbp": "p", "client_ip_address": "x"}).grade == "poor"


def test_stored_payload_has_no_raw_ip_or_user_agent() -> None:
    built = build_event(message(EventKind.PAGE_VIEW), Sources(pixel=pixel_item(), click=click_item()), SETTINGS, NOW)
    stored = built.stored_payload()
    assert stored is not None
    assert stored["user_data"]["client_ip_address"] == REDACTED
    assert stored["user_data"]["client_user_agent"] == REDACTED
    assert built.event is not None
    assert built.event["user_data"]["client_ip_address"] == IP


def test_external_id_is_per_tenant() -> None:
    assert external_id_for("t1", 42) != external_id_for("t2", 42)
    assert external_id_for("t1", None) is None


def test_browser_purchase_matches_the_server_event() -> None:
    payment = payment_item()
    browser = browser_purchase(payment)
    assert browser is not None
    server = build_event(message(EventKind.PURCHASE), Sources(pixel=pixel_item(), payment=payment), SETTINGS, NOW)
    assert server.event is not None
    assert browser.event_id == server.event["event_id"] == purchase_event_id(PAYMENT)
    assert (browser.value, browser.currency) == (server.event["custom_data"]["value"], "BRL")
    assert browser.fbq_args() == (
        "track",
        "Purchase",
        {"value": 49.9, "currency": "BRL", "content_ids": ["vip_mensal"], "content_type": "product"},
        {"eventID": f"purchase_{PAYMENT}"},
    )
    assert browser_purchase(payment_item(currency="XTR")) is None


def test_website_events_need_the_public_base_url() -> None:
    built = build_event(
        message(EventKind.PAGE_VIEW), Sources(pixel=pixel_item(), click=click_item()), BuildSettings(""), NOW
    )
    assert (built.status, built.reason) == (BuildStatus.INVALID, "public_base_url_not_configured")
    chat = build_event(
        message(EventKind.PAGE_VIEW),
        Sources(pixel=pixel_item(action_source="chat"), click=click_item()),
        BuildSettings(""),
        NOW,
    )
    assert chat.status is BuildStatus.READY
