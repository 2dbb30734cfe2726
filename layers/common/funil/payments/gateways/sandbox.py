"""Sandbox: Funil's own PIX gateway, for trying everything without a bank.

It behaves like a real gateway over HTTP (``local/fakes/sandbox.py`` serves it in tests and in the
local stack): Bearer API key; ``POST /v1/charges`` (idempotent on our ``reference``), ``GET
/v1/charges/{id}``, ``POST /v1/charges/{id}/cancel``, ``GET /v1/charges?start&end``, ``PUT
/v1/webhook``. Its BR Code is real (static format, CRC16/CCITT-FALSE) and carries our reference as
txid (the payment id's 128 bits in base 36: 25 characters, the static txid's maximum).

Webhooks are signed like Stripe's: ``sandbox-signature: t=<epoch s>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">`` with the gateway's webhook secret; a signature older (or newer) than the replay
window (300 s) is rejected, so a captured webhook cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx

from funil.clock import Clock, utc_now
from funil.payments.gateways.base import (
    Capabilities,
    Charge,
    ChargeRequest,
    ChargeStatus,
    GatewayConfig,
    GatewayError,
    Payer,
    WebhookAuth,
    WebhookEvent,
    WebhookRegistration,
    WebhookRejected,
    check_answer,
    fields_of,
    parse_time,
    payer_of,
    to_cents,
)
from funil.payments.gateways.transport import GatewayApi
from funil.untrusted import load_json

NAME = "sandbox"
SIGNATURE_HEADER = "sandbox-signature"
REPLAY_WINDOW_SECONDS = 300
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

STATUS_MAP: dict[str, ChargeStatus] = {
    "pending": ChargeStatus.PENDING,
    "paid": ChargeStatus.PAID,
    "expired": ChargeStatus.EXPIRED,
    "canceled": ChargeStatus.CANCELED,
    "refunded": ChargeStatus.REFUNDED,
    "failed": ChargeStatus.FAILED,
}


def reference_to_txid(payment_id: str) -> str:
    """32 hex digits → 25 base-36 characters (reversible)."""
    number, digits = int(payment_id, 16), []
    while number:
        number, digit = divmod(number, 36)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits)).rjust(25, "0")


def txid_to_reference(txid: str) -> str:
    return f"{int(txid, 36):032x}"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class SandboxAdapter:
    kind = NAME
    capabilities = Capabilities(
        webhook_auth=WebhookAuth.HMAC,
        webhook_registration=WebhookRegistration.PER_ACCOUNT,  # PUT /v1/webhook at setup
        we_choose_id=False,
        min_amount_cents=1,
        can_cancel=True,
        can_list=True,
    )

    def __init__(self, config: GatewayConfig, http: httpx.Client, now: Clock = utc_now) -> None:
        self._config = config
        self._now = now
        # options.webhook_mode = "hint": behave like a gateway that signs nothing (PushinPay-style),
        # so the secret-URL + re-read path can be tried without a bank.
        self._hint_only = config.options.get("webhook_mode") == "hint"
        # The signing secret is needed only where webhooks are verified by their signature.
        config.require(NAME, credentials=("api_key",) if self._hint_only else ("api_key", "webhook_secret"))
        self._remote = GatewayApi(
            http,
            NAME,
            config.api_root(NAME),  # no public default: the sandbox is served by the stack that uses it
            {"authorization": f"Bearer {config.credentials['api_key']}"},
            error_fields=("error",),
        )
        self._webhook_secret = config.credentials.get("webhook_secret", "")
        if self._hint_only:
            self.capabilities = replace(self.capabilities, webhook_auth=WebhookAuth.SECRET_URL)

    def __repr__(self) -> str:
        return f"SandboxAdapter(gateway_id={self._config.gateway_id!r})"

    # --- API ---------------------------------------------------------------------------------

    def create_charge(self, request: ChargeRequest) -> Charge:
        if request.amount_cents < self.capabilities.min_amount_cents:
            raise GatewayError(f"{NAME}: amount below the minimum")
        data = self._remote.call(
            "POST",
            "/v1/charges",
            operation="create",
            creating=True,
            json={
                "reference": request.payment_id,
                "amount_cents": request.amount_cents,
                "currency": request.currency,
                "description": request.description,
                "expires_in_seconds": request.expires_in_seconds,
                "webhook_url": request.webhook_url,
            },
        )
        charge = self._to_charge(data)
        if charge.reference != request.payment_id or charge.amount_cents != request.amount_cents:
            raise GatewayError(f"{NAME}: the charge does not match the request", ambiguous=True)
        return charge

    def get_charge(self, gateway_charge_id: str) -> Charge:
        return self._to_charge(self._remote.call("GET", f"/v1/charges/{_safe_id(gateway_charge_id)}", operation="get"))

    def cancel_charge(self, gateway_charge_id: str) -> None:
        self._remote.call("POST", f"/v1/charges/{_safe_id(gateway_charge_id)}/cancel", operation="cancel")

    def list_charges(self, start: datetime, end: datetime) -> list[Charge]:
        params = {"start": start.isoformat(), "end": end.isoformat()}
        data = self._remote.call("GET", "/v1/charges", operation="list", params=params)
        return [self._to_charge(item) for item in (data.get("charges") or [])]

    def register_webhook(self, url: str) -> None:
        self._remote.call("PUT", "/v1/webhook", operation="register_webhook", json={"url": url})

    def check_credentials(self) -> None:
        """``GET /v1/charges`` over an empty window: authenticated, and it creates nothing."""
        moment = self._now().isoformat()
        response = self._remote.send(
            "GET", "/v1/charges", operation="check_credentials", params={"start": moment, "end": moment}
        )
        data = check_answer(NAME, response.status_code, response.content)
        if not isinstance(data, dict) or not isinstance(data.get("charges"), list):
            raise GatewayError(f"{NAME} check_credentials: not a sandbox API answer")

    # --- webhooks ------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None) -> None:
        if self._hint_only:
            return  # the URL secret was checked; the charge is re-read before anything is trusted
        if not self._webhook_secret:
            raise WebhookRejected(f"{NAME}: no webhook secret configured")
        fields = dict(part.split("=", 1) for part in headers.get(SIGNATURE_HEADER, "").split(",") if "=" in part)
        timestamp_text, received = fields.get("t", ""), fields.get("v1", "")
        # ASCII digits of a plausible epoch only: str.isdigit() admits "²", and a 5,000-digit
        # number exceeds int()'s limit; either would raise instead of rejecting.
        if not re.fullmatch(r"[0-9]{1,12}", timestamp_text) or not received:
            raise WebhookRejected(f"{NAME}: missing signature")
        timestamp = int(timestamp_text)
        expected = sign(self._webhook_secret, body, timestamp).split("v1=", 1)[1]
        # bytes: compare_digest refuses str with non-ASCII characters (TypeError) instead of saying no
        if not hmac.compare_digest(expected.encode(), received.encode("utf-8", "surrogatepass")):
            raise WebhookRejected(f"{NAME}: bad signature")
        if abs(self._now().timestamp() - timestamp) > REPLAY_WINDOW_SECONDS:
            raise WebhookRejected(f"{NAME}: signature outside the replay window")

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> list[WebhookEvent]:
        try:
            payload = load_json(body)
            charge = self._to_charge(payload["data"])
            event_type = str(payload["type"])
        except (ValueError, KeyError, TypeError, GatewayError):
            raise WebhookRejected(f"{NAME}: unreadable webhook") from None
        kind = "refund" if event_type == "charge.refunded" else "payment"
        occurred = charge.paid_at if charge.status is ChargeStatus.PAID else None
        return [
            WebhookEvent(
                kind=kind,
                gateway_charge_id=charge.gateway_charge_id,
                reference=charge.reference,
                status=charge.status,
                amount_cents=charge.amount_cents,
                currency=charge.currency,
                occurred_at=occurred or parse_time(payload.get("created_at")),
                needs_refetch=self._hint_only,
                payer=charge.payer,
            )
        ]

    def _to_charge(self, data: Any) -> Charge:
        if not isinstance(data, dict) or not data.get("id"):
            raise GatewayError(f"{NAME}: unexpected charge payload")
        raw = str(data.get("status") or "")
        return Charge(
            gateway_charge_id=str(data["id"]),
            reference=data.get("reference"),
            status=STATUS_MAP.get(raw, ChargeStatus.UNKNOWN),
            amount_cents=to_cents(data.get("amount_cents") or 0, NAME),
            currency=str(data.get("currency") or "BRL"),
            brcode=data.get("brcode"),
            expires_at=parse_time(data.get("expires_at")),
            paid_at=parse_time(data.get("paid_at")),
            raw_status=raw,
            payer=_payer(data.get("payer")),
        )


def _payer(fields: object) -> Payer | None:
    """The sandbox reports its payer as gateways do: ``name``, ``email``, ``phone``, ``document``,
    ``address`` (``city``, ``state``, ``zip_code``, ``country``)."""
    if not isinstance(fields, dict):
        return None
    address = fields_of(fields.get("address"))
    return payer_of(
        name=fields.get("name"),
        email=fields.get("email"),
        phone=fields.get("phone"),
        document=fields.get("document"),
        city=address.get("city"),
        state=address.get("state"),
        zip_code=address.get("zip_code"),
        country=address.get("country"),
    )


def _safe_id(value: str) -> str:
    if not value or not value.replace("_", "").isalnum() or len(value) > 64:
        raise GatewayError(f"{NAME}: bad charge id")
    return value
