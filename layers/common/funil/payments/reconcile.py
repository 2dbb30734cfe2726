"""The reconciler: every pending payment, oldest first, page by page, until its charge expires.

For each pending payment it asks the payment's gateway about the charge and applies the answer
through the same state machine as the webhook (``service.apply``); a charge past its expiry that
is still unpaid is cancelled at the gateway when it can be and the payment becomes ``expired``
(a late payment may still move ``expired → paid``). Payments leave the pending index when they
leave ``pending``, so every run starts again from the oldest: nothing starves.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from funil.clock import parse_iso
from funil.payments import transitions
from funil.payments.gateways.base import ChargeStatus, GatewayError
from funil.payments.observations import Observation, apply
from funil.payments.ports import Deps

log = logging.getLogger(__name__)


def reconcile_one(deps: Deps, payment: dict[str, Any], gateways: dict[str, dict[str, Any] | None]) -> str:
    payment_id = str(payment["payment_id"])
    now = deps.now()
    past_expiry = now >= parse_iso(str(payment["charge_expires_at"]))
    gateway_id = payment.get("gateway_id")
    if gateway_id and gateway_id not in gateways:
        gateways[gateway_id] = deps.payments.gateway(str(gateway_id))
    gateway = gateways.get(gateway_id) if gateway_id else None
    charge_id = payment.get("gateway_charge_id")
    if gateway is None or gateway.get("tenant_id") != payment.get("tenant_id") or not charge_id:
        if past_expiry:
            return "expired" if transitions.mark_expired(deps.items, payment_id, now).changed else "unchanged"
        return "waiting"
    adapter = deps.adapter(gateway)
    try:
        charge = adapter.get_charge(str(charge_id))
    except GatewayError as error:
        log.warning("reconciler: gateway error: %s", error, extra={"payment_id": payment_id})
        if past_expiry:
            return "expired" if transitions.mark_expired(deps.items, payment_id, now).changed else "unchanged"
        return "gateway_error"
    if charge.status is ChargeStatus.PENDING or charge.status is ChargeStatus.UNKNOWN:
        if not past_expiry:
            return "pending"
        if adapter.capabilities.can_cancel:
            try:
                adapter.cancel_charge(str(charge_id))
            except GatewayError as error:
                log.warning("reconciler: cancel failed: %s", error, extra={"payment_id": payment_id})
        return "expired" if transitions.mark_expired(deps.items, payment_id, now).changed else "unchanged"
    return apply(deps, payment, Observation.of_charge(charge, adapter.kind))


def reconcile(deps: Deps, budget_seconds: float = 240.0, page_size: int = 100) -> dict[str, int]:
    """Walk all pending payments oldest first within the time budget. Returns counts per outcome."""
    started = time.monotonic()
    counts: Counter[str] = Counter()
    gateways: dict[str, dict[str, Any] | None] = {}
    for payment in deps.payments.all_pending(page_size):
        if time.monotonic() - started > budget_seconds:
            counts["out_of_time"] += 1
            break
        if payment.get("status") != "pending":
            continue
        try:
            counts[reconcile_one(deps, payment, gateways)] += 1
        except Exception:
            log.exception("reconciler: payment failed", extra={"payment_id": payment.get("payment_id")})
            counts["error"] += 1
    log.info("reconciler done", extra={"counts": dict(counts)})
    return dict(counts)
