"""The sale debugger's logic (``funil.analytics.trace``) on items of the stored shapes, in moto's table.

The whole chain through the real functions is ``tests/integration/test_admin_trace.py``; here, what a
sale seldom shows there: the order of steps of one instant, expired and anonymised data, events
queued without an outcome, the bounds of every read and the tenant's walls.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from funil import keys
from funil.analytics import trace
from funil.analytics.trace import TraceNotFound, sale_trace
from funil.bot.leads import Touch
from funil.click.fields import click_item_from_fields
from funil.clock import iso, to_epoch_s
from funil.payments.models import Payment

TENANT = "t_loja"
BOT = "bot_loja"
USER = 5550001
PIXEL = "px_loja"
NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
CLICKED = NOW - timedelta(hours=2)
UA = "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36 Instagram 350.0"


def at(moment: datetime) -> str:
    return iso(moment)


def put_click(table: Any, token: str, *, clicked: datetime = CLICKED, tenant: str = TENANT, **fields: Any) -> None:
    ends = clicked + timedelta(days=7)
    table.put(
        click_item_from_fields(
            {
                "token": token, "tenant_id": tenant, "link_slug": "promo", "bot_id": BOT, "pixel_id": PIXEL,
                "clicked_at": at(clicked), "attribution_ends_at": at(ends),
                "expires_at": to_epoch_s(ends + timedelta(days=2)), "click_ids": {"fbclid": "IwAR-secret-click"},
                "utm": {"utm_source": "facebook", "utm_campaign": "bf"}, "ad": {"ad_id": "a1", "ad_name": "Video"},
                "fbp": "fb.1.1700000000000.99887766", "ip": "203.0.113.7", "user_agent": UA,
                "geo": {"country": "BR", "region": "SP", "city": "Campinas", "latitude": "-22.9"},
                **fields,
            }
        )
    )  # fmt: skip


def snapshot(token: str, clicked: datetime = CLICKED, **extra: Any) -> dict[str, Any]:
    """A click's attribution as the bot copies it onto a lead and a payment."""
    return {
        "click_token": token, "link_slug": "promo", "pixel_id": PIXEL, "clicked_at": at(clicked),
        "utm": {"utm_source": "facebook", "utm_campaign": "bf"}, "ad": {"ad_id": "a1", "ad_name": "Video"},
        "fbp": "fb.1.1700000000000.99887766", "ip_hmac": "hmac-of-the-ip-0123456", "ip_anon": "203.0.113.0",
        "visitor": {"device": "mobile", "os": "android", "browser": "webview", "in_app": "instagram"},
        **extra,
    }  # fmt: skip


def put_lead(
    table: Any, *, user: int = USER, tenant: str = TENANT, last_start: datetime = CLICKED, **fields: Any
) -> None:
    pk, sk = keys.lead(BOT, user)
    table.put(
        {
            "pk": pk, "sk": sk, "type": "lead", "tenant_id": tenant, "bot_id": BOT, "telegram_user_id": user,
            "first_name": "Joana", "phone": "+5511999990000", "pixel_id": PIXEL, "last_start_at": at(last_start),
            **keys.bot_leads_index(BOT, at(last_start)), **fields,
        }
    )  # fmt: skip


def put_touch(
    table: Any, started: datetime, token: str | None, *, user: int = USER, clicked: datetime = CLICKED
) -> None:
    touch = Touch(token, True, "click", snapshot(str(token), clicked)) if token else Touch(None, False, "no_token")
    pk, sk = keys.touch(BOT, user, at(started), token)
    item = {"pk": pk, "sk": sk, "type": "touch", "tenant_id": TENANT, "bot_id": BOT, "telegram_user_id": user}
    table.put({**item, **touch.summary(at(started))})


def put_payment(
    table: Any, *, created: datetime, token: str | None = "tok_a", user: int | None = USER, **fields: Any
) -> str:
    payment = Payment.new(
        tenant_id=TENANT,
        amount_cents=4990,
        now=created,
        bot_id=BOT if user is not None else None,
        telegram_user_id=user,
        offer_id="curso",
        offer_name="Curso",
        pixel_id=PIXEL,
        gateway_id="gw_loja",
        attribution=snapshot(token) if token else {},
    )
    table.put({**payment.to_item(), **fields})
    if user is not None:
        pk, sk = keys.lead_payment(BOT, user, payment.payment_id)
        link = {"type": "lead_payment", "tenant_id": TENANT, "payment_id": payment.payment_id}
        table.put({"pk": pk, "sk": sk, **link, "created_at": at(created)})
    return payment.payment_id


