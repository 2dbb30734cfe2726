"""Each destination's request body for one sale event, from what Funil stored (pure: no I/O).

Same inputs, same body: a retry or a replay sends what the first attempt sent (the webhook's
``Funil-Timestamp`` header alone is the attempt's own). Mappings, with their sources, are in
docs/destinations.md. A body is either ready, or a reason not to send it:

- ``skipped``: the destination has nothing for this event (TikTok has no refund event; UTMify
  refunds whole orders, so a partial refund waits for the step that completes it, and keeps an
  order's last status, so a checkout retried after the payment was paid is not sent);
- ``expired``: older than the destination accepts (UTMify: 7 days, 45 for a refund);
- ``invalid``: the payment or its value is missing (dead-lettered with the reason).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from funil import clock
from funil.conversions import normalize
from funil.conversions.builder import Sources, external_id_for, live_payer, payment_money
from funil.destinations.models import DestinationKind
from funil.messages import ConversionMessage, EventKind
from funil.payments.amounts import own_cents, refund_step_cents, refund_steps

UTMIFY_PLATFORM = "Funil"
UTMIFY_MAX_AGE = timedelta(days=7)
UTMIFY_MAX_REFUND_AGE = timedelta(days=45)
UTMIFY_STATUS = {
    EventKind.INITIATE_CHECKOUT: "waiting_payment",
    EventKind.PURCHASE: "paid",
    EventKind.REFUND: "refunded",
}
UTMIFY_TRACKING = ("src", "sck", "utm_source", "utm_campaign", "utm_medium", "utm_content", "utm_term")
TIKTOK_EVENTS = {EventKind.INITIATE_CHECKOUT: "InitiateCheckout", EventKind.PURCHASE: "CompletePayment"}
GA4_EVENTS = {EventKind.INITIATE_CHECKOUT: "begin_checkout", EventKind.PURCHASE: "purchase", EventKind.REFUND: "refund"}
GA4_TIMESTAMP_WINDOW = timedelta(hours=72)  # Google: timestamp_micros at most 72 h in the past
GA4_CAMPAIGN = {"utm_source": "source", "utm_medium": "medium", "utm_campaign": "campaign",
                "utm_term": "term", "utm_content": "content", "utm_id": "campaign_id"}  # fmt: skip
WEBHOOK_TYPES = {EventKind.INITIATE_CHECKOUT: "checkout.created", EventKind.PURCHASE: "sale.paid",
                 EventKind.REFUND: "sale.refunded"}  # fmt: skip


class BodyStatus(StrEnum):
    READY = "ready"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Body:
    status: BodyStatus
    event_time: int | None = None  # epoch seconds of the event (the first claim's is kept)
    body: dict[str, Any] | None = None
    reason: str | None = None
    summary: dict[str, Any] | None = None  # what the delivery record keeps: no personal data


@dataclass(frozen=True, slots=True)
class Sale:
    """The facts every destination maps, from the payment, its payer, its lead and its click."""

    message: ConversionMessage
    payment: Mapping[str, Any]
    payer: Mapping[str, Any]
    lead: Mapping[str, Any]
    attribution: Mapping[str, Any]
    event_at: datetime
    value_cents: int  # what this event is worth: the sale, or what this refund step gave back
    order_cents: int  # what the sale itself was worth
    currency: str

    @property
    def payment_id(self) -> str:
        return str(self.payment["payment_id"])

    def utm(self) -> dict[str, str]:
        utm = self.attribution.get("utm")
        return {str(k): str(v) for k, v in utm.items() if v} if isinstance(utm, Mapping) else {}

    def click_id(self, name: str) -> str | None:
        ids = self.attribution.get("click_ids")
        value = ids.get(name) if isinstance(ids, Mapping) else None
        return str(value) if value else None

    def name(self) -> str | None:
        if self.payer.get("name"):
            return str(self.payer["name"])
        full = " ".join(str(self.lead[part]) for part in ("first_name", "last_name") if self.lead.get(part))
        return full or None

    def email(self) -> str | None:
        value = str(self.payer.get("email") or "").strip()
        return value or None

    def phone(self) -> str | None:
        value = self.payer.get("phone") or self.lead.get("phone")
        return str(value) if value else None


def _time(value: object) -> datetime | None:
    if isinstance(value, str) and value:
        try:
            return clock.parse_iso(value)
        except ValueError:
            return None
    return None


def _event_at(message: ConversionMessage, payment: Mapping[str, Any]) -> datetime:
    """The event's own time, from the payment (the same on every attempt), else the message's."""
    step = message.refs.refund_step or 0
    steps = refund_steps(payment)
    moment = {
        EventKind.INITIATE_CHECKOUT: payment.get("created_at"),
        EventKind.PURCHASE: payment.get("paid_at"),
        EventKind.REFUND: steps[step].get("at") if step < len(steps) else payment.get("refunded_at"),
    }.get(message.kind)
    return _time(moment) or message.occurred_at


def sale_of(message: ConversionMessage, sources: Sources, now: datetime) -> Sale | str:
    """The sale's facts, or why there are none (the reason an event is invalid)."""
    payment = sources.payment
    if payment is None or payment.get("tenant_id") != message.tenant_id:
        return "payment_not_found"
    money = payment_money(payment)
    if money is None:
        return "payment_without_value"
    cents = order_cents = round(money.value * 100)
    if message.kind is EventKind.REFUND and refund_steps(payment):
        cents = refund_step_cents(payment, message.refs.refund_step or 0)
    lead = sources.lead if (sources.lead or {}).get("tenant_id") == message.tenant_id else None
    snapshot = payment.get("attribution")
    return Sale(
        message=message,
        payment=payment,
        payer=live_payer(sources, message.tenant_id, now),
        lead=lead or {},
        attribution=snapshot if isinstance(snapshot, Mapping) else {},
        event_at=_event_at(message, payment),
        value_cents=cents,
        order_cents=order_cents,
        currency=money.currency,
    )


