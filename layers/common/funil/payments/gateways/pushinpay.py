"""PushinPay adapter: ``POST /api/pix/cashIn`` and ``GET /api/transactions/{id}``.

PushinPay (docs at app.theneo.io/pushinpay) takes the amount in integer cents (``value``, minimum
50) and an optional ``webhook_url``; it answers ``id``, ``qr_code`` (the BR Code) and ``status``
(``created`` | ``paid`` | ``canceled``). It signs nothing and carries no reference of ours, so the
webhook is only a hint reached through our secret URL: the transaction is re-read with the
tenant's token. Its API offers no cancel and no expiry for a cash-in: a charge we consider expired
can still be paid (the payment core must treat a late ``paid`` on an expired payment explicitly).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

from funil.clock import Clock, utc_now
from funil.payments.gateways.base import (
    Capabilities,
    Charge,
    ChargeRequest,
    ChargeStatus,
    GatewayConfig,
    GatewayError,
    WebhookAuth,
    WebhookEvent,
    WebhookRegistration,
    WebhookRejected,
    check_answer,
    payer_of,
    to_cents,
)
from funil.payments.gateways.transport import GatewayApi
from funil.untrusted import UntrustedInput, load_json

NAME = "pushinpay"
DEFAULT_BASE_URL = "https://api.pushinpay.com.br"
MIN_AMOUNT_CENTS = 50

STATUS_MAP: dict[str, ChargeStatus] = {
    "created": ChargeStatus.PENDING,
    "pending": ChargeStatus.PENDING,
    "paid": ChargeStatus.PAID,
    "approved": ChargeStatus.PAID,
    "canceled": ChargeStatus.CANCELED,
    "cancelled": ChargeStatus.CANCELED,
    "expired": ChargeStatus.EXPIRED,
    "refunded": ChargeStatus.REFUNDED,
}


class PushinPayAdapter:
    kind = NAME
    capabilities = Capabilities(
        webhook_auth=WebhookAuth.SECRET_URL,
        webhook_registration=WebhookRegistration.PER_CHARGE,
        we_choose_id=False,
        min_amount_cents=MIN_AMOUNT_CENTS,
        can_cancel=False,
        can_list=False,
    )

    def __init__(self, config: GatewayConfig, http: httpx.Client, now: Clock = utc_now) -> None:
        self._remote = GatewayApi.authorized(
            config, http, NAME, default_root=DEFAULT_BASE_URL, credential="token", error_fields=("message",)
        )

    def create_charge(self, request: ChargeRequest) -> Charge:
        if request.amount_cents < MIN_AMOUNT_CENTS:
            raise GatewayError(f"{NAME}: minimum amount is {MIN_AMOUNT_CENTS} cents", transient=False)
        body: dict[str, Any] = {"value": request.amount_cents}
        if request.webhook_url:
            body["webhook_url"] = request.webhook_url
        data = self._remote.call("POST", "/api/pix/cashIn", operation="create", creating=True, json=body)
        charge = self._to_charge(data, reference=request.payment_id)
        if charge.amount_cents != request.amount_cents or not charge.brcode:
            raise GatewayError(f"{NAME} create: unexpected answer (amount or code)", transient=False, ambiguous=True)
        return charge

    def get_charge(self, gateway_charge_id: str) -> Charge:
        if not gateway_charge_id or "/" in gateway_charge_id:
            raise GatewayError(f"{NAME} get: invalid transaction id", transient=False)
        response = self._remote.send("GET", f"/api/transactions/{gateway_charge_id}", operation="get")
        data = (
            self._remote.read_json(response, "get")
            if response.status_code < 400 or response.status_code == 404
            else None
        )
        if response.status_code == 404 or data == []:
            # PushinPay answers an unknown id with [] (documented), sometimes with status 200.
            raise GatewayError(f"{NAME} get: transaction not found", transient=False)
        if response.status_code >= 400:
            raise self._remote.refused(response, "get")
        return self._to_charge(data, reference=None)

    def cancel_charge(self, gateway_charge_id: str) -> None:
        # No cancel endpoint for a cash-in (capabilities.can_cancel is False).
        raise GatewayError(f"{NAME} cancel: PushinPay has no API to cancel a PIX charge", transient=False)

    def list_charges(self, start: datetime, end: datetime) -> list[Charge]:
        raise GatewayError(f"{NAME} list: PushinPay has no listing API; poll get_charge per payment", transient=False)

    def register_webhook(self, url: str) -> None:
        return None  # the URL goes with each cash-in (webhook_url)

    def check_credentials(self) -> None:
        """``GET /api/transactions/{id}`` of an id nobody has: PushinPay authenticates the token first
        (401 when it is not one), then answers ``[]`` (404, as documented; sometimes 200). A fresh id
        each time: its limit is one query a minute per transaction. Creates nothing."""
        response = self._remote.send("GET", f"/api/transactions/{uuid.uuid4()}", operation="check_credentials")
        data = check_answer(NAME, response.status_code, response.content, accept=frozenset({404}))
        if data != [] and not isinstance(data, dict):
            raise GatewayError(f"{NAME} check_credentials: not a PushinPay API answer", transient=False)

    def _to_charge(self, data: Any, *, reference: str | None) -> Charge:
        if not isinstance(data, dict) or not data.get("id"):
            raise GatewayError(f"{NAME}: unexpected transaction payload", transient=True)
        raw_status = str(data.get("status", ""))
        details = data.get("pix_details") if isinstance(data.get("pix_details"), dict) else {}
        return Charge(
            # PushinPay writes one id lower case (create) and upper case (GET): kept lower case, so
            # the charge index and the re-read meet whichever it sent.
            gateway_charge_id=str(data["id"]).lower(),
            reference=reference,
            status=STATUS_MAP.get(raw_status.lower(), ChargeStatus.UNKNOWN),
            amount_cents=to_cents(data.get("value", 0), NAME),  # cents, a number or a string ("1333")
            currency="BRL",
            brcode=data.get("qr_code") or (details or {}).get("emv"),
            expires_at=None,
            paid_at=None,
            raw_status=raw_status,
            payer=payer_of(name=data.get("payer_name"), document=data.get("payer_national_registration")),
        )

    # -- webhooks: unsigned hints behind our secret URL --------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None) -> None:
        # Nothing to verify: PushinPay signs nothing. The route already checked our URL secret;
        # parse_webhook's events are hints and the charge is re-read before anything changes.
        return None

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> list[WebhookEvent]:
        payload: Any
        try:
            payload = load_json(body, empty={})
        except UntrustedInput as error:
            if body.lstrip()[:1] in (b"{", b"["):  # JSON we refuse (too deep, too large): not a form
                raise WebhookRejected(f"{NAME}: {error}") from None
            # Accept a form-encoded notification too.
            payload = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        if not isinstance(payload, dict):
            raise WebhookRejected(f"{NAME}: notification is not an object")
        transaction_id = str(payload.get("id") or "").strip().lower()
        if not transaction_id or "/" in transaction_id or len(transaction_id) > 64:
            raise WebhookRejected(f"{NAME}: notification without a transaction id")
        return [
            WebhookEvent(
                kind="payment",
                gateway_charge_id=transaction_id,
                status=ChargeStatus.UNKNOWN,
                needs_refetch=True,
                payer=payer_of(name=payload.get("payer_name"), document=payload.get("payer_national_registration")),
            )
        ]