def put_conversion(table: Any, pixel: str | None, event_id: str, **fields: Any) -> None:
    pk, sk = keys.conversion_record(pixel, event_id)
    table.put({"pk": pk, "sk": sk, "type": "capi_delivery", "tenant_id": TENANT, "event_id": event_id, **fields})


def steps(found: trace.Trace) -> list[str]:
    return [event.step for event in found.events]


def of_step(found: trace.Trace, step: str) -> list[trace.TraceEvent]:
    return [event for event in found.events if event.step == step]


def traced(table: Any, **subject: Any) -> trace.Trace:
    return sale_trace(table, TENANT, now=NOW, **subject)


# -- the order of a timeline ------------------------------------------------------------------------


def test_a_start_dated_to_the_second_never_comes_before_its_click_and_one_instant_keeps_the_chains_order(
    table: Any,
) -> None:
    clicked = datetime(2026, 11, 28, 12, 0, 0, 700_000, tzinfo=UTC)
    put_click(table, "tok_a", clicked=clicked)
    put_lead(table, attribution=snapshot("tok_a", clicked))
    put_touch(table, clicked.replace(microsecond=0), "tok_a", clicked=clicked)  # Telegram's date: whole seconds
    created = clicked + timedelta(seconds=30)
    payment_id = put_payment(table, created=created, attribution=snapshot("tok_a", clicked), pixel_id=None)
    attempt_pk, attempt_sk = keys.attempt(payment_id, 1)
    attempt = {"type": "attempt", "payment_id": payment_id, "gateway_id": "gw_loja", "outcome": "created"}
    table.put({"pk": attempt_pk, "sk": attempt_sk, **attempt, "at": at(created)})  # the same millisecond

    found = traced(table, payment_id=payment_id)
    assert steps(found) == ["click", "start", "checkout", "charge_attempt"]
    assert found.events[1].at < found.events[0].at  # shown as stored, placed after its click


def test_the_sort_is_by_time_across_payments(table: Any) -> None:
    put_lead(table)
    older = put_payment(table, created=NOW - timedelta(days=3), token=None)
    newer = put_payment(table, created=NOW - timedelta(days=1), token=None)
    found = traced(table, bot_id=BOT, telegram_user_id=USER)
    assert found.payments == [older, newer]
    assert [event.detail["payment_id"] for event in of_step(found, "checkout")] == [older, newer]


# -- what is shown, and what never ------------------------------------------------------------------


def test_the_payer_the_profile_and_the_visitors_request_are_never_shown(table: Any) -> None:
    put_click(table, "tok_a")
    put_lead(table, attribution=snapshot("tok_a"))
    put_touch(table, CLICKED + timedelta(seconds=20), "tok_a")
    payment_id = put_payment(table, created=CLICKED + timedelta(minutes=1))
    pk, sk = keys.payer(payment_id)
    table.put({"pk": pk, "sk": sk, "type": "payer", "tenant_id": TENANT, "payment_id": payment_id,
               "email": "joana@example.com", "document": "52998224725", "name": "Joana Prado"})  # fmt: skip
    put_conversion(
        table, PIXEL, f"purchase_{payment_id}", kind="Purchase", status="sent", sent_at=at(NOW),
        payload={"user_data": {"em": ["a" * 64], "ph": ["b" * 64], "client_ip_address": "[redacted]"},
                 "custom_data": {"value": 49.9, "currency": "BRL"}},
        match_quality={"score": 7.5, "grade": "great", "keys": ["em", "ph", "client_ip_address"]},
    )  # fmt: skip
    found = traced(table, payment_id=payment_id)
    text = json.dumps(found.model_dump(mode="json"))
    for value in ("joana@example.com", "52998224725", "Joana", "+5511999990000", "203.0.113", UA[:20],
                  "Campinas", "-22.9", "IwAR-secret-click", "99887766", "hmac-of-the-ip", "a" * 64):  # fmt: skip
        assert value not in text, value
    [click] = of_step(found, "click")
    assert click.detail["device"] == {"device": "mobile", "os": "android", "browser": "webview", "in_app": "instagram"}
    assert (click.detail["country"], click.detail["region"], click.detail["click_ids"]) == ("BR", "SP", ["fbclid"])
    [purchase] = [event for event in of_step(found, "conversion") if event.detail["event"] == "Purchase"]
    assert purchase.detail["user_data_keys"] == ["client_ip_address", "em", "ph"]
    assert purchase.detail["match_quality"] == {
        "score": 7.5,
        "grade": "great",
        "keys": ["em", "ph", "client_ip_address"],
    }


