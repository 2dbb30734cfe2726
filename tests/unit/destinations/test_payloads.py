"""Each destination's body for a sale, field by field (funil.destinations.payloads)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from funil.conversions.builder import Sources
from funil.destinations import payloads
from funil.destinations.models import DestinationKind
from funil.messages import EventKind

from tests.integration.destinations_world import CLICK_IDS, UTM, sale_payment
from tests.unit.conversions.factories import NOW, PAYMENT, TENANT, TG_USER, lead_item, message, payer_item, tenant_item

ORIGIN = "https://funil.example.com"


def sources(**payment: Any) -> Sources:
    return Sources(payment=sale_payment(**payment), payer=payer_item(), lead=lead_item(), tenant=tenant_item())


def body(
    kind: DestinationKind, event: EventKind, config: dict[str, Any] | None = None, **payment: Any
) -> payloads.Body:
    return payloads.build(kind, message(event), sources(**payment), config or {}, now=NOW, origin=ORIGIN)


def test_utmify_order_of_a_paid_sale() -> None:
    built = body(DestinationKind.UTMIFY, EventKind.PURCHASE)
    assert built.status is payloads.BodyStatus.READY and built.body is not None
    order = built.body
    assert order["orderId"] == PAYMENT and order["status"] == "paid" and order["paymentMethod"] == "pix"
    assert order["createdAt"] == "2026-11-22 17:25:00" and order["approvedDate"] == "2026-11-22 17:30:00"
    assert order["refundedAt"] is None and order["isTest"] is False and order["platform"] == "Funil"
    assert order["customer"] == {
        "name": "JOÃO PEDRO D'ÁVILA SILVA",
        "email": "Joao.Silva@Gmail.com",
        "phone": "5511987654321",
        "document": None,
        "country": "BR",
        "ip": "2804:14c:65a1:8000:1234:5678:9abc:def0",
    }
    assert order["products"] == [
        {
            "id": "vip_mensal",
            "name": "VIP mensal",
            "planId": None,
            "planName": None,
            "quantity": 1,
            "priceInCents": 4990,
        }
    ]
    assert order["trackingParameters"] == {"src": None, "sck": None, **UTM}
    assert order["commission"] == {
        "totalPriceInCents": 4990, "gatewayFeeInCents": 0, "userCommissionInCents": 4990, "currency": "BRL"
    }  # fmt: skip


def test_utmify_checkout_refund_partial_refund_and_age() -> None:
    checkout = body(DestinationKind.UTMIFY, EventKind.INITIATE_CHECKOUT, status="pending").body or {}
    assert checkout["status"] == "waiting_payment" and checkout["approvedDate"] is None
    late_checkout = body(DestinationKind.UTMIFY, EventKind.INITIATE_CHECKOUT)  # retried after the payment
    assert late_checkout.status is payloads.BodyStatus.SKIPPED  # UTMify keeps the order's last status
    refunded = body(DestinationKind.UTMIFY, EventKind.REFUND, refunded_at="2026-11-22T17:50:00.000Z").body or {}
    assert refunded["status"] == "refunded" and refunded["refundedAt"] == "2026-11-22 17:50:00"
    partial = body(
        DestinationKind.UTMIFY, EventKind.REFUND, refunds=[{"total_cents": 1000, "at": "2026-11-22T17:50:00.000Z"}]
    )
    assert partial.status is payloads.BodyStatus.SKIPPED
    old = body(DestinationKind.UTMIFY, EventKind.PURCHASE, created_at="2026-11-10T10:00:00.000Z")
    assert old.status is payloads.BodyStatus.EXPIRED


def test_tiktok_event_hashes_what_tiktok_says_and_keeps_our_event_id() -> None:
    built = body(DestinationKind.TIKTOK, EventKind.PURCHASE, {"pixel_code": "CABC123", "test_event_code": "TEST1"})
    request = built.body or {}
    assert request["event_source"] == "web" and request["event_source_id"] == "CABC123"
    assert request["test_event_code"] == "TEST1"
    [event] = request["data"]
    assert event["event"] == "CompletePayment" and event["event_id"] == f"purchase_{PAYMENT}"
    assert event["event_time"] == int((NOW - timedelta(minutes=30)).timestamp())
    user = event["user"]
    assert user["ttclid"] == CLICK_IDS["ttclid"]
    assert user["email"] == hashlib.sha256(b"joao.silva@gmail.com").hexdigest()
    assert user["phone"] == hashlib.sha256(b"+5511987654321").hexdigest()
    assert user["external_id"] == hashlib.sha256(f"funil:{TENANT}:tg:{TG_USER}".encode()).hexdigest()
    assert event["properties"]["value"] == 49.9 and event["properties"]["currency"] == "BRL"
    assert event["properties"]["order_id"] == PAYMENT
    assert event["page"]["url"] == f"{ORIGIN}/go/demo"
    assert body(DestinationKind.TIKTOK, EventKind.REFUND, {"pixel_code": "C1"}).status is payloads.BodyStatus.SKIPPED


def test_ga4_purchase_with_campaign_gclid_and_a_stable_client_id() -> None:
    request = body(DestinationKind.GA4, EventKind.PURCHASE).body or {}
    [event] = request["events"]
    assert event["name"] == "purchase"
    params = event["params"]
    assert params["transaction_id"] == PAYMENT and params["value"] == 49.9 and params["currency"] == "BRL"
    assert params["items"] == [{"item_id": "vip_mensal", "item_name": "VIP mensal", "price": 49.9, "quantity": 1}]
    assert params["gclid"] == CLICK_IDS["gclid"] and params["source"] == "FB" and params["term"] == "Instagram_Stories"
    assert request["timestamp_micros"] == int((NOW - timedelta(minutes=30)).timestamp()) * 1_000_000
    client_id = request["client_id"]
    assert client_id == payloads.ga4_client_id(TENANT, TG_USER, "other payment")  # the buyer's, not the sale's
    first, second = client_id.split(".")
    assert first.isdigit() and second.isdigit() and len(second) == 10


def test_ga4_omits_a_timestamp_older_than_72_hours_and_checkout_has_no_transaction() -> None:
    late = payloads.build(
        DestinationKind.GA4, message(EventKind.PURCHASE), sources(), {}, now=NOW + timedelta(hours=73), origin=ORIGIN
    )
    assert "timestamp_micros" not in (late.body or {})
    checkout = body(DestinationKind.GA4, EventKind.INITIATE_CHECKOUT).body or {}
    assert checkout["events"][0]["name"] == "begin_checkout"
    assert "transaction_id" not in checkout["events"][0]["params"]


def test_webhook_body_and_refund_step() -> None:
    sale = body(DestinationKind.WEBHOOK, EventKind.PURCHASE).body or {}
    assert sale["id"] == f"purchase_{PAYMENT}" and sale["type"] == "sale.paid" and sale["tenant_id"] == TENANT
    assert sale["data"]["value_cents"] == 4990 and sale["data"]["tracking"]["utm"] == UTM
    assert sale["data"]["customer"]["email"] == "Joao.Silva@Gmail.com"
    steps = [{"total_cents": 1000, "at": "2026-11-22T17:40:00.000Z"}, {"at": "2026-11-22T17:50:00.000Z"}]
    second = payloads.build(
        DestinationKind.WEBHOOK,
        message(EventKind.REFUND, refund_step=1),
        sources(refunds=steps),
        {},
        now=NOW,
        origin=ORIGIN,
    )
    data = (second.body or {})["data"]
    assert data["refund_step"] == 2 and data["value_cents"] == 3990


def test_an_event_without_its_payment_is_invalid() -> None:
    built = payloads.build(DestinationKind.GA4, message(EventKind.PURCHASE), Sources(), {}, now=NOW, origin=ORIGIN)
    assert built.status is payloads.BodyStatus.INVALID and built.reason == "payment_not_found"
