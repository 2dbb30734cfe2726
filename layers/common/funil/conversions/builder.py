"""Building Meta server events from what Funil stored (pure: no AWS, no clock of its own).

One conversions message names an event (kind + stable id) and the records it is made of; the
sender loads them and calls :func:`build_event`. The result is either a ready Meta server event
with its estimated match quality, or a reason not to send it (skipped, expired, invalid). Same
inputs, same event: retries and replays send identical ``event_id`` and ``event_time``.

Sources of each key (docs/conversions.md):
- fbc, fbp, client_ip_address, client_user_agent: the click (PageView, or when the message names
  it) or the payment's/lead's attribution snapshot (``attribution``: the click's fields);
- external_id: SHA-256 of ``funil:<tenant>:tg:<telegram user>`` (stable per tenant and person);
- em/ph/fn/ln/ct/st/zp/country: who paid, as the gateway reported it (the payer item
  ``PAYMENT#<id>`` / ``PAYER``, only while its ``expires_at`` is in the future and only of the
  message's tenant); fn/ln from the payer's name, else the lead's Telegram profile; ph from the
  payer, else the phone the lead shared from Telegram; country from the payer, else the tenant's
  ``country`` setting (``br`` by default) on events built from a lead or payment. Nothing else is
  ever invented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from funil import clock, meta_cookies
from funil.conversions import normalize
from funil.event_kinds import EventKind
from funil.payments.amounts import own_cents, refund_step_cents, refund_steps

if TYPE_CHECKING:
    from funil.messages import ConversionMessage

# Meta rejects a whole request when one event is older than 7 days; keep a margin for the time
# between building and Meta receiving the request (retries included).
MAX_EVENT_AGE = timedelta(days=7) - timedelta(minutes=10)
REFUND_EVENT_NAME = "Refund"  # a custom event: Meta has no standard refund event
EVENT_NAMES = {
    EventKind.PAGE_VIEW: "PageView",
    EventKind.LEAD: "Lead",
    EventKind.INITIATE_CHECKOUT: "InitiateCheckout",
    EventKind.PURCHASE: "Purchase",
    EventKind.REFUND: REFUND_EVENT_NAME,
}
# Currencies Meta cannot value (Telegram Stars): the payment must carry a fiat equivalent.
NON_FIAT_CURRENCIES = frozenset({"XTR"})
REDACTED = "[redacted]"


class BuildStatus(StrEnum):
    READY = "ready"
    SKIPPED = "skipped"  # no pixel, pixel disabled, event switched off: acknowledged, never sent
    EXPIRED = "expired"  # older than Meta's 7 days: recorded, never sent
    INVALID = "invalid"  # cannot be built from what is stored: dead-lettered with the reason


@dataclass(frozen=True, slots=True)
class BuildSettings:
    public_base_url: str  # https://<domain>: the bridge page is <public_base_url>/go/<slug>


@dataclass(frozen=True, slots=True)
class Sources:
    """The stored items a message refers to (plain dicts as read from the table; the click as
    ``funil.click.fields.click_fields`` reads it)."""

    pixel: Mapping[str, Any] | None = None
    click: Mapping[str, Any] | None = None
    lead: Mapping[str, Any] | None = None
    payment: Mapping[str, Any] | None = None
    payer: Mapping[str, Any] | None = None  # the payment's payer item, as stored (checked here, not by the loader)
    tenant: Mapping[str, Any] | None = None  # the message's tenant item: its default ``country``


@dataclass(frozen=True, slots=True)
class MatchQuality:
    score: float  # 0-10, Funil's estimate (not Meta's EMQ)
    grade: str  # great | good | ok | poor
    keys: tuple[str, ...]

    def as_item(self) -> dict[str, Any]:
        return {"score": self.score, "grade": self.grade, "keys": list(self.keys)}


@dataclass(frozen=True, slots=True)
class BuiltEvent:
    status: BuildStatus
    reason: str | None = None
    event: dict[str, Any] | None = None  # the server event exactly as sent to Meta
    event_time: int | None = None
    match_quality: MatchQuality | None = None
    notes: tuple[str, ...] = field(default=())

    def stored_payload(self) -> dict[str, Any] | None:
        """The event as recorded: raw IP and user agent never outlive the send (LGPD)."""
        if self.event is None:
            return None
        user_data = dict(self.event.get("user_data") or {})
        for key in ("client_ip_address", "client_user_agent"):
            if key in user_data:
                user_data[key] = REDACTED
        return {**self.event, "user_data": user_data}


# Estimated match quality: points per key present and valid, capped at 10 (docs/conversions.md).
MATCH_WEIGHTS = {
    "em": 3.0, "ph": 3.0, "fbc": 2.5, "external_id": 1.0, "fbp": 1.0,
    "client_ip_address": 0.5, "client_user_agent": 0.5, "fn": 0.5, "ln": 0.5,
    "ct": 0.25, "st": 0.25, "zp": 0.25, "country": 0.25, "db": 0.25, "ge": 0.25,
}  # fmt: skip
IP_AND_UA_BONUS = 0.5  # Meta matches IP and UA together far better than either alone
GRADES = ((7.0, "great"), (5.0, "good"), (3.0, "ok"), (0.0, "poor"))


def match_quality(user_data: Mapping[str, Any]) -> MatchQuality:
    keys = tuple(key for key in MATCH_WEIGHTS if user_data.get(key))
    score = sum(MATCH_WEIGHTS[key] for key in keys)
    if "client_ip_address" in keys and "client_user_agent" in keys:
        score += IP_AND_UA_BONUS
    score = round(min(score, 10.0), 2)
    grade = next(label for floor, label in GRADES if score >= floor)
    return MatchQuality(score, grade, keys)


def external_id_for(tenant_id: str, telegram_user_id: object) -> str | None:
    """The stable per-tenant person id Meta sees (hashed): same buyer, same id, across bots."""
    if telegram_user_id is None or isinstance(telegram_user_id, bool):
        return None
    return normalize.hashed("external_id", f"funil:{tenant_id}:tg:{telegram_user_id}")


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return clock.parse_iso(value)
        except ValueError:
            return None
    return None


def _attribution(sources: Sources) -> Mapping[str, Any]:
    """Where fbc/fbp/IP/UA/slug come from: the click when we have it, else the snapshot."""
    if sources.click:
        return sources.click
    for item in (sources.payment, sources.lead):
        snapshot = (item or {}).get("attribution")
        if isinstance(snapshot, Mapping) and snapshot:
            return snapshot
    return {}


def _origin(attribution: Mapping[str, Any], settings: BuildSettings) -> str:
    """Where the bridge page was served: the seller's own domain the click came through
    (docs/domains.md), else the deployment's public origin."""
    host = attribution.get("host")
    if isinstance(host, str) and host:
        return f"https://{host}"
    return settings.public_base_url.rstrip("/")


