"""Routing a new payment's PIX charge through the tenant's gateways (docs/architecture.md §2.4).

Order: the tenant's enabled gateways by priority (lower first); within one priority a weighted
random order (weight 0 = only a fallback), so a 3:1 split sends three charges in four to the first
gateway and still fails over to the second. A gateway whose minimum amount is above the payment's is
skipped. The first gateway that creates the charge wins; a failure moves on to the next one.

A timeout during creation is *ambiguous*: the charge may exist, and a buyer must never hold a
payable charge we do not know about. Before failing over, the attempt is voided: its charge is
found (our payment id is the charge id where we choose it, else the gateway's listing is searched
for our reference) and cancelled. When it can be neither found nor cancelled the attempt is
recorded as ``void_unverified`` and reported as an anomaly. Its code was never shown to the buyer, so a
payment of it is unlikely; if one comes, its webhook still confirms the sale (and alerts), while
its other events (expired, cancelled, refunded) are ignored: they do not speak for the charge the
buyer holds (``funil.payments.entry``). A gateway whose configuration cannot be loaded is a
failed attempt, not the end of routing.

Every attempt is recorded (``ATTEMPT#nn`` under the payment, pattern 19); the payment then carries
the gateway, its charge id (pattern 15), the BR Code and the charge's expiry.

A gateway that learns our webhook URL per charge (``WebhookRegistration.PER_CHARGE``) gets it on
the charge: ``<PUBLIC_BASE_URL>/pay/<gateway_id>/<URL secret>`` (``Deps.webhook_url``); the others
were told once, at setup (``funil.payments.setup``). Without a URL the charge is still created and
the reconciler confirms it, later.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from funil import keys
from funil.alerts.gateways import gateway_alerts
from funil.clock import iso, parse_iso
from funil.observability import anomaly
from funil.payments.gateways.base import (
    Charge,
    ChargeRequest,
    ChargeStatus,
    GatewayAdapter,
    GatewayError,
    WebhookRegistration,
)
from funil.payments.models import Payment
from funil.payments.ports import Deps

log = logging.getLogger(__name__)

LISTING_SLACK = timedelta(minutes=2)  # gateway clocks drift; search a little around the attempt
_RNG = random.Random()


class NoCharge(Exception):
    """No gateway of the tenant could create the charge."""


@dataclass(frozen=True, slots=True)
class RoutedCharge:
    gateway_id: str
    charge: Charge


def gateway_order(gateways: Iterable[dict[str, Any]], rng: random.Random = _RNG) -> list[dict[str, Any]]:
    """Enabled gateways by priority, weighted-random within a priority (Efraimidis–Spirakis keys:
    ``u ** (1 / weight)`` sorted high first draws each gateway first with probability weight / total)."""
    enabled = sorted(
        (item for item in gateways if item.get("enabled", True)),
        key=lambda item: (int(item.get("priority") or 0), str(item["gateway_id"])),
    )
    ordered: list[dict[str, Any]] = []
    for _, group in groupby(enabled, key=lambda item: int(item.get("priority") or 0)):
        keyed = [(_draw(int(item.get("weight", 1)), rng), item) for item in group]
        ordered.extend(item for _, item in sorted(keyed, key=lambda pair: pair[0], reverse=True))
    return ordered


def _draw(weight: int, rng: random.Random) -> float:
    return rng.random() ** (1.0 / weight) if weight > 0 else -1.0


def route_charge(pay: Deps, payment: Payment, description: str, rng: random.Random = _RNG) -> RoutedCharge:
    gateways = gateway_order(pay.payments.tenant_gateways(payment.tenant_id), rng)
    if not gateways:
        raise NoCharge("the tenant has no enabled gateway")
    request = ChargeRequest(
        payment_id=payment.payment_id,
        amount_cents=payment.amount_cents,
        description=description[:140],
        expires_in_seconds=max(
            60, int((parse_iso(payment.charge_expires_at) - parse_iso(payment.created_at)).total_seconds())
        ),
    )
    number = 0
    failed_gateways: list[str] = []
    for gateway in gateways:
        gateway_id = str(gateway["gateway_id"])
        try:
            adapter = pay.adapter(gateway)
        except Exception as error:  # a broken config or key must not stop the other gateways
            number += 1
            # The type only: a config error's text may quote a credential.
            failed = {"outcome": "failed", "error": f"config: {type(error).__name__}"}
            pay.payments.put_attempt(
                payment.payment_id, number, {"gateway_id": gateway_id, "at": iso(pay.now()), **failed}
            )
            anomaly("gateway_config_unusable", "a gateway's configuration cannot be used", gateway_id=gateway_id)
            failed_gateways.append(gateway_id)
            continue
        if adapter.capabilities.min_amount_cents > payment.amount_cents:
            log.info("gateway skipped: amount below its minimum", extra={"gateway": gateway_id})
            continue
        number += 1
        attempt: dict[str, Any] = {"gateway_id": gateway_id, "at": iso(pay.now())}
        started = time.perf_counter()
        try:
            charge = adapter.create_charge(_for_gateway(pay, gateway, adapter, request))
        except GatewayError as error:
            attempt.update(error=str(error)[:200], elapsed_ms=_elapsed_ms(started), outcome="failed")
            if error.ambiguous:
                attempt["outcome"], found = _void(adapter, payment, pay.now())
                if found:
                    attempt["gateway_charge_id"] = found
            pay.payments.put_attempt(payment.payment_id, number, attempt)
            if attempt["outcome"] == "void_unverified":
                anomaly(
                    "void_unverified",
                    "an ambiguous charge could not be voided; its webhook still counts",
                    payment_id=payment.payment_id,
                    gateway_id=gateway_id,
                )
            log.warning(
                "PIX charge failed at a gateway; trying the next",
                extra={"payment_id": payment.payment_id, "gateway": gateway_id, "outcome": attempt["outcome"]},
            )
            failed_gateways.append(gateway_id)
            continue
        attempt.update(outcome="created", gateway_charge_id=charge.gateway_charge_id, elapsed_ms=_elapsed_ms(started))
        pay.payments.put_attempt(payment.payment_id, number, attempt)
        _record_charge(pay, payment, gateway_id, charge)
        gateway_alerts(pay.alerts, pay.items, payment.tenant_id, failed_gateways, charged=gateway_id)
        return RoutedCharge(gateway_id, charge)
    gateway_alerts(pay.alerts, pay.items, payment.tenant_id, failed_gateways, charged=None)
    raise NoCharge("no gateway created the charge")


def _for_gateway(pay: Deps, gateway: dict[str, Any], adapter: GatewayAdapter, request: ChargeRequest) -> ChargeRequest:
    """The request as this gateway needs it: with our webhook URL when the charge must carry it."""
    if adapter.capabilities.webhook_registration is not WebhookRegistration.PER_CHARGE:
        return request
    url = pay.webhook_url(gateway)
    if url is None:
        # Names only: the URL holds the secret. The reconciler still settles the payment.
        log.warning(
            "charge without a webhook URL (PUBLIC_BASE_URL or URL secret missing)",
            extra={"gateway": gateway["gateway_id"]},
        )
        return request
    return request.model_copy(update={"webhook_url": url})


def _void(adapter: GatewayAdapter, payment: Payment, now: datetime) -> tuple[str, str | None]:
    """Make an ambiguous attempt's charge unpayable. Returns the attempt's outcome and the charge id found."""
    charge_id: str | None = None
    try:
        charge_id = _find_charge_id(adapter, payment, now)
        if charge_id is None:
            return ("void_absent" if adapter.capabilities.can_list else "void_unverified"), None
        if not adapter.capabilities.can_cancel:
            return "void_unverified", charge_id
        try:
            adapter.cancel_charge(charge_id)
            return "void_canceled", charge_id
        except GatewayError as error:
            if error.transient:
                raise
            # Nothing cancellable under that id: it was never created, or is no longer payable.
            status = adapter.get_charge(charge_id).status
            return ("void_canceled" if status is not ChargeStatus.PENDING else "void_unverified"), charge_id
    except GatewayError as error:
        if not error.transient and adapter.capabilities.we_choose_id:
            return "void_absent", None  # our id is unknown to the gateway: the charge was never created
        return "void_unverified", charge_id


def _find_charge_id(adapter: GatewayAdapter, payment: Payment, now: datetime) -> str | None:
    if adapter.capabilities.we_choose_id:
        return payment.payment_id
    if not adapter.capabilities.can_list:
        return None
    created = parse_iso(payment.created_at)
    listed = adapter.list_charges(created - LISTING_SLACK, max(created, now) + LISTING_SLACK)
    return next((charge.gateway_charge_id for charge in listed if charge.reference == payment.payment_id), None)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _record_charge(pay: Deps, payment: Payment, gateway_id: str, charge: Charge) -> None:
    index = keys.gateway_charge_index(gateway_id, charge.gateway_charge_id)
    fields: dict[str, Any] = {
        ":gateway": gateway_id,
        ":charge": charge.gateway_charge_id,
        ":brcode": charge.brcode or "",
        ":gsi1pk": index["gsi1pk"],
        ":gsi1sk": index["gsi1sk"],
    }
    expression = (
        "SET gateway_id = :gateway, gateway_charge_id = :charge, brcode = :brcode, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk"
    )
    if charge.expires_at is not None:
        expression += ", charge_expires_at = :expires"
        fields[":expires"] = iso(charge.expires_at)
    pay.items.update(*keys.payment(payment.payment_id), expression, fields, condition="attribute_exists(pk)")