def _iso_utc_seconds(moment: object) -> str | None:
    """UTMify's dates: ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    parsed = moment if isinstance(moment, datetime) else _time(moment)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if parsed else None


def _money(cents: int) -> float:
    return round(cents / 100, 2)


def _offer(payment: Mapping[str, Any]) -> tuple[str, str]:
    offer_id = str(payment.get("offer_id") or payment["payment_id"])
    return offer_id, str(payment.get("offer_name") or offer_id)[:256]


def _summary(sale: Sale, name: str) -> dict[str, Any]:
    return {"event": name, "value_cents": sale.value_cents, "currency": sale.currency}


# -- UTMify ----------------------------------------------------------------------------------------


def _refunded_whole(sale: Sale) -> bool:
    steps = refund_steps(sale.payment)
    step = sale.message.refs.refund_step or 0
    if step >= len(steps):
        return True
    total = steps[step].get("total_cents")
    return not isinstance(total, int) or total >= own_cents(sale.payment)


def utmify(sale: Sale, config: Mapping[str, Any], now: datetime) -> Body:
    kind = sale.message.kind
    event_time = clock.to_epoch_s(sale.event_at)
    created_at = _time(sale.payment.get("created_at")) or sale.event_at
    limit = UTMIFY_MAX_REFUND_AGE if kind is EventKind.REFUND else UTMIFY_MAX_AGE
    if now - created_at > limit:
        return Body(BodyStatus.EXPIRED, event_time, reason=f"older than UTMify's {limit.days} days")
    if kind is EventKind.REFUND and not _refunded_whole(sale):
        return Body(BodyStatus.SKIPPED, event_time, reason="partial_refund: UTMify refunds whole orders")
    # UTMify keeps an order's last status: a retried older state must not overwrite a newer one.
    status = sale.payment.get("status")
    if (kind is EventKind.INITIATE_CHECKOUT and status in ("paid", "refunded")) or (
        kind is EventKind.PURCHASE and status == "refunded"
    ):
        return Body(BodyStatus.SKIPPED, event_time, reason=f"superseded: the order is already {status}")
    total = sale.order_cents  # UTMify's order is the whole sale, whatever the event
    offer_id, offer_name = _offer(sale.payment)
    utm = sale.utm()
    ip = sale.attribution.get("ip")
    customer: dict[str, Any] = {
        "name": sale.name() or "",
        "email": sale.email() or "",
        "phone": normalize.phone(sale.phone()) if sale.phone() else None,
        "document": None,  # never sent: the buyer's CPF stays with the gateway
    }
    country = normalize.country(sale.payer.get("country"))
    if country:
        customer["country"] = country.upper()
    if ip:
        customer["ip"] = str(ip)
    body = {
        "orderId": sale.payment_id,
        "platform": str(config.get("platform") or UTMIFY_PLATFORM),
        # Telegram Stars are paid in the app by card: UTMify's closest method.
        "paymentMethod": "pix" if sale.payment.get("method", "pix") == "pix" else "credit_card",
        "status": UTMIFY_STATUS[kind],
        "createdAt": _iso_utc_seconds(created_at),
        "approvedDate": None if kind is EventKind.INITIATE_CHECKOUT else _iso_utc_seconds(sale.payment.get("paid_at")),
        "refundedAt": _iso_utc_seconds(sale.event_at) if kind is EventKind.REFUND else None,
        "customer": customer,
        "products": [
            {"id": offer_id, "name": offer_name, "planId": None, "planName": None, "quantity": 1, "priceInCents": total}
        ],
        "trackingParameters": {name: utm.get(name) for name in UTMIFY_TRACKING},
        "commission": {
            "totalPriceInCents": total,
            "gatewayFeeInCents": 0,  # the gateway's fee is not known to Funil
            "userCommissionInCents": total,
            "currency": sale.currency,
        },
        "isTest": bool(config.get("test")),
    }
    return Body(BodyStatus.READY, event_time, body, summary=_summary(sale, UTMIFY_STATUS[kind]))


# -- TikTok ----------------------------------------------------------------------------------------


def _tiktok_hash(value: str | None) -> str | None:
    return hashlib.sha256(value.encode()).hexdigest() if value else None


def tiktok(sale: Sale, config: Mapping[str, Any], origin: str) -> Body:
    kind = sale.message.kind
    event_time = clock.to_epoch_s(sale.event_at)
    if kind not in TIKTOK_EVENTS:
        return Body(BodyStatus.SKIPPED, event_time, reason="tiktok_has_no_refund_event")
    offer_id, offer_name = _offer(sale.payment)
    phone = normalize.phone(sale.phone())
    user: dict[str, Any] = {
        "ttclid": sale.click_id("ttclid"),
        # TikTok: SHA-256 of the trimmed, lowercased e-mail and of the E.164 phone (with its "+").
        "email": _tiktok_hash(normalize.email(sale.payer.get("email"))),
        "phone": _tiktok_hash(f"+{phone}" if phone else None),
        "external_id": external_id_for(sale.message.tenant_id, sale.payment.get("telegram_user_id")),
        "ip": sale.attribution.get("ip"),
        "user_agent": sale.attribution.get("user_agent"),
    }
    value = _money(sale.value_cents)
    properties: dict[str, Any] = {
        "currency": sale.currency,
        "value": value,
        "content_type": "product",
        "contents": [{"content_id": offer_id, "content_name": offer_name, "price": value, "quantity": 1}],
    }
    if kind is EventKind.PURCHASE:
        properties["order_id"] = sale.payment_id
    slug = sale.attribution.get("link_slug")
    event = {
        "event": TIKTOK_EVENTS[kind],
        "event_time": event_time,
        "event_id": sale.message.event_id,
        "user": {name: value for name, value in user.items() if value},
        "properties": properties,
        "page": {"url": f"{origin}/go/{slug}" if slug else origin},
    }
    body: dict[str, Any] = {"event_source": "web", "event_source_id": str(config["pixel_code"]), "data": [event]}
    if config.get("test_event_code"):
        body["test_event_code"] = str(config["test_event_code"])
    return Body(BodyStatus.READY, event_time, body, summary=_summary(sale, TIKTOK_EVENTS[kind]))


# -- GA4 -------------------------------------------------------------------------------------------


def ga4_client_id(tenant_id: str, telegram_user_id: object, payment_id: str) -> str:
    """A stable client_id in the tag's own shape (``<random 32-bit>.<unix seconds>``), derived from the
    buyer (per tenant and Telegram user; the payment when there is no user): GA4 then joins a buyer's
    checkouts, purchases and refunds, and the same buyer always counts as one user."""
    subject = f"funil:{tenant_id}:tg:{telegram_user_id}" if telegram_user_id is not None else f"funil:pay:{payment_id}"
    digest = hashlib.sha256(subject.encode()).digest()
    return f"{int.from_bytes(digest[:4], 'big')}.{1_000_000_000 + int.from_bytes(digest[4:8], 'big') % 700_000_000}"


def ga4(sale: Sale, now: datetime) -> Body:
    kind = sale.message.kind
    event_time = clock.to_epoch_s(sale.event_at)
    offer_id, offer_name = _offer(sale.payment)
    value = _money(sale.value_cents)
    params: dict[str, Any] = {
        "currency": sale.currency,
        "value": value,
        "items": [{"item_id": offer_id, "item_name": offer_name, "price": value, "quantity": 1}],
    }
    if kind is not EventKind.INITIATE_CHECKOUT:
        params["transaction_id"] = sale.payment_id
    for utm_name, param in GA4_CAMPAIGN.items():
        if sale.utm().get(utm_name):
            params[param] = sale.utm()[utm_name][:100]
    gclid = sale.click_id("gclid")
    if gclid:
        params["gclid"] = gclid
    body: dict[str, Any] = {
        "client_id": ga4_client_id(sale.message.tenant_id, sale.payment.get("telegram_user_id"), sale.payment_id),
        "events": [{"name": GA4_EVENTS[kind], "params": params}],
    }
    # Older than 72 h: Google takes no timestamp that old; the event is then dated when received.
    if now - sale.event_at <= GA4_TIMESTAMP_WINDOW:
        body["timestamp_micros"] = event_time * 1_000_000
    return Body(BodyStatus.READY, event_time, body, summary=_summary(sale, GA4_EVENTS[kind]))


# -- outgoing webhook ------------------------------------------------------------------------------


def webhook(sale: Sale) -> Body:
    kind = sale.message.kind
    event_time = clock.to_epoch_s(sale.event_at)
    offer_id, offer_name = _offer(sale.payment)
    payment = sale.payment
    data: dict[str, Any] = {
        "payment_id": sale.payment_id,
        "status": payment.get("status"),
        "method": payment.get("method"),
        "value_cents": sale.value_cents,
        "currency": sale.currency,
        "offer": {"id": offer_id, "name": offer_name},
        "bot_id": payment.get("bot_id"),
        "created_at": payment.get("created_at"),
        "paid_at": payment.get("paid_at"),
        "customer": {"name": sale.name(), "email": sale.email(), "phone": sale.phone()},
        "tracking": {
            "link": sale.attribution.get("link_slug"),
            "utm": sale.utm(),
            "click_ids": {k: v for k, v in (sale.attribution.get("click_ids") or {}).items() if v},
            "clicked_at": sale.attribution.get("clicked_at"),
        },
    }
    if kind is EventKind.REFUND:
        data["refund_step"] = (sale.message.refs.refund_step or 0) + 1
        data["refunded_at"] = clock.iso(sale.event_at)
    body = {
        "id": sale.message.event_id,
        "type": WEBHOOK_TYPES[kind],
        "occurred_at": clock.iso(sale.event_at),
        "tenant_id": sale.message.tenant_id,
        "data": data,
    }
    return Body(BodyStatus.READY, event_time, body, summary=_summary(sale, WEBHOOK_TYPES[kind]))


def build(
    kind: DestinationKind,
    message: ConversionMessage,
    sources: Sources,
    config: Mapping[str, Any],
    *,
    now: datetime,
    origin: str,
) -> Body:
    """The body of ``message`` for a destination of ``kind`` with its (non-secret) ``config``."""
    sale = sale_of(message, sources, now)
    if isinstance(sale, str):
        return Body(BodyStatus.INVALID, reason=sale)
    if kind is DestinationKind.UTMIFY:
        return utmify(sale, config, now)
    if kind is DestinationKind.TIKTOK:
        return tiktok(sale, config, origin)
    if kind is DestinationKind.GA4:
        return ga4(sale, now)
    return webhook(sale)