def _first(*values: object) -> object:
    return next((value for value in values if value not in (None, "")), None)


DEFAULT_COUNTRY = "br"  # a tenant item without ``country`` (written before the setting existed)
# Gateways that mask who paid ("Jo** S****") give no name to match: hashing the rest would be wrong.
_MASKED_NAME = ("*", "•", "#")


def live_payer(sources: Sources, tenant_id: str, now: datetime) -> Mapping[str, Any]:
    """The payer item, when it is one, of this payment and tenant, and not yet expired.

    DynamoDB deletes expired items days late: ``expires_at`` is compared here, never left to the TTL.
    """
    payer = sources.payer or {}
    payment_id = (sources.payment or {}).get("payment_id")
    expires_at = payer.get("expires_at")
    if (
        payer.get("type") != "payer"
        or payer.get("tenant_id") != tenant_id
        or payment_id is None
        or payer.get("payment_id") != payment_id
        or not isinstance(expires_at, int | float | Decimal)
        or isinstance(expires_at, bool)
        or int(expires_at) <= clock.to_epoch_s(now)
    ):
        return {}
    return payer


def split_name(full_name: object) -> tuple[str | None, str | None]:
    """(fn, ln) from one full name: the first word and the last one (``Maria Clara Souza Santos`` →
    ``Maria``, ``Santos``), as Brazilian profiles mostly hold them. One word is a first name only."""
    if not isinstance(full_name, str) or any(mark in full_name for mark in _MASKED_NAME):
        return None, None
    words = [word for word in full_name.split() if normalize.name(word)]
    if not words:
        return None, None
    # A last word of one letter is an initial ("MARIA C"), never a surname to match.
    last = words[-1] if len(words) > 1 and len(normalize.name(words[-1]) or "") > 1 else None
    return words[0], last


