"""``POST /pay/{gateway_id}/{secret}``: a gateway's webhook, verified, matched and applied once.

Order of checks: the gateway must exist and the URL secret match its hash in constant time before
anything else is read — an unknown gateway and a wrong secret get the same 404 and body, so the
route does not tell which gateway ids exist (every gateway treats any 4xx alike); the raw webhook
is stored redacted (``funil.payments.redaction``, pattern 20); the gateway's own scheme verifies
it (401 when forged or replayed); unsigned gateways' webhooks are only hints and the charge is
re-read with the tenant's credentials. The payment is matched by our reference or (gateway, charge
id) **within the gateway's tenant only**; an unknown payment answers 200 with a warning (the
gateway stops); a transient failure answers 503 (the gateway retries).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from funil import keys
from funil.clock import iso, to_epoch_s
from funil.event_kinds import AlertKind
from funil.observability import anomaly, count
from funil.payments.gateways.base import (
    Charge,
    ChargeStatus,
    GatewayAdapter,
    GatewayError,
    WebhookAuth,
    WebhookEvent,
    WebhookRejected,
)
from funil.payments.observations import Observation, apply
from funil.payments.ports import Deps
from funil.payments.redaction import redact
from funil.payments.storage import url_secret_matches
from funil.untrusted import UntrustedInput, load_json, reject

log = logging.getLogger(__name__)

RAW_TTL_DAYS = 30
RAW_MAX_CHARS = 32_000
MAX_CHARGE_ID = 256  # no gateway's charge id is longer; a longer one is no key of ours
_PAYMENT_ID = re.compile(r"[0-9a-f]{32}")


def store_raw(
    deps: Deps,
    gateway: Mapping[str, Any],
    headers: Mapping[str, str],
    body: bytes,
    query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The webhook as received, redacted (pattern 20); the item written."""
    now = deps.now()
    webhook_id = uuid.uuid4().hex
    try:
        stored_body: Any = redact(load_json(body))
    except UntrustedInput:
        stored_body = "[not json]"
    pk, sk = keys.raw_webhook(gateway["gateway_id"], iso(now), webhook_id)
    item = {
        "pk": pk,
        "sk": sk,
        "type": "webhook",
        "tenant_id": gateway["tenant_id"],
        "gateway_id": gateway["gateway_id"],
        "received_at": iso(now),
        "headers": redact(dict(headers)),
        "query": redact(dict(query or {})),
        "body": json.dumps(stored_body)[:RAW_MAX_CHARS],
        "expires_at": to_epoch_s(now + timedelta(days=RAW_TTL_DAYS)),
    }
    deps.items.put(item)
    return item


def record_for_payment(
    deps: Deps, raw: Mapping[str, Any], payment: Mapping[str, Any], seen: Observation, result: str
) -> None:
    """What a webhook said about a payment and what it did, under the payment (pattern 35): raw
    webhooks are keyed by gateway and time, so this is how a sale's trace finds its own. One per
    (payment, raw webhook), since a webhook may speak for several payments (API Pix batches them);
    no personal data, the raw webhook's TTL."""
    deps.items.put(
        {
            "pk": keys.payment(str(payment["payment_id"]))[0],
            "sk": raw["pk"],  # the raw webhook's own key
            "type": "payment_webhook",
            "tenant_id": raw["tenant_id"],
            "payment_id": payment["payment_id"],
            "gateway_id": raw["gateway_id"],
            "webhook_id": str(raw["pk"]).rpartition("#")[2],
            "received_at": raw["received_at"],
            "event": seen.kind,
            "status": seen.status.value,
            "amount_cents": seen.amount_cents,
            "currency": seen.currency,
            "result": result,
            "expires_at": raw["expires_at"],
        }
    )


def find_payment(
    deps: Deps, gateway: Mapping[str, Any], reference: str | None, charge_id: str | None
) -> dict[str, Any] | None:
    """Exact match within the gateway's tenant: our reference first, then (gateway, charge id)."""
    payment = None
    if isinstance(reference, str) and _PAYMENT_ID.fullmatch(reference):
        payment = deps.payments.get(reference)
    if payment is None and isinstance(charge_id, str) and 0 < len(charge_id) <= MAX_CHARGE_ID:
        payment = deps.payments.by_gateway_charge(str(gateway["gateway_id"]), charge_id)
    if payment is None:
        return None
    if payment.get("tenant_id") != gateway.get("tenant_id"):
        log.warning("webhook names another tenant's payment: ignored", extra={"gateway_id": gateway["gateway_id"]})
        return None
    if payment.get("gateway_id") not in (None, gateway["gateway_id"]):
        attempts = {a.get("gateway_id") for a in deps.payments.attempts(str(payment["payment_id"]))}
        if gateway["gateway_id"] not in attempts:
            log.warning(
                "webhook names a payment of another gateway: ignored", extra={"gateway_id": gateway["gateway_id"]}
            )
            return None
    return payment


