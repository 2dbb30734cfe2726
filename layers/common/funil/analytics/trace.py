"""The sale debugger: one sale's whole timeline, from the ad click to Meta (docs/operator-api.md).

``sale_trace`` starts from one of three things, always within the caller's tenant (another tenant's
item is answered as absent, ``TraceNotFound``):

- a payment: its partition (the payment, its charge attempts, the webhooks that spoke for it, its
  delivery record), its lead's ``/start`` touches up to the checkout, the click its attribution
  snapshot names, and the Conversions API records of its events;
- a click: the click, the leads of its bot that started with it and the payments its token
  attributed. Nothing is keyed by a click's token but the click, so its leads are looked for among
  the bot's leads by last start from the click's time on (pattern 11): a bounded walk, said so in
  the click's ``detail`` (``leads_searched``);
- a lead (bot + Telegram user): its partition (touches, payment links), the clicks its touches name
  and each of its payments.

Events are sorted by time; a ``/start`` is never put before its own click (Telegram dates a message
to the second, the click is stored to the millisecond), and steps of the same instant keep the
chain's order. Conversion records are found by the event ids the chain derives
(``funil.messages.EVENT_ID_PREFIX``: ``pv_<token>``, ``lead_<bot>_<user>``, ``ic_``/``purchase_``/
``refund_<payment>``) at the pixels the items name, as the builder chooses them.

What it never shows (LGPD): the raw IP, the User-Agent (only the device parsed from it), names,
phones, e-mails, payer documents, cookies' values, invite links, delivery tokens. Of what Meta was
sent it shows which ``user_data`` keys were present and the estimated match quality, never their
values; of a click, which click ids and cookies it had. The payer item (it comes with its payment's
partition) is dropped as it is read, never looked into.

Every read is bounded: one page per partition, a capped number of touches, clicks, leads, payments,
gateways and conversion records (the ``MAX_*`` below).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, field_serializer

from funil import keys
from funil.bot.leads import ATTRIBUTION_FIELDS, lead_event_id
from funil.click.fields import click_fields
from funil.clock import iso, parse_iso, to_epoch_s, utc_now
from funil.messages import EVENT_ID_PREFIX, EventKind
from funil.payments.amounts import refund_steps
from funil.ports import Pages

__all__ = ["Trace", "TraceEvent", "TraceNotFound", "TraceSubject", "sale_trace"]

MAX_PARTITION = 100  # items of one payment's partition: its attempts, delivery, webhooks (few of each)
MAX_TOUCHES = 100  # a lead's newest starts
MAX_LEAD_PAYMENTS = 100  # a lead's payment links read; the newest MAX_PAYMENTS are traced
MAX_PAYMENTS = 10
MAX_CLICKS = 20  # distinct clicks a lead's touches name, newest first
MAX_LEADS_SCANNED = 500  # a bot's leads walked from a click's time to find who started with it
MAX_LEADS_PER_CLICK = 5
LEADS_PAGE = 100
MAX_GATEWAYS = 10
MAX_CONVERSIONS = 60  # conversion records read (Meta's and the destinations')
MAX_DESTINATIONS = 20  # a tenant's destinations shown in a trace
MAX_TEXT = 300  # a gateway's or Meta's error text
START_SLACK_SECONDS = 60  # a start is dated by Telegram, to the second and by its clock: look a minute early

# In the chain's order: how steps of the same instant are shown.
Step = Literal[
    "click",
    "start",
    "checkout",
    "charge_attempt",
    "webhook",
    "flag",
    "closed",
    "paid",
    "delivery",
    "conversion",
    "refund",
    "revoke",
]
_RANK = {step: rank for rank, step in enumerate(get_args(Step))}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PAYMENT_ID = re.compile(r"^[0-9a-f]{32}$")
_SNAPSHOT = (*ATTRIBUTION_FIELDS, "bot_id")  # what a click is shown by once it has expired
_TOUCH_PREFIX = keys.touch("", 0, "", None)[1].partition("#")[0] + "#"
_AD_FIELDS = (
    "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name", "placement", "site_source_name",
)  # fmt: skip


class TraceNotFound(LookupError):
    """Nothing of this tenant's by that id (another tenant's is answered the same)."""


class TraceReads(Pages, Protocol):
    """The table reads a trace makes (``funil.adapters.dynamo.Table``): items by key, and pages."""

    def get(self, pk: str, sk: str, consistent: bool = False) -> dict[str, Any] | None: ...


class TraceSubject(BaseModel):
    """What the trace was asked about (only the given ids are shown)."""

    model_config = ConfigDict(frozen=True)

    payment_id: str | None = None
    click_token: str | None = None
    bot_id: str | None = None
    telegram_user_id: int | None = None


class TraceEvent(BaseModel):
    """One step of the timeline: when (UTC ISO), which step, a short English title, what is known."""

    model_config = ConfigDict(frozen=True)

    at: str
    step: Step
    title: str
    detail: dict[str, Any]


class Trace(BaseModel):
    subject: TraceSubject
    payments: list[str]  # the payments traced, oldest first
    events: list[TraceEvent]

    @field_serializer("subject")
    def _given(self, subject: TraceSubject) -> dict[str, Any]:
        return subject.model_dump(exclude_none=True)


def sale_trace(
    items: TraceReads,
    tenant_id: str,
    *,
    payment_id: str | None = None,
    click_token: str | None = None,
    bot_id: str | None = None,
    telegram_user_id: int | None = None,
    now: datetime | None = None,
) -> Trace:
    """The timeline of a payment, a click or a lead (exactly one); ``TraceNotFound`` when it is not the tenant's."""
    lead_given = bot_id is not None or telegram_user_id is not None
    if sum((payment_id is not None, click_token is not None, lead_given)) != 1:
        raise ValueError("trace one payment, one click or one lead (bot_id and telegram_user_id)")
    tracer = _Tracer(items, tenant_id, now or utc_now())
    if payment_id is not None:
        tracer.from_payment(payment_id)
    elif click_token is not None:
        tracer.from_click(click_token)
    else:
        if bot_id is None or telegram_user_id is None:
            raise ValueError("a lead is its bot_id and its telegram_user_id")
        tracer.from_lead(bot_id, telegram_user_id)
    subject = TraceSubject(
        payment_id=payment_id, click_token=click_token, bot_id=bot_id, telegram_user_id=telegram_user_id
    )
    return Trace(subject=subject, payments=tracer.payment_ids(), events=tracer.timeline())


