"""Routing a new payment's PIX charge through the tenant's gateways (stand-in, being replaced).

``route_charge(pay, payment, description) -> RoutedCharge`` or ``NoCharge``. Every attempt is
recorded (``ATTEMPT#nn`` under the payment, pattern 19); the payment then carries the gateway, its
charge id (pattern 15) and the BR Code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from funil.clock import iso
from funil.payments.gateways.base import Charge, ChargeRequest, GatewayError
from funil.payments.models import Payment, charge_index, payment_key
from funil.payments.service import Deps

log = logging.getLogger(__name__)


class NoCharge(Exception):
    """No gateway of the tenant could create the charge."""


@dataclass(frozen=True, slots=True)
class RoutedCharge:
    gateway_id: str
    charge: Charge


def route_charge(pay: Deps, payment: Payment, description: str) -> RoutedCharge:
    gateways = sorted(
        (item for item in pay.payments.tenant_gateways(payment.tenant_id) if item.get("enabled", True)),
        key=lambda item: (int(item.get("priority") or 1), -int(item.get("weight") or 1), str(item["gateway_id"])),
    )
    if not gateways:
        raise NoCharge("the tenant has no enabled gateway")
    request = ChargeRequest(
        payment_id=payment.payment_id,
        amount_cents=payment.amount_cents,
        description=description[:140],
        expires_in_seconds=max(60, int(_parse(payment.charge_expires_at) - _parse(payment.created_at))),
    )
    for number, gateway in enumerate(gateways, start=1):
        gateway_id = str(gateway["gateway_id"])
        attempt: dict[str, Any] = {"gateway_id": gateway_id, "at": iso(pay.now())}
        try:
            charge = pay.adapter(gateway).create_charge(request)
        except GatewayError as error:
            attempt.update({"outcome": "ambiguous" if error.ambiguous else "failed", "error": str(error)[:200]})
            pay.payments.put_attempt(payment.payment_id, number, attempt)
            log.warning(
                "PIX charge failed at a gateway", extra={"payment_id": payment.payment_id, "gateway": gateway_id}
            )
            if error.ambiguous:
                break
            continue
        pay.payments.put_attempt(payment.payment_id, number, {**attempt, "outcome": "created"})
        _record_charge(pay, payment, gateway_id, charge)
        return RoutedCharge(gateway_id, charge)
    raise NoCharge("no gateway created the charge")


def _parse(text: str) -> float:
    from funil.clock import parse_iso

    return parse_iso(text).timestamp()


def _record_charge(pay: Deps, payment: Payment, gateway_id: str, charge: Charge) -> None:
    index = charge_index(gateway_id, charge.gateway_charge_id)
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
    pay.items.update(*payment_key(payment.payment_id), expression, fields, condition="attribute_exists(pk)")