def _observe(adapter: GatewayAdapter, event: WebhookEvent) -> tuple[Observation, str | None, str | None]:
    """The event as is (signed) or the charge re-read from the gateway (a hint)."""
    if event.needs_refetch or adapter.capabilities.webhook_auth is WebhookAuth.SECRET_URL:
        charge_id = event.gateway_charge_id or (event.reference if adapter.capabilities.we_choose_id else None)
        if not charge_id:
            raise LookupError("hint without a charge id")
        charge: Charge = adapter.get_charge(charge_id)
        seen = Observation.of_charge(charge, adapter.kind, hint=event)
        return seen, charge.reference or event.reference, charge.gateway_charge_id
    seen = Observation(
        status=event.status,
        kind=event.kind,
        amount_cents=event.amount_cents,
        currency=event.currency,
        occurred_at=event.occurred_at,
        payer=event.payer,
        source=adapter.kind,
        refunded_cents=event.refunded_cents,
        refunded_at=event.occurred_at if event.kind != "payment" else None,
    )
    return seen, event.reference, event.gateway_charge_id


def handle_webhook(
    deps: Deps,
    gateway_id: str,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    query: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """The route's logic: (HTTP status, JSON body). ``query``: the webhook URL's query parameters."""
    gateway = deps.payments.gateway(gateway_id) if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", gateway_id) else None
    if not url_secret_matches(gateway, secret):
        count("WebhooksRejected", reason="unknown_gateway" if gateway is None else "url_secret")
        return 404, {"error": "not found"}
    assert gateway is not None
    if not gateway.get("enabled", True):
        log.warning("webhook for a disabled gateway", extra={"gateway_id": gateway_id})
    headers = {key.lower(): value for key, value in headers.items()}
    query = dict(query or {})
    raw = store_raw(deps, gateway, headers, body, query)
    adapter = deps.adapter(gateway)
    try:
        adapter.verify_webhook(headers, body, query)
        events = adapter.parse_webhook(headers, body, query)
    except WebhookRejected as error:
        log.warning("webhook rejected: %s", error, extra={"gateway_id": gateway_id})
        count("WebhooksRejected", reason="signature")
        return 401, {"error": "invalid signature"}
    except GatewayError as error:
        if error.transient:
            log.warning("gateway unavailable during verification: %s", error, extra={"gateway_id": gateway_id})
            return 503, {"error": "gateway unavailable, retry"}
        reject("gateway_webhook", error, gateway_id=gateway_id)
        count("WebhooksRejected", reason="unreadable")
        return 400, {"error": "unreadable webhook"}
    except ValueError as error:  # UntrustedInput, or a field of the wrong shape (its text may quote the body)
        reject(
            "gateway_webhook",
            error if isinstance(error, UntrustedInput) else type(error).__name__,
            gateway_id=gateway_id,
        )
        count("WebhooksRejected", reason="unreadable")
        return 400, {"error": "unreadable webhook"}
    results: list[str] = []
    for event in events:
        try:
            seen, reference, charge_id = _observe(adapter, event)
        except GatewayError as error:
            if error.transient:
                log.warning("gateway unavailable during re-read: %s", error, extra={"gateway_id": gateway_id})
                return 503, {"error": "gateway unavailable, retry"}
            log.warning("charge could not be re-read: %s", error, extra={"gateway_id": gateway_id})
            results.append("unknown")
            continue
        except LookupError:
            results.append("unknown")
            continue
        payment = find_payment(deps, gateway, reference, charge_id)
        if payment is None:
            log.warning("webhook for an unknown payment", extra={"gateway_id": gateway_id, "charge_id": charge_id})
            results.append("unknown")
            continue
        if payment.get("gateway_id") not in (None, gateway_id):
            result = _voided_attempt(deps, payment, seen, gateway_id)
        else:
            result = apply(deps, payment, seen)
        record_for_payment(deps, raw, payment, seen, result)
        results.append(result)
    return 200, {"ok": True, "results": results}


def _voided_attempt(deps: Deps, payment: dict[str, Any], seen: Observation, gateway_id: str) -> str:
    """An event about a charge routing voided, not the one the buyer was shown (``funil.payments.routing``).

    Only a payment counts: the money is real, so the sale stands (confirmed once, as any other),
    and the operator checks for a double payment, whichever charge was paid first. Its expiry,
    cancellation or refund says nothing about the charge the buyer holds: ignored.
    """
    if seen.kind != "payment" or seen.status is not ChargeStatus.PAID:
        log.info("event of a voided routing attempt: ignored", extra={"gateway_id": gateway_id})
        return "ignored:voided_attempt"
    anomaly(
        "voided_attempt_paid",
        "paid through a voided routing attempt",
        payment_id=payment["payment_id"],
        gateway_id=gateway_id,
        shown=payment["gateway_id"],
    )
    detail = (
        f"paid at gateway {gateway_id} on a voided attempt (shown: {payment['gateway_id']}); check for a double payment"
    )
    deps.alerts.open(str(payment["tenant_id"]), AlertKind.VOIDED_ATTEMPT_PAID, str(payment["payment_id"]), detail)
    return apply(deps, payment, seen)