# -- reading ----------------------------------------------------------------------------------------


@dataclass(order=True, frozen=True)
class _Placed:
    """An event with where it sorts: its time (a start: never before its click), the chain's order."""

    sort_at: str
    rank: int
    at: str
    title: str
    event: TraceEvent = field(compare=False)


@dataclass
class _Payment:
    item: dict[str, Any]
    partition: list[dict[str, Any]]

    @property
    def payment_id(self) -> str:
        return str(self.item["payment_id"])

    @property
    def attribution(self) -> dict[str, Any]:
        value = self.item.get("attribution")
        return dict(value) if isinstance(value, Mapping) else {}

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [item for item in self.partition if item.get("type") == kind]


class _Tracer:
    def __init__(self, items: TraceReads, tenant_id: str, now: datetime) -> None:
        self.items = items
        self.tenant_id = tenant_id
        self.now = now
        self.placed: list[_Placed] = []
        self.payments: dict[str, _Payment] = {}  # read
        self.traced: dict[str, _Payment] = {}  # shown
        self.clicks_shown: set[str] = set()
        self.gateways: dict[str, str | None] = {}  # gateway id → its kind (None: not the tenant's, unknown)
        self.conversion_reads = 0
        self.destination_items: list[dict[str, Any]] | None = None  # the tenant's, read once

    # -- entry points --

    def from_payment(self, payment_id: str) -> None:
        payment = self._payment(payment_id)
        if payment is None:
            raise TraceNotFound(payment_id)
        lead_key = _lead_of(payment.item)
        lead = self._lead(*lead_key) if lead_key else None
        created = str(payment.item.get("created_at") or "")
        if lead_key:
            touches = [touch for touch in self._touches(*lead_key) if str(touch.get("at") or "") <= created]
            self._starts(touches)
        token = payment.attribution.get("click_token")
        if isinstance(token, str):
            self._click(token, payment.attribution, bot_id=payment.item.get("bot_id"))
        self._payment_events(payment)
        if lead is not None and lead_key:
            self._lead_event(lead, lead_key, [payment.item])

    def from_click(self, token: str) -> None:
        item = self._get(*keys.click(token)) if _TOKEN.fullmatch(token) else None
        if item is None:
            raise TraceNotFound(token)
        fields = click_fields(item)
        leads, complete = self._leads_of_click(token, fields)
        detail = {"leads_found": len(leads), "leads_searched": "all" if complete else f"first {MAX_LEADS_SCANNED}"}
        self._click(token, {}, bot_id=fields.get("bot_id"), extra=detail)
        clicked_at = str(fields.get("clicked_at") or "")
        for lead in leads:
            lead_key = _lead_of(lead)
            if lead_key is None:
                continue
            touches = self._touches(*lead_key)
            self._starts(
                touch for touch in touches if token in (touch.get("click_token"), touch.get("start_parameter"))
            )
            traced = []
            for payment in self._lead_payments(*lead_key, since=clicked_at):
                if payment.attribution.get("click_token") == token:
                    self._payment_events(payment)
                    traced.append(payment.item)
            self._lead_event(lead, lead_key, traced)

    def from_lead(self, bot_id: str, telegram_user_id: int) -> None:
        lead = self._lead(bot_id, telegram_user_id)
        if lead is None:
            raise TraceNotFound(f"{bot_id}/{telegram_user_id}")
        touches = self._touches(bot_id, telegram_user_id)
        self._starts(touches)
        snapshots: dict[str, dict[str, Any]] = {}
        for touch in touches:  # newest first: each click's latest summary
            token = touch.get("click_token")
            if isinstance(token, str) and token not in snapshots and len(snapshots) < MAX_CLICKS:
                snapshots[token] = dict(touch)
        attribution = lead.get("attribution")
        if isinstance(attribution, Mapping) and isinstance(attribution.get("click_token"), str):
            snapshots[attribution["click_token"]] = dict(attribution)  # the last click's fuller snapshot
        for token, snapshot in snapshots.items():
            self._click(token, snapshot, bot_id=bot_id)
        payments = self._lead_payments(bot_id, telegram_user_id)
        for payment in payments:
            self._payment_events(payment)
        self._lead_event(lead, (bot_id, telegram_user_id), [payment.item for payment in payments])

    # -- results --

    def payment_ids(self) -> list[str]:
        ordered = sorted(self.traced.values(), key=lambda payment: str(payment.item.get("created_at") or ""))
        return [payment.payment_id for payment in ordered]

    def timeline(self) -> list[TraceEvent]:
        return [placed.event for placed in sorted(self.placed)]

    # -- reads --

    def _ours(self, item: Mapping[str, Any] | None) -> bool:
        return item is not None and item.get("tenant_id") == self.tenant_id

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.items.get(pk, sk)
        return item if self._ours(item) else None

    def _page(self, pk: str, prefix: str | None, *, limit: int, forward: bool = True) -> list[dict[str, Any]]:
        if prefix is None:
            found, _ = self.items.query_page("pk = :pk", {":pk": pk}, limit=limit, forward=forward)
        else:
            found, _ = self.items.query_page(
                "pk = :pk AND begins_with(sk, :prefix)", {":pk": pk, ":prefix": prefix}, limit=limit, forward=forward
            )
        return found

    def _payment(self, payment_id: str) -> _Payment | None:
        if payment_id in self.payments:
            return self.payments[payment_id]
        if not _PAYMENT_ID.fullmatch(payment_id):
            return None
        # One page of the partition holds the payment and all that hangs on it; the payer (personal
        # data) is dropped before anything looks at it.
        page = self._page(keys.payment(payment_id)[0], None, limit=MAX_PARTITION)
        partition = [item for item in page if item.get("type") != "payer"]
        payment = next((item for item in partition if item.get("sk") == keys.payment(payment_id)[1]), None)
        if payment is None or not self._ours(payment):
            return None
        traced = _Payment(payment, partition)
        self.payments[payment_id] = traced
        return traced

    def _lead(self, bot_id: str, telegram_user_id: int) -> dict[str, Any] | None:
        return self._get(*keys.lead(bot_id, telegram_user_id))

    def _touches(self, bot_id: str, telegram_user_id: int) -> list[dict[str, Any]]:
        """The lead's newest starts, newest first."""
        pk, _ = keys.lead(bot_id, telegram_user_id)
        return [item for item in self._page(pk, _TOUCH_PREFIX, limit=MAX_TOUCHES, forward=False) if self._ours(item)]

    def _lead_payments(self, bot_id: str, telegram_user_id: int, since: str = "") -> list[_Payment]:
        """The lead's newest payments (created at or after ``since``)."""
        pk, prefix = keys.lead_payment(bot_id, telegram_user_id, "")
        links = [
            link
            for link in self._page(pk, prefix, limit=MAX_LEAD_PAYMENTS)
            if self._ours(link) and link.get("type") == "lead_payment" and isinstance(link.get("payment_id"), str)
        ]
        links = [link for link in links if str(link.get("created_at") or "") >= since]
        links.sort(key=lambda link: str(link.get("created_at") or ""), reverse=True)
        found = []
        for link in links[:MAX_PAYMENTS]:
            payment = self._payment(str(link["payment_id"]))
            # Only the lead's own: a link names a payment id, the payment says whose it is.
            if payment is not None and _lead_of(payment.item) == (bot_id, telegram_user_id):
                found.append(payment)
        return found

    def _leads_of_click(self, token: str, fields: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """The click's bot's leads that name the token, walked by last start from the click's time on.
        Whether the walk saw every lead since (else it stopped at ``MAX_LEADS_SCANNED``)."""
        bot_id, clicked_at = fields.get("bot_id"), fields.get("clicked_at")
        if not isinstance(bot_id, str) or not isinstance(clicked_at, str):
            return [], True
        since = iso(parse_iso(clicked_at) - timedelta(seconds=START_SLACK_SECONDS))
        index = keys.bot_leads_index(bot_id, since)
        found: list[dict[str, Any]] = []
        scanned, start = 0, None
        while scanned < MAX_LEADS_SCANNED and len(found) < MAX_LEADS_PER_CLICK:
            page, start = self.items.query_page(
                "gsi1pk = :pk AND gsi1sk >= :since",
                {":pk": index["gsi1pk"], ":since": index["gsi1sk"]},
                index="gsi1",
                limit=min(LEADS_PAGE, MAX_LEADS_SCANNED - scanned),
                start=start,
            )
            scanned += len(page)
            found += [
                lead for lead in page if self._ours(lead) and lead.get("bot_id") == bot_id and _names(lead, token)
            ]
            if start is None:
                return found[:MAX_LEADS_PER_CLICK], True
        return found[:MAX_LEADS_PER_CLICK], False

    def _gateway_kind(self, gateway_id: object) -> str | None:
        if not isinstance(gateway_id, str) or not gateway_id:
            return None
        if gateway_id not in self.gateways and len(self.gateways) < MAX_GATEWAYS:
            gateway = self._get(*keys.gateway(gateway_id))
            self.gateways[gateway_id] = str(gateway["kind"]) if gateway and gateway.get("kind") else None
        return self.gateways.get(gateway_id)

    def _conversion(self, pixels: Iterable[str | None], event_id: str) -> dict[str, Any] | None:
        """The event's delivery record at the first of ``pixels`` that has one."""
        for pixel_id in dict.fromkeys(pixels):
            if self.conversion_reads >= MAX_CONVERSIONS:
                return None
            self.conversion_reads += 1
            record = self._get(*keys.conversion_record(pixel_id, event_id))
            if record is not None:
                return record
        return None

    # -- events --

    def _add(self, at: object, step: Step, title: str, detail: Mapping[str, Any], *, not_before: object = None) -> None:
        if not isinstance(at, str) or not at:
            return
        sort_at = max(at, not_before) if isinstance(not_before, str) and not_before else at
        event = TraceEvent(at=at, step=step, title=title, detail=_clean(detail))
        self.placed.append(_Placed(sort_at, _RANK[step], at, title, event))

    def _click(
        self, token: str, snapshot: Mapping[str, Any], *, bot_id: object, extra: Mapping[str, Any] | None = None
    ) -> None:
        """The click: from its item while it lives, else from the snapshot a lead, touch or payment kept."""
        if token in self.clicks_shown or not _TOKEN.fullmatch(token):
            return
        self.clicks_shown.add(token)
        item = self._get(*keys.click(token))
        live = item is not None and _alive(item, self.now)
        source: Mapping[str, Any] = snapshot
        quality: Any = "unknown"
        if item is not None and live:
            source = click_fields(item, visitor=True)
            verdict = item.get("q")  # written on suspect clicks only (funil.analytics.stream)
            quality = dict(verdict) if isinstance(verdict, Mapping) else {"suspect": False, "reasons": []}
        elif item is not None:
            # Past its expiry the visitor's request is no longer ours to read (its User-Agent, geo):
            # only what a lead's snapshot keeps, which includes the device parsed while it lived.
            kept = click_fields(item)
            source = {**{name: kept[name] for name in _SNAPSHOT if name in kept}, **snapshot}
        slug = source.get("link_slug")
        geo = source.get("geo") if live else None
        click_ids = source.get("click_ids")
        detail = {
            "token": token,
            "click": "live" if live else "expired",
            "link": slug,
            "bot_id": source.get("bot_id") or bot_id,
            "pixel_id": source.get("pixel_id"),
            "utm": _utm(source.get("utm")),
            "ad": _ad(source.get("ad")),
            "click_ids": sorted(click_ids) if isinstance(click_ids, Mapping) else [],
            "fbc": source.get("fbc_source") or (True if source.get("fbc") else None),
            "fbp": bool(source.get("fbp")),
            "device": _visitor(source.get("visitor")),
            "country": geo.get("country") if isinstance(geo, Mapping) else None,
            "region": geo.get("region") if isinstance(geo, Mapping) else None,
            "quality": quality,
            "attribution_ends_at": source.get("attribution_ends_at"),
            **(extra or {}),
        }
        suspect = isinstance(quality, Mapping) and quality.get("suspect")
        title = f"Click on /go/{slug}" if slug else "Click"
        self._add(source.get("clicked_at"), "click", title + (" (suspect)" if suspect else ""), detail)
        pixel = source.get("pixel_id")
        if isinstance(pixel, str) and pixel:  # a link without a pixel sends no PageView
            record = self._conversion([pixel], f"{EVENT_ID_PREFIX[EventKind.PAGE_VIEW]}{token}")
            if record is not None:
                self._conversion_event(record)

    def _starts(self, touches: Iterable[Mapping[str, Any]]) -> None:
        for touch in touches:
            attributed = bool(touch.get("attributed"))
            reason = str(touch.get("reason") or "")
            title = "Start from the click" if attributed else f"Organic start ({reason.replace('_', ' ')})"
            detail = {
                "bot_id": touch.get("bot_id"),
                "attributed": attributed,
                "reason": reason,
                "click_token": touch.get("click_token"),
                "link": touch.get("link_slug"),
                "utm": _utm(touch.get("utm")),
                "ad": _ad(touch.get("ad")),
                "start_parameter_given": True if touch.get("start_parameter") else None,
            }
            self._add(touch.get("at"), "start", title, detail, not_before=touch.get("clicked_at"))

    def _payment_events(self, payment: _Payment) -> None:
        if payment.payment_id in self.traced:
            return
        self.traced[payment.payment_id] = payment
        item = payment.item
        money = _money(item.get("amount_cents"), item.get("currency"))
        method = str(item.get("method") or "pix")
        offer = item.get("offer_name") or item.get("offer_id") or "an offer"
        self._add(
            item.get("created_at"),
            "checkout",
            f"Checkout: {offer}, {money} by {method}",
            {
                "payment_id": payment.payment_id,
                "offer_id": item.get("offer_id"),
                "offer_name": item.get("offer_name"),
                "method": method,
                "amount_cents": item.get("amount_cents"),
                "currency": item.get("currency"),
                "fiat_amount_cents": item.get("fiat_amount_cents"),
                "fiat_currency": item.get("fiat_currency"),
                "status": item.get("status"),
                "gateway_id": item.get("gateway_id"),
                "gateway_kind": self._gateway_kind(item.get("gateway_id")),
                "gateway_charge_id": item.get("gateway_charge_id"),
                "charge_expires_at": item.get("charge_expires_at"),
                "pixel_id": item.get("pixel_id"),
                "click_token": payment.attribution.get("click_token"),
                "link": payment.attribution.get("link_slug"),
                "anonymised_at": item.get("anonymised_at"),
            },
        )
        for attempt in sorted(payment.of_type("attempt"), key=lambda found: str(found.get("sk"))):
            number = str(attempt.get("sk") or "").rpartition("#")[2].lstrip("0") or "0"
            outcome = attempt.get("outcome")
            self._add(
                attempt.get("at"),
                "charge_attempt",
                f"Charge attempt {number} at {attempt.get('gateway_id')}: {outcome}",
                {
                    "attempt": number,
                    "gateway_id": attempt.get("gateway_id"),
                    "gateway_kind": self._gateway_kind(attempt.get("gateway_id")),
                    "outcome": outcome,
                    "gateway_charge_id": attempt.get("gateway_charge_id"),
                    "elapsed_ms": attempt.get("elapsed_ms"),
                    "error": _text(attempt.get("error")),
                },
            )
        for webhook in payment.of_type("payment_webhook"):
            said = webhook.get("status")
            if webhook.get("event") not in (None, "payment"):
                said = webhook.get("event")
            self._add(
                webhook.get("received_at"),
                "webhook",
                f"Webhook from {webhook.get('gateway_id')}: {said} → {webhook.get('result')}",
                {
                    "gateway_id": webhook.get("gateway_id"),
                    "gateway_kind": self._gateway_kind(webhook.get("gateway_id")),
                    "webhook_id": webhook.get("webhook_id"),
                    "event": webhook.get("event"),
                    "status": webhook.get("status"),
                    "amount_cents": webhook.get("amount_cents"),
                    "currency": webhook.get("currency"),
                    "result": webhook.get("result"),
                },
            )
        if item.get("flag"):
            self._add(item.get("flagged_at"), "flag", f"Not confirmed: {item['flag']}", {"flag": item["flag"]})
        if item.get("closed_at"):
            closed = "expired" if item.get("status") == "expired" or item.get("paid_at") else item.get("status")
            self._add(item["closed_at"], "closed", f"Charge {closed}", {"status": closed})
        if item.get("paid_at"):
            self._add(
                item.get("confirmed_at") or item.get("paid_at"),
                "paid",
                f"Paid: {money}",
                {
                    "paid_at": item.get("paid_at"),
                    "confirmed_at": item.get("confirmed_at"),
                    "purchase_enqueued_at": item.get("purchase_enqueued_at"),
                    "delivery_enqueued_at": item.get("delivery_enqueued_at"),
                },
            )
        for record in payment.of_type("delivery"):
            self._delivery(record)
        if item.get("refunded_at"):
            partial = item.get("refund_state") == "partial"
            reason = str(item.get("refund_reason") or "refund")
            title = "Chargeback" if reason == "chargeback" else "Partial refund" if partial else "Refunded"
            self._add(
                item["refunded_at"],
                "refund",
                f"{title}: {_money(item.get('refunded_cents') or item.get('amount_cents'), item.get('currency'))}",
                {
                    "reason": reason,
                    "refund_state": item.get("refund_state"),
                    "refunded_cents": item.get("refunded_cents"),
                    "refund_enqueued_at": item.get("refund_enqueued_at"),
                    "revoke_enqueued_at": item.get("revoke_enqueued_at"),
                },
            )
        self._payment_conversions(payment)
        self._payment_destinations(payment)

    def _delivery(self, record: Mapping[str, Any]) -> None:
        status = record.get("status")
        self._add(
            record.get("delivered_at") or record.get("updated_at") or record.get("created_at"),
            "delivery",
            f"Delivery {status}",
            {
                "status": status,
                "attempts": record.get("attempts"),
                "delivered_at": record.get("delivered_at"),
                "reason": record.get("reason"),
                "invite_link_created": True if record.get("invite_link") else None,
            },
        )
        if record.get("access_revoked_at"):
            outcome = record.get("access_revoke")
            self._add(record["access_revoked_at"], "revoke", f"Access revoked: {outcome}", {"outcome": outcome})

    def _payment_conversions(self, payment: _Payment) -> None:
        item = payment.item
        # The pixel the payment's events go to, as funil.payments.transitions chooses it.
        pixel = item.get("pixel_id") or payment.attribution.get("pixel_id")
        kinds = {
            EventKind.INITIATE_CHECKOUT: item.get("created_at"),
            EventKind.PURCHASE: item.get("purchase_enqueued_at"),
            EventKind.REFUND: item.get("refund_enqueued_at"),
        }
        for kind, queued_at in kinds.items():
            if kind is EventKind.INITIATE_CHECKOUT and not item.get("pixel_id"):
                continue  # the checkout queues it only for a payment with a pixel (funil.bot.checkout)
            event_id = f"{EVENT_ID_PREFIX[kind]}{payment.payment_id}"
            record = self._conversion([pixel if isinstance(pixel, str) else None], event_id)
            if record is not None:
                self._conversion_event(record)
            elif queued_at:
                self._queued(kind, event_id, pixel, queued_at)

    def _payment_destinations(self, payment: _Payment) -> None:
        """The payment's events at the tenant's destinations beyond Meta (docs/destinations.md)."""
        if self.destination_items is None:
            index = keys.tenant_destination_index(self.tenant_id)
            found, _ = self.items.query_page(
                "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
                {":pk": index["gsi1pk"], ":prefix": index["gsi1sk"]},
                index="gsi1",
                limit=MAX_DESTINATIONS,
            )
            self.destination_items = [item for item in found if self._ours(item)]
        paid = payment.payment_id
        steps = len(refund_steps(payment.item))
        event_ids = [
            f"ic_{paid}",
            f"purchase_{paid}",
            *(f"refund_{paid}" + (f"_{n + 1}" if n else "") for n in range(steps)),
        ]
        for destination in self.destination_items:
            for event_id in event_ids:
                if self.conversion_reads >= MAX_CONVERSIONS:
                    return
                self.conversion_reads += 1
                record = self._get(*keys.destination_record(str(destination.get("destination_id")), event_id))
                if record is not None:
                    self._destination_event(record)

    def _destination_event(self, record: Mapping[str, Any]) -> None:
        given = record.get("summary")
        summary: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        kind, status = record.get("destination_kind"), record.get("status")
        self._add(
            record.get("sent_at") or record.get("updated_at") or record.get("created_at"),
            "conversion",
            f"{record.get('kind')} to {kind} ({record.get('destination_id')}): {status}",
            {
                "event": record.get("kind"),
                "event_id": record.get("event_id"),
                "destination_id": record.get("destination_id"),
                "destination_kind": kind,
                "status": status,
                "attempts": record.get("attempts"),
                "sent_at": record.get("sent_at"),
                "http_status": record.get("http_status"),
                "reason": record.get("reason"),
                "error": _text(record.get("error_message")),
                "as": summary.get("event"),
                "value_cents": summary.get("value_cents"),
                "currency": summary.get("currency"),
            },
        )

    def _lead_event(
        self, lead: Mapping[str, Any], lead_key: tuple[str, int], payments: Iterable[Mapping[str, Any]]
    ) -> None:
        """The lead's Lead event, at the pixel it was sent to (the lead's, or one its sales name)."""
        pixels: list[str | None] = [lead.get("pixel_id")]
        attribution = lead.get("attribution")
        if isinstance(attribution, Mapping):
            pixels.append(attribution.get("pixel_id"))
        for payment in payments:
            pixels.append(payment.get("pixel_id"))
        candidates = [pixel for pixel in pixels if isinstance(pixel, str) and pixel]
        event_id = lead_event_id(*lead_key)
        record = self._conversion(candidates, event_id) if candidates else None
        if record is not None:
            self._conversion_event(record)
        elif lead.get("lead_event_at") and candidates:
            self._queued(EventKind.LEAD, event_id, candidates[0], lead["lead_event_at"])

    def _conversion_event(self, record: Mapping[str, Any]) -> None:
        kind = record.get("kind") or record.get("event_name")
        status = record.get("status")
        payload = record.get("payload")
        user_data = payload.get("user_data") if isinstance(payload, Mapping) else None
        custom = payload.get("custom_data") if isinstance(payload, Mapping) else None
        quality = record.get("match_quality")
        event_time = record.get("event_time")
        error = {
            "code": record.get("error_code"),
            "subcode": record.get("error_subcode"),
            "type": record.get("error_type"),
            "message": _text(record.get("error_user_message") or record.get("error_message")),
        }
        self._add(
            record.get("sent_at") or record.get("updated_at") or record.get("created_at"),
            "conversion",
            f"{kind} to Meta: {status}",
            {
                "event": kind,
                "event_id": record.get("event_id"),
                "pixel_id": record.get("pixel_id"),
                "status": status,
                "attempts": record.get("attempts"),
                "event_time": _epoch_iso(event_time),
                "sent_at": record.get("sent_at"),
                "fbtrace_id": record.get("fbtrace_id"),
                "http_status": record.get("http_status"),
                "reason": record.get("reason"),
                "error": error if any(value is not None for value in error.values()) else None,
                "notes": record.get("notes"),
                "user_data_keys": sorted(user_data) if isinstance(user_data, Mapping) else None,
                "match_quality": _match_quality(quality),
                "value": custom.get("value") if isinstance(custom, Mapping) else None,
                "currency": custom.get("currency") if isinstance(custom, Mapping) else None,
            },
        )

    def _queued(self, kind: EventKind, event_id: str, pixel: object, at: object) -> None:
        """An event handed to the conversions queue whose delivery record is not there (yet)."""
        detail = {"event": kind.value, "event_id": event_id, "pixel_id": pixel, "status": "queued"}
        self._add(at, "conversion", f"{kind.value} to Meta: queued, no outcome recorded", detail)


# -- small readers ----------------------------------------------------------------------------------


def _lead_of(item: Mapping[str, Any]) -> tuple[str, int] | None:
    """The (bot, Telegram user) of a lead or a payment."""
    bot_id, user = item.get("bot_id"), item.get("telegram_user_id")
    if isinstance(bot_id, str) and isinstance(user, int) and not isinstance(user, bool):
        return bot_id, user
    return None  # a Stars payment without a lead, or anonymised by a data-subject request


def _names(lead: Mapping[str, Any], token: str) -> bool:
    """Whether a lead item names the click token (its attribution, first or last touch)."""
    for name in ("attribution", "first_touch", "last_touch"):
        value = lead.get(name)
        if isinstance(value, Mapping) and value.get("click_token") == token:
            return True
    return False


def _alive(click: Mapping[str, Any], now: datetime) -> bool:
    """DynamoDB serves an expired click until it deletes it: expiry is read here, never left to TTL."""
    expires_at = click.get("expires_at")
    return not isinstance(expires_at, int) or expires_at > to_epoch_s(now)


def _utm(value: object) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    return {name if name.startswith("utm_") else f"utm_{name}": text for name, text in value.items()} or None


def _ad(value: object) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    return {name: value[name] for name in _AD_FIELDS if value.get(name)} or None


def _visitor(value: object) -> Any:
    if not isinstance(value, Mapping) or not value.get("device"):
        return "unknown"
    return {name: value.get(name) for name in ("device", "os", "browser", "in_app") if value.get(name)}


def _match_quality(value: object) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    present = value.get("keys")
    return {
        "score": value.get("score"),
        "grade": value.get("grade"),
        "keys": [str(key) for key in present] if isinstance(present, list) else [],
    }


def _money(cents: object, currency: object) -> str:
    if not isinstance(cents, int) or isinstance(cents, bool):
        return "an unknown amount"
    if currency == "XTR":
        return f"{cents} Stars"
    return f"{cents // 100}.{cents % 100:02d} {currency or 'BRL'}"


def _text(value: object) -> str | None:
    return str(value)[:MAX_TEXT] if value else None


def _epoch_iso(value: object) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return iso(datetime.fromtimestamp(value, UTC))


def _clean(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The detail without empty values (an absent field is not shown)."""
    return {name: value for name, value in detail.items() if value not in (None, "", [], {})}