def _contact(message: ConversionMessage, sources: Sources, payer: Mapping[str, Any]) -> dict[str, object]:
    """Customer information the payer (gateway) or the lead (Telegram) gave us."""
    lead: Mapping[str, Any] = sources.lead or {}
    payer_first, payer_last = split_name(payer.get("name"))
    # The payer's own name, not a Telegram display name, when the gateway gave one.
    first_name: object = payer_first or lead.get("first_name")
    last_name: object = payer_last if payer_first else lead.get("last_name")
    country = payer.get("country")
    # A click's PageView is built on the click path, which reads no tenant: no default there.
    if not normalize.country(country) and message.kind != EventKind.PAGE_VIEW:
        tenant = sources.tenant if (sources.tenant or {}).get("tenant_id") == message.tenant_id else None
        country = (tenant or {}).get("country") or DEFAULT_COUNTRY
    return {
        "em": payer.get("email"),
        "ph": _first(payer.get("phone"), lead.get("phone")),
        "fn": first_name,
        "ln": last_name,
        "ct": payer.get("city"),
        "st": payer.get("state"),
        "zp": payer.get("zip_code"),
        "country": country,
    }


def _user_data(
    message: ConversionMessage, sources: Sources, attribution: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    user_data: dict[str, Any] = {}
    payer = live_payer(sources, message.tenant_id, now)
    for key, value in _contact(message, sources, payer).items():
        digest = normalize.hashed(key, value)
        if digest:
            user_data[key] = digest
    telegram_user = _first(
        message.refs.telegram_user_id,
        (sources.lead or {}).get("telegram_user_id"),
        (sources.payment or {}).get("telegram_user_id"),
    )
    external = external_id_for(message.tenant_id, telegram_user)
    if external:
        user_data["external_id"] = external
    fbc = meta_cookies.valid_fbc(attribution.get("fbc"))
    fbp = meta_cookies.valid_fbp(attribution.get("fbp"))
    ip = attribution.get("ip") or attribution.get("client_ip_address")
    user_agent = attribution.get("user_agent") or attribution.get("client_user_agent")
    if isinstance(ip, str) and ip:
        user_data["client_ip_address"] = ip
    if isinstance(user_agent, str) and user_agent:
        user_data["client_user_agent"] = user_agent
    if fbc:
        user_data["fbc"] = fbc
    if fbp:
        user_data["fbp"] = fbp
    return user_data


@dataclass(frozen=True, slots=True)
class Money:
    value: float
    currency: str


def payment_money(payment: Mapping[str, Any]) -> Money | None:
    """What Meta is told the sale was worth: the fiat amount (Stars need a fiat equivalent). A payment
    charged with its order bump is worth its own offer's part: the bump is a Purchase of its own."""
    cents, currency = payment.get("amount_cents"), str(payment.get("currency") or "BRL").upper()
    if currency in NON_FIAT_CURRENCIES:
        cents, currency = payment.get("fiat_amount_cents"), str(payment.get("fiat_currency") or "").upper()
    elif payment.get("bump_amount_cents"):
        cents = own_cents(payment)
    if not isinstance(cents, int) or isinstance(cents, bool) or cents <= 0 or len(currency) != 3:
        return None
    return Money(round(cents / 100, 2), currency)


def commerce_data(payment: Mapping[str, Any], kind: EventKind, refund_step: int = 0) -> dict[str, Any] | None:
    """custom_data of a checkout, purchase or refund; None when the payment has no fiat value.
    A Refund is worth what its step gave back (less than the price when partial; the rest after)."""
    money = payment_money(payment)
    if money is None:
        return None
    if kind is EventKind.REFUND and refund_steps(payment):
        money = Money(round(refund_step_cents(payment, refund_step) / 100, 2), money.currency)
    data: dict[str, Any] = {"value": money.value, "currency": money.currency}
    offer_id = payment.get("offer_id")
    if offer_id:
        data["content_ids"] = [str(offer_id)]
        data["contents"] = [{"id": str(offer_id), "quantity": 1, "item_price": money.value}]
        data["content_type"] = "product"
        data["num_items"] = 1
    if payment.get("offer_name"):
        data["content_name"] = str(payment["offer_name"])[:256]
    if kind in (EventKind.PURCHASE, EventKind.REFUND) and payment.get("payment_id"):
        data["order_id"] = str(payment["payment_id"])
    return data


def _source_time(message: ConversionMessage, sources: Sources) -> datetime:
    payment = sources.payment or {}
    candidates: dict[EventKind, object] = {
        EventKind.PAGE_VIEW: (sources.click or {}).get("clicked_at"),
        EventKind.LEAD: None,
        EventKind.INITIATE_CHECKOUT: payment.get("created_at"),
        EventKind.PURCHASE: payment.get("paid_at"),
        EventKind.REFUND: _refund_step_time(payment, message.refs.refund_step or 0),
    }
    return _time(candidates[message.kind]) or message.occurred_at


def _refund_step_time(payment: Mapping[str, Any], step: int) -> object:
    steps = refund_steps(payment)
    return steps[step].get("at") if step < len(steps) else payment.get("refunded_at")


def _skip_reason(message: ConversionMessage, pixel: Mapping[str, Any] | None) -> str | None:
    if message.pixel_id is None or pixel is None:
        return "no_pixel"
    if pixel.get("tenant_id") != message.tenant_id:
        return "pixel_of_another_tenant"
    if not pixel.get("enabled", True):
        return "pixel_disabled"
    if not normalize_meta_pixel_id(pixel.get("meta_pixel_id")):
        return "pixel_without_meta_id"
    switches: Mapping[str, Any] = pixel.get("events") or {}
    if not switches.get(message.kind.value, True):
        return "event_switched_off"
    return None


def normalize_meta_pixel_id(value: object) -> str | None:
    text = str(value or "")
    return text if text.isdigit() and 5 <= len(text) <= 20 else None


def _missing_source(message: ConversionMessage, sources: Sources) -> str | None:
    needed = {
        EventKind.PAGE_VIEW: ("click", sources.click),
        EventKind.LEAD: ("lead", sources.lead),
        EventKind.INITIATE_CHECKOUT: ("payment", sources.payment),
        EventKind.PURCHASE: ("payment", sources.payment),
        EventKind.REFUND: ("payment", sources.payment),
    }
    label, item = needed[message.kind]
    if item is None:
        return f"{label}_not_found"
    for name, other in (("click", sources.click), ("lead", sources.lead), ("payment", sources.payment)):
        if other is not None and other.get("tenant_id") != message.tenant_id:
            return f"{name}_of_another_tenant"
    return None


def build_event(
    message: ConversionMessage,
    sources: Sources,
    settings: BuildSettings,
    now: datetime,
    event_time: int | None = None,
) -> BuiltEvent:
    """The Meta server event for ``message``, or why it is not sent.

    ``event_time`` (epoch seconds) is the time recorded by an earlier attempt: a retry sends the
    identical time even when the first one had to be clamped to "now".
    """
    skip = _skip_reason(message, sources.pixel)
    if skip:
        return BuiltEvent(BuildStatus.SKIPPED, skip)
    missing = _missing_source(message, sources)
    if missing:
        return BuiltEvent(BuildStatus.INVALID, missing)
    if (sources.payment or {}).get("anonymised_at"):
        # The buyer had their data erased (funil.operator.subjects): nothing of theirs may leave.
        return BuiltEvent(BuildStatus.SKIPPED, "subject_erased")
    now_s = clock.to_epoch_s(now)
    if event_time is None:
        event_time = min(clock.to_epoch_s(_source_time(message, sources)), now_s)  # never in the future
    if now_s - event_time > MAX_EVENT_AGE.total_seconds():
        return BuiltEvent(BuildStatus.EXPIRED, "older_than_7_days", event_time=event_time)
    attribution = _attribution(sources)
    user_data = _user_data(message, sources, attribution, now)
    notes: list[str] = []
    pixel = sources.pixel or {}
    action_source = str(pixel.get("action_source") or "website")
    event: dict[str, Any] = {
        "event_name": EVENT_NAMES[message.kind],
        "event_time": event_time,
        "event_id": message.event_id,
        "action_source": action_source,
    }
    if action_source == "website":
        if not settings.public_base_url:
            return BuiltEvent(BuildStatus.INVALID, "public_base_url_not_configured", event_time=event_time)
        slug = attribution.get("link_slug")
        if "client_user_agent" in user_data and slug:
            event["event_source_url"] = f"{_origin(attribution, settings)}/go/{slug}"
        elif message.kind == EventKind.PAGE_VIEW:
            return BuiltEvent(BuildStatus.INVALID, "website_event_without_user_agent", event_time=event_time)
        else:
            # An organic lead/sale never touched our web page: it happened in the Telegram chat.
            event["action_source"] = "chat"
            notes.append("website_without_click_sent_as_chat")
    event["user_data"] = user_data
    if message.kind in (EventKind.INITIATE_CHECKOUT, EventKind.PURCHASE, EventKind.REFUND):
        custom = commerce_data(sources.payment or {}, message.kind, message.refs.refund_step or 0)
        if custom is None and message.kind != EventKind.INITIATE_CHECKOUT:
            return BuiltEvent(BuildStatus.INVALID, "payment_without_fiat_value", event_time=event_time)
        if custom:
            event["custom_data"] = custom
    if not set(user_data) - {"country"}:  # the tenant's default country alone identifies nobody
        return BuiltEvent(BuildStatus.INVALID, "no_customer_information", event_time=event_time)
    return BuiltEvent(
        BuildStatus.READY,
        event=event,
        event_time=event_time,
        match_quality=match_quality(user_data),
        notes=tuple(notes),
    )