def test_a_click_past_its_expiry_is_shown_by_its_snapshot_never_by_its_user_agent(table: Any) -> None:
    put_click(table, "tok_a", expires_at=to_epoch_s(NOW) - 1, q={"suspect": True, "reasons": ["burst"]})
    payment_id = put_payment(table, created=CLICKED, attribution=snapshot("tok_a", visitor=None))
    [click] = of_step(traced(table, payment_id=payment_id), "click")
    assert click.detail["click"] == "expired"
    assert click.detail["quality"] == "unknown" and click.detail["device"] == "unknown"  # the UA is not read again
    assert "country" not in click.detail and click.detail["utm"] == {"utm_source": "facebook", "utm_campaign": "bf"}
    assert click.title == "Click on /go/promo"

    found = traced(table, click_token="tok_a")  # the item is still there: the click's own trace works
    assert of_step(found, "click")[0].detail["click"] == "expired"


def test_a_click_deleted_by_its_ttl_is_still_shown_from_the_sale(table: Any) -> None:
    payment_id = put_payment(table, created=CLICKED)
    [click] = of_step(traced(table, payment_id=payment_id), "click")
    assert click.detail["click"] == "expired" and click.detail["device"]["device"] == "mobile"
    assert click.at == at(CLICKED)
    with pytest.raises(TraceNotFound):
        traced(table, click_token="tok_a")


def test_events_handed_to_meta_without_an_outcome_are_shown_queued(table: Any) -> None:
    put_lead(table, lead_event_at=at(CLICKED))
    payment_id = put_payment(
        table, created=CLICKED, status="paid", paid_at=at(NOW), confirmed_at=at(NOW), purchase_enqueued_at=at(NOW)
    )
    found = traced(table, payment_id=payment_id)
    queued = {event.detail["event"]: event for event in of_step(found, "conversion")}
    assert set(queued) == {"Lead", "InitiateCheckout", "Purchase"}
    assert queued["Purchase"].title == "Purchase to Meta: queued, no outcome recorded"
    assert queued["Purchase"].detail == {
        "event": "Purchase", "event_id": f"purchase_{payment_id}", "pixel_id": PIXEL, "status": "queued",
    }  # fmt: skip


def test_a_purchase_without_a_pixel_is_found_at_no_pixel(table: Any) -> None:
    payment_id = put_payment(table, created=CLICKED, token=None, user=None, pixel_id=None, purchase_enqueued_at=at(NOW))
    put_conversion(table, None, f"purchase_{payment_id}", kind="Purchase", status="skipped", reason="no_pixel",
                   updated_at=at(NOW))  # fmt: skip
    [purchase] = of_step(traced(table, payment_id=payment_id), "conversion")
    assert (purchase.title, purchase.detail["reason"]) == ("Purchase to Meta: skipped", "no_pixel")


def test_an_anonymised_stars_sale_has_no_lead_and_no_click_but_its_books(table: Any) -> None:
    payment_id = put_payment(
        table, created=CLICKED, token=None, user=None, method="stars", currency="XTR", amount_cents=150,
        fiat_amount_cents=4990, fiat_currency="BRL", status="refunded", paid_at=at(NOW), confirmed_at=at(NOW),
        refunded_at=at(NOW + timedelta(days=1)), refund_reason="refund", refund_state="full",
        anonymised_at=at(NOW), attribution={"link_slug": "promo", "utm": {"utm_campaign": "bf"}}, pixel_id=None,
    )  # fmt: skip
    found = traced(table, payment_id=payment_id)
    assert steps(found) == ["checkout", "paid", "refund"]
    assert of_step(found, "checkout")[0].title == "Checkout: Curso, 150 Stars by stars"
    assert of_step(found, "refund")[0].title == "Refunded: 150 Stars"


