"""What a change to the table counts for: a stream record's images → facts (metrics under a key, on a day).

Facts are derived from the change itself (the old and the new image), never from a read, so a record
counts the same however often and in whatever order it comes:

- a lead item inserted: one lead, on the day of its first ``/start``, under its click's dimensions
  (an organic lead under none), and its click → lead time (a suspect lead too when that time is
  shorter than a person can manage, ``funil.analytics.quality.assess_start``);
- a payment inserted: one checkout, on the day it was created;
- a payment becoming ``paid`` (also late, from ``expired``): one sale and its revenue (Stars apart:
  ``stars_sales``, ``stars``) on the day it was paid, and its lead → sale time;
- more of a payment refunded than before (a partial refund, then the rest): that much in
  ``refunds_cents``, on the day of the sale, so a refund lowers the day that sold.

Leads, checkouts and sales count under the last attributed click (the payment's ``attribution``);
checkouts and sales also under the lead's first attributed click (``ft_*`` metrics, its link, UTMs and
ad). Clicks are counted in batches by ``funil.analytics.stream`` (their quality needs the batch).
Business days are Brasília's (UTC-3: Brazil has kept no daylight saving time since 2019).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from funil.analytics.dimensions import Key, attributed
from funil.analytics.quality import assess_start
from funil.clock import parse_iso
from funil.payments.amounts import own_cents

BRASILIA = timezone(timedelta(hours=-3), "BRT")
STARS = "XTR"
SALE_STATUSES = frozenset({"paid", "refunded"})

# What the IP database knows of an anonymised address (``country``, ``region``), or None.
NetworkOf = Callable[[str | None], Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Fact:
    tenant_id: str
    day: str  # yyyy-mm-dd, Brasília
    key: Key
    metrics: Mapping[str, int]
    latency: tuple[tuple[str, float], ...] = ()


def business_day(moment: datetime) -> str:
    return moment.astimezone(BRASILIA).date().isoformat()


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = parse_iso(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _seconds(since: Any, until: datetime) -> float | None:
    start = _moment(since)
    return (until - start).total_seconds() if start else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _status(payment: Mapping[str, Any]) -> str:
    status = payment.get("status")
    return status if isinstance(status, str) else ""


def _cents(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def lead_facts(lead: Mapping[str, Any], network_of: NetworkOf) -> list[Fact]:
    tenant_id, started = lead.get("tenant_id"), _moment(lead.get("first_seen_at"))
    if not isinstance(tenant_id, str) or not tenant_id or started is None:
        return []
    attribution = _mapping(lead.get("attribution")) if lead.get("attributed") else {}
    bot_id = lead.get("bot_id") if isinstance(lead.get("bot_id"), str) else None
    key = attributed(attribution, bot_id=bot_id, network=network_of(attribution.get("ip_anon")))
    latency: tuple[tuple[str, float], ...] = ()
    metrics = {"leads": 1}
    if attribution and (seconds := _seconds(attribution.get("clicked_at"), started)) is not None:
        latency = (("click_to_lead", seconds),)
        if assess_start(seconds):  # faster than ad → bridge page → Telegram → Start can be
            metrics["suspect_leads"] = 1
    return [Fact(tenant_id, business_day(started), key, metrics, latency)]


def _refunded_cents(payment: Mapping[str, Any]) -> int:
    if "refunded_cents" in payment:
        return min(_cents(payment.get("refunded_cents")), own_cents(payment))
    return own_cents(payment) if _status(payment) == "refunded" else 0


def _keys(payment: Mapping[str, Any], network_of: NetworkOf) -> tuple[Key, Key]:
    """The payment's last-touch key (its attribution snapshot) and first-touch key (the lead's first
    attributed click: link, UTMs and ad; the rest is known of the last click only)."""
    attribution = _mapping(payment.get("attribution"))
    bot_id = payment.get("bot_id") if isinstance(payment.get("bot_id"), str) else None
    last = attributed(attribution, bot_id=bot_id, network=network_of(attribution.get("ip_anon")))
    first_touch = _mapping(attribution.get("first_touch")) or attribution
    first = attributed({name: first_touch.get(name) for name in ("link_slug", "utm", "ad")}, bot_id=bot_id)
    return last, first


def payment_facts(old: Mapping[str, Any] | None, new: Mapping[str, Any], network_of: NetworkOf) -> list[Fact]:
    """``old`` is None for an inserted payment."""
    tenant_id = new.get("tenant_id")
    if not isinstance(tenant_id, str) or not tenant_id:
        return []
    inserted, old = old is None, old or {}
    facts: list[Fact] = []
    last: Key | None = None
    first: Key | None = None

    def keys() -> tuple[Key, Key]:
        nonlocal last, first
        if last is None or first is None:
            last, first = _keys(new, network_of)
        return last, first

    stars = new.get("currency") == STARS
    amount = own_cents(new)
    # An order bump's part is charged inside its main payment's checkout: no checkout of its own.
    if inserted and not new.get("bundle_of") and (created := _moment(new.get("created_at"))):
        last_key, first_key = keys()
        day = business_day(created)
        facts.append(Fact(tenant_id, day, last_key, {"checkouts": 1}))
        facts.append(Fact(tenant_id, day, first_key, {"ft_checkouts": 1}))
    sold_at = _moment(new.get("paid_at")) or _moment(new.get("confirmed_at"))
    if _status(new) in SALE_STATUSES and _status(old) not in SALE_STATUSES and sold_at:
        last_key, first_key = keys()
        day = business_day(sold_at)
        sale = {"stars_sales": 1, "stars": amount} if stars else {"revenue_cents": amount}
        sale["sales"] = 1
        lead_since = _mapping(new.get("attribution")).get("lead_since")
        seconds = _seconds(lead_since, sold_at)
        latency = (("lead_to_sale", seconds),) if seconds is not None else ()
        facts.append(Fact(tenant_id, day, last_key, sale, latency))
        facts.append(Fact(tenant_id, day, first_key, {f"ft_{name}": value for name, value in sale.items()}))
    refunded = _refunded_cents(new) - _refunded_cents(old)
    if refunded > 0 and not stars:
        last_key, first_key = keys()
        sale_day = sold_at or _moment(new.get("created_at"))
        if sale_day is not None:
            day = business_day(sale_day)
            facts.append(Fact(tenant_id, day, last_key, {"refunds_cents": refunded}))
            facts.append(Fact(tenant_id, day, first_key, {"ft_refunds_cents": refunded}))
    return facts
