"""Items as the click path, the bot and the payments core store them (docs/data-model.md), for the conversions tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from funil import clock
from funil.click.fields import click_item_from_fields
from funil.messages import ConversionMessage, ConversionRefs, EventKind

TENANT = "t_demo"
PIXEL = "px_demo"
META_PIXEL = "1234567890123456"
BOT = "bot_demo_a"
TG_USER = 777000111
TOKEN = "AbCdEfGhIjKlMnOpQrStUv"
PAYMENT = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
NOW = datetime(2026, 11, 22, 18, 0, 0, tzinfo=UTC)
CLICKED_AT = NOW - timedelta(hours=2)
PAID_AT = NOW - timedelta(minutes=30)
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Instagram 325.0"
IP = "2804:14c:65a1:8000:1234:5678:9abc:def0"
FBC = "fb.1.1795370000000.IwZXh0bgNhZW0BMABhZGlkAasUJ4Q2d9YBHQ_aem_AbCdEf-123_xyZ"
FBP = "fb.1.1732000000000.1234567890"
BASE_URL = "https://funil.example.com"


def pixel_item(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"PIXEL#{PIXEL}",
        "sk": "PIXEL",
        "type": "pixel",
        "tenant_id": TENANT,
        "pixel_id": PIXEL,
        "meta_pixel_id": META_PIXEL,
        "enabled": True,
        "events": {"PageView": True, "Lead": True, "InitiateCheckout": True, "Purchase": True},
        "action_source": "website",
    }
    item.update(overrides)
    return item


def click_item(token: str = TOKEN, clicked_at: datetime = CLICKED_AT, **overrides: Any) -> dict[str, Any]:
    """A click as ``funil.click.fields.click_fields`` reads it (what the builder gets)."""
    item: dict[str, Any] = {
        "pk": f"CLICK#{token}",
        "sk": "CLICK",
        "type": "click",
        "token": token,
        "tenant_id": TENANT,
        "link_slug": "demo",
        "bot_id": BOT,
        "pixel_id": PIXEL,
        "clicked_at": clock.iso(clicked_at),
        "clicked_at_ms": clock.to_epoch_ms(clicked_at),
        "expires_at": clock.to_epoch_s(clicked_at + timedelta(days=9)),
        "fbc": FBC,
        "fbc_source": "fbclid",
        "fbp": FBP,
        "ip": IP,
        "user_agent": UA,
        "geo": {"country": "BR", "region": "SP", "city": "Sao Paulo"},
    }
    item.update(overrides)
    return item


def stored_click_item(token: str = TOKEN, clicked_at: datetime = CLICKED_AT, **overrides: Any) -> dict[str, Any]:
    """``click_item`` as the redirect stores it (compact; the sender reads it back with ``click_fields``)."""
    return click_item_from_fields(click_item(token, clicked_at, **overrides))


def attribution(clicked_at: datetime = CLICKED_AT) -> dict[str, Any]:
    click = click_item(clicked_at=clicked_at)
    return {key: click[key] for key in ("token", "link_slug", "clicked_at", "fbc", "fbp", "ip", "user_agent", "geo")}


def lead_item(user: int = TG_USER, **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"LEAD#{BOT}#{user}",
        "sk": "LEAD",
        "type": "lead",
        "tenant_id": TENANT,
        "bot_id": BOT,
        "telegram_user_id": user,
        "first_name": "João 🔥",
        "last_name": "D'Ávila",
        "language_code": "pt-br",
        "attribution": attribution(),
    }
    item.update(overrides)
    return item


def payment_item(payment_id: str = PAYMENT, **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"PAYMENT#{payment_id}",
        "sk": "PAYMENT",
        "type": "payment",
        "payment_id": payment_id,
        "tenant_id": TENANT,
        "bot_id": BOT,
        "telegram_user_id": TG_USER,
        "offer_id": "vip_mensal",
        "offer_name": "VIP mensal",
        "amount_cents": 4990,
        "currency": "BRL",
        "method": "pix",
        "status": "paid",
        "created_at": clock.iso(PAID_AT - timedelta(minutes=5)),
        "paid_at": clock.iso(PAID_AT),
        "attribution": attribution(),
    }
    item.update(overrides)
    return item


def payer_item(payment_id: str = PAYMENT, **overrides: Any) -> dict[str, Any]:
    """Who paid, as the payments side stores it once the payment is paid (``funil.keys.payer``).

    ``None`` in ``overrides`` leaves a field out (the gateway did not report it)."""
    item: dict[str, Any] = {
        "pk": f"PAYMENT#{payment_id}",
        "sk": "PAYER",
        "type": "payer",
        "tenant_id": TENANT,
        "payment_id": payment_id,
        "name": "JOÃO PEDRO D'ÁVILA SILVA",
        "email": " Joao.Silva@Gmail.com ",
        "phone": "(11) 98765-4321",
        "document": "52998224725",
        "city": "São Paulo",
        "state": "SP",
        "zip_code": "01310-100",
        "country": "BR",
        "source": "sandbox",
        "created_at": clock.iso(PAID_AT),
        "expires_at": clock.to_epoch_s(PAID_AT + timedelta(days=30)),
    }
    item.update(overrides)
    return {name: value for name, value in item.items() if value is not None}


def tenant_item(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"TENANT#{TENANT}",
        "sk": "TENANT",
        "type": "tenant",
        "tenant_id": TENANT,
        "name": "Demo",
        "country": "br",
    }
    item.update(overrides)
    return item


def message(
    kind: EventKind, *, pixel_id: str | None = PIXEL, occurred_at: datetime = NOW, **refs: Any
) -> ConversionMessage:
    defaults: dict[EventKind, tuple[str, dict[str, Any]]] = {
        EventKind.PAGE_VIEW: (f"pv_{refs.get('click_token', TOKEN)}", {"click_token": TOKEN}),
        EventKind.LEAD: (
            f"lead_{refs.get('bot_id', BOT)}_{refs.get('telegram_user_id', TG_USER)}",
            {"bot_id": BOT, "telegram_user_id": TG_USER},
        ),
        EventKind.INITIATE_CHECKOUT: (f"ic_{refs.get('payment_id', PAYMENT)}", {"payment_id": PAYMENT}),
        EventKind.PURCHASE: (f"purchase_{refs.get('payment_id', PAYMENT)}", {"payment_id": PAYMENT}),
        EventKind.REFUND: (f"refund_{refs.get('payment_id', PAYMENT)}", {"payment_id": PAYMENT}),
    }
    event_id, default_refs = defaults[kind]
    return ConversionMessage(
        kind=kind,
        event_id=event_id,
        tenant_id=TENANT,
        pixel_id=pixel_id,
        occurred_at=occurred_at,
        refs=ConversionRefs(**{**default_refs, **refs}),
    )


ACCESS_TOKEN = "EAAB-test-capi-token-not-real-0123456789"


class MutableClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def timestamp(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)


def sqs_records(messages: list[ConversionMessage], start: int = 0, receive_count: int = 1) -> dict[str, Any]:
    """A Lambda SQS event (real shape) carrying ``messages``."""
    records = []
    for offset, conversion in enumerate(messages):
        number = start + offset
        records.append(
            {
                "messageId": f"00000000-0000-4000-8000-{number:012d}",
                "receiptHandle": f"AQEB-receipt-{number}",
                "body": conversion.model_dump_json(),
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": "1795370000000",
                    "SenderId": "AROAEXAMPLE:funil-click-stream",
                    "ApproximateFirstReceiveTimestamp": "1795370000100",
                },
                "messageAttributes": {
                    "kind": {
                        "stringValue": conversion.kind.value,
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "String",
                    }
                },
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ConversionsQueue",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}