def test_a_late_payment_shows_the_expiry_then_the_payment(table: Any) -> None:
    payment_id = put_payment(
        table, created=CLICKED, token=None, status="paid", closed_at=at(CLICKED + timedelta(hours=1)),
        paid_at=at(NOW), confirmed_at=at(NOW), pixel_id=None,
    )  # fmt: skip
    found = traced(table, payment_id=payment_id)
    assert [(event.step, event.title) for event in found.events[1:]] == [
        ("closed", "Charge expired"), ("paid", "Paid: 49.90 BRL"),
    ]  # fmt: skip


# -- bounded reads ----------------------------------------------------------------------------------


def test_a_clicks_leads_are_looked_for_in_a_bounded_walk(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    put_click(table, "tok_a")
    for number in range(4):  # others who started after the click
        put_lead(table, user=USER + 100 + number, last_start=CLICKED + timedelta(minutes=number))
    put_lead(table, attribution=snapshot("tok_a"), last_start=CLICKED + timedelta(minutes=30))
    put_lead(table, user=USER + 9, last_start=CLICKED - timedelta(hours=1), attribution=snapshot("tok_a"))  # before
    put_touch(table, CLICKED + timedelta(minutes=30), "tok_a")

    [click] = of_step(traced(table, click_token="tok_a"), "click")
    assert (click.detail["leads_found"], click.detail["leads_searched"]) == (1, "all")

    monkeypatch.setattr(trace, "MAX_LEADS_SCANNED", 3)
    monkeypatch.setattr(trace, "LEADS_PAGE", 2)
    found = traced(table, click_token="tok_a")
    [click] = of_step(found, "click")
    assert (click.detail["leads_found"], click.detail["leads_searched"]) == (0, "first 3")
    assert steps(found) == ["click"]


def test_a_lead_traces_its_newest_payments_and_only_its_own(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace, "MAX_PAYMENTS", 3)
    put_lead(table)
    made = [put_payment(table, created=NOW - timedelta(days=10 - number), token=None) for number in range(5)]
    someone_else = put_payment(table, created=NOW, token=None, user=USER + 1)
    pk, sk = keys.lead_payment(BOT, USER, someone_else)  # a link naming another person's payment
    table.put({"pk": pk, "sk": sk, "type": "lead_payment", "tenant_id": TENANT, "payment_id": someone_else,
               "created_at": at(NOW)})  # fmt: skip
    found = traced(table, bot_id=BOT, telegram_user_id=USER)
    assert found.payments == made[-2:]  # the newest three links, one of which is not the lead's


# -- the tenant's walls -----------------------------------------------------------------------------


def test_another_tenants_items_are_not_found(table: Any) -> None:
    put_click(table, "tok_b", tenant="t_outra")
    put_lead(table, tenant="t_outra")
    payment_id = put_payment(table, created=CLICKED)
    for subject in ({"payment_id": payment_id}, {"click_token": "tok_b"}, {"bot_id": BOT, "telegram_user_id": USER}):
        with pytest.raises(TraceNotFound):
            sale_trace(table, "t_outra" if "payment_id" in subject else TENANT, now=NOW, **subject)
    for subject in ({"payment_id": "nope"}, {"click_token": "no token!"}):
        with pytest.raises(TraceNotFound):
            traced(table, **subject)


def test_exactly_one_thing_is_traced(table: Any) -> None:
    for subject in ({}, {"payment_id": "ab" * 16, "click_token": "tok"}, {"bot_id": BOT}, {"telegram_user_id": USER}):
        with pytest.raises(ValueError, match=r"trace one|a lead is"):
            traced(table, **subject)


def test_the_subject_shows_only_what_was_given(table: Any) -> None:
    payment_id = put_payment(table, created=CLICKED, token=None)
    dumped = traced(table, payment_id=payment_id).model_dump(mode="json")
    assert dumped["subject"] == {"payment_id": payment_id} and dumped["payments"] == [payment_id]
    assert set(dumped) == {"subject", "payments", "events"}
    assert set(dumped["events"][0]) == {"at", "step", "title", "detail"}
