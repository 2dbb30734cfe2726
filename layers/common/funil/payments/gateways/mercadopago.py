"""Mercado Pago adapter: PIX through the payments API, webhooks verified by ``x-signature``.

Wire format (Mercado Pago developers docs, "payments" API and "Webhooks / validate origin"):

- ``POST /v1/payments`` with ``payment_method_id="pix"``, ``transaction_amount`` (reais, a JSON
  number), ``external_reference`` = our payment id, ``X-Idempotency-Key`` = our payment id (a retry
  after a timeout answers the same payment instead of a second one), ``date_of_expiration``,
  ``notification_url``, ``payer.email`` (required by Mercado Pago for PIX). The BR Code is
  ``point_of_interaction.transaction_data.qr_code``.
- ``GET /v1/payments/{id}``; cancel with ``PUT /v1/payments/{id}`` ``{"status": "cancelled"}``;
  ``GET /v1/payments/search?external_reference=…`` finds ours.
- Webhook: header ``x-signature: ts=<ts>,v1=<hex>``, ``v1`` = HMAC-SHA256(secret, manifest) with
  manifest ``id:<data.id>;request-id:<x-request-id>;ts:<ts>;`` where ``data.id`` comes from the
  notification URL's query (lowercased when alphanumeric) and a part that is absent is left out.
  Mercado Pago documents no tolerance for ``ts``: we reject signatures older than
  ``signature_max_age_seconds`` (default 600). The notification carries no status or amount, so
  each event is only a hint: the payment is re-read with ``get_charge``.
- The older IPN-style notification (``?id=<id>&topic=payment``, body ``{"resource", "topic"}``)
  is sent to the same ``notification_url`` and signed by nothing: it gets no signature check
  (refusing it would only make Mercado Pago retry it forever) and is a hint like the rest, the
  payment re-read with our token; other topics (``merchant_order``…) are answered and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
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
    webhook_object,
)
from funil.payments.gateways.transport import GatewayApi
from funil.untrusted import UntrustedInput, load_json

DEFAULT_BASE_URL = "https://api.mercadopago.com"
DEFAULT_MAX_AGE_SECONDS = 600
NAME = "mercadopago"

# Mercado Pago payment status → ours. ``cancelled`` with status_detail ``expired`` is an expiry.
STATUS_MAP: dict[str, ChargeStatus] = {
    "pending": ChargeStatus.PENDING,
    "in_process": ChargeStatus.PENDING,
    "authorized": ChargeStatus.PENDING,
    "approved": ChargeStatus.PAID,
    # A dispute follows an approved payment: the money was received; a lost one becomes charged_back.
    "in_mediation": ChargeStatus.PAID,
    "rejected": ChargeStatus.FAILED,
    "cancelled": ChargeStatus.CANCELED,
    "refunded": ChargeStatus.REFUNDED,
    "charged_back": ChargeStatus.REFUNDED,
}


def _format_time(moment: datetime) -> str:
    # yyyy-MM-dd'T'HH:mm:ss.SSSZ with an explicit offset, as Mercado Pago's examples show.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


class MercadoPagoAdapter:
    kind = NAME
    capabilities = Capabilities(
        webhook_auth=WebhookAuth.HMAC,
        webhook_registration=WebhookRegistration.PER_CHARGE,
        we_choose_id=False,  # Mercado Pago numbers its payments; ours travels as external_reference
        min_amount_cents=1,
        can_cancel=True,
        can_list=True,
    )

    def __init__(self, config: GatewayConfig, http: httpx.Client, now: Clock = utc_now) -> None:
        # Only Mercado Pago's own short error fields are quoted: never headers or our request (the token).
        self._remote = GatewayApi.authorized(
            config,
            http,
            NAME,
            default_root=DEFAULT_BASE_URL,
            credential="access_token",
            error_fields=("error", "message"),
        )
        self._now = now
        self._payer_email = config.options.get("payer_email")
        self._webhook_secret = str(config.credentials.get("webhook_secret") or "")
        try:
            self._max_age = int(config.options.get("signature_max_age_seconds", DEFAULT_MAX_AGE_SECONDS))
        except (TypeError, ValueError):
            raise GatewayError(
                f"{NAME}: signature_max_age_seconds is not a number", fields=("options.signature_max_age_seconds",)
            ) from None

    # -- charges -----------------------------------------------------------------------------

    def create_charge(self, request: ChargeRequest) -> Charge:
        amount = Decimal(request.amount_cents) / 100
        payer_email = request.payer_email or self._payer_email
        if not payer_email:
            raise GatewayError(f"{NAME}: a payer e-mail is required for PIX (set options.payer_email)", transient=False)
        body: dict[str, Any] = {
            # A JSON number; float(Decimal) of a 2-decimal amount round-trips exactly in JSON text.
            "transaction_amount": float(amount),
            "description": (request.description or "Funil")[:255],
            "payment_method_id": "pix",
            "external_reference": request.payment_id,
            "payer": {"email": str(payer_email)},
        }
        body["date_of_expiration"] = _format_time(self._now() + timedelta(seconds=request.expires_in_seconds))
        if request.webhook_url:
            body["notification_url"] = request.webhook_url
        data = self._remote.call(
            "POST",
            "/v1/payments",
            operation="create",
            creating=True,
            json=body,
            headers={"X-Idempotency-Key": request.payment_id},
        )
        charge = self._to_charge(data)
        if charge.amount_cents != request.amount_cents:
            raise GatewayError(f"{NAME} create: answered another amount", transient=False, ambiguous=True)
        if not charge.brcode:
            raise GatewayError(f"{NAME} create: no PIX code in the answer", transient=False, ambiguous=True)
        return charge

    def get_charge(self, gateway_charge_id: str) -> Charge:
        if not (gateway_charge_id.isascii() and gateway_charge_id.isdigit()):
            raise GatewayError(f"{NAME} get: charge id must be numeric", transient=False)
        return self._to_charge(self._remote.call("GET", f"/v1/payments/{gateway_charge_id}", operation="get"))

    def cancel_charge(self, gateway_charge_id: str) -> None:
        if not (gateway_charge_id.isascii() and gateway_charge_id.isdigit()):
            raise GatewayError(f"{NAME} cancel: charge id must be numeric", transient=False)
        try:
            data = self._remote.call(
                "PUT", f"/v1/payments/{gateway_charge_id}", operation="cancel", json={"status": "cancelled"}
            )
        except GatewayError as error:
            # Already approved/expired/cancelled: nothing left to cancel; get_charge tells which.
            if error.transient or self.get_charge(gateway_charge_id).status is ChargeStatus.PENDING:
                raise
            return
        if self._to_charge(data).status is ChargeStatus.PENDING:
            raise GatewayError(f"{NAME} cancel: the payment is still pending", transient=True)

    def find_by_reference(self, reference: str) -> list[Charge]:
        data = self._remote.call(
            "GET",
            "/v1/payments/search",
            operation="search",
            params={"external_reference": reference, "sort": "date_created", "criteria": "desc"},
        )
        return [self._to_charge(item) for item in _results(data)]

    def list_charges(self, start: datetime, end: datetime) -> list[Charge]:
        charges: list[Charge] = []
        offset, limit = 0, 100
        while True:
            data = self._remote.call(
                "GET",
                "/v1/payments/search",
                operation="list",
                params={
                    "range": "date_created",
                    "begin_date": _format_time(start),
                    "end_date": _format_time(end),
                    "sort": "date_created",
                    "criteria": "asc",
                    "offset": str(offset),
                    "limit": str(limit),
                },
            )
            page = _results(data)
            charges.extend(self._to_charge(item) for item in page)
            total = int((data.get("paging") or {}).get("total", 0)) if isinstance(data, dict) else 0
            offset += len(page)
            if not page or offset >= total:
                return charges

    def register_webhook(self, url: str) -> None:
        # Mercado Pago takes the URL per payment (notification_url); the panel holds the secret.
        return None

    def check_credentials(self) -> None:
        """``GET /users/me``: the account the access token belongs to (401 when it is not a token)."""
        response = self._remote.send("GET", "/users/me", operation="check_credentials")
        data = check_answer(NAME, response.status_code, response.content)
        if not isinstance(data, dict) or "id" not in data:
            raise GatewayError(f"{NAME} check_credentials: not a Mercado Pago API answer", transient=False)

    def _to_charge(self, data: Any) -> Charge:
        if not isinstance(data, dict) or "id" not in data:
            raise GatewayError(f"{NAME}: unexpected payment payload", transient=True)
        raw_status = str(data.get("status", ""))
        status = STATUS_MAP.get(raw_status, ChargeStatus.UNKNOWN)
        if raw_status == "cancelled" and data.get("status_detail") == "expired":
            status = ChargeStatus.EXPIRED
        transaction = (data.get("point_of_interaction") or {}).get("transaction_data") or {}
        refunded = data.get("transaction_amount_refunded")
        refunded_cents = to_cents(refunded, NAME, in_reais=True) if refunded not in (None, "", 0) else None
        return Charge(
            gateway_charge_id=str(data["id"]),
            reference=str(data["external_reference"]) if data.get("external_reference") else None,
            status=status,
            amount_cents=to_cents(data.get("transaction_amount", 0), NAME, in_reais=True),
            currency=str(data.get("currency_id") or "BRL"),
            brcode=transaction.get("qr_code"),
            expires_at=parse_time(data.get("date_of_expiration")),
            paid_at=parse_time(data.get("date_approved")),
            raw_status=raw_status,
            payer=self._payer(data),
            refunded_cents=refunded_cents or None,
            refunded_at=_latest_refund(data.get("refunds")),
        )

    def _payer(self, data: Mapping[str, Any]) -> Payer | None:
        """``payer`` (e-mail, names, identification, phone) and ``additional_info.payer`` (its address)."""
        payer = fields_of(data.get("payer"))
        info = fields_of(data.get("additional_info"))
        extra = fields_of(info.get("payer"))
        phone = fields_of(payer.get("phone"))
        phone = phone if phone.get("number") else (fields_of(extra.get("phone")))
        address = fields_of(extra.get("address"))
        identification = fields_of(payer.get("identification"))
        names = [payer.get("first_name") or extra.get("first_name"), payer.get("last_name") or extra.get("last_name")]
        email = payer.get("email")
        if email and email == self._payer_email:
            email = None  # the tenant's own fallback address (options.payer_email), not the buyer's
        return payer_of(
            name=" ".join(str(part) for part in names if isinstance(part, str) and part.strip()) or None,
            email=email,
            phone="".join(str(phone.get(key) or "") for key in ("area_code", "number")) or None,
            document=identification.get("number") if identification.get("type") in ("CPF", "CNPJ") else None,
            zip_code=address.get("zip_code"),
        )

    # -- webhooks ----------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None) -> None:
        if _topic_notification(query, body) is not None:
            return  # unsigned by design: only a hint, re-read with our token before anything changes
        if not self._webhook_secret:
            raise WebhookRejected(f"{NAME}: no webhook secret configured")
        signature = headers.get("x-signature", "")
        parts: dict[str, str] = {}
        for part in signature.split(","):
            key, sep, value = part.partition("=")
            if sep:
                parts[key.strip()] = value.strip()
        ts, v1 = parts.get("ts", ""), parts.get("v1", "")
        if not re.fullmatch(r"[0-9]{1,16}", ts) or not v1:  # str.isdigit() admits "²", which int() refuses
            raise WebhookRejected(f"{NAME}: missing or malformed x-signature")
        data_id = _data_id(query, body)
        request_id = headers.get("x-request-id", "")
        manifest = ""
        if data_id:
            manifest += f"id:{data_id.lower() if data_id.isalnum() else data_id};"
        if request_id:
            manifest += f"request-id:{request_id};"
        manifest += f"ts:{ts};"
        manifest_bytes = manifest.encode("utf-8", "surrogatepass")
        expected = hmac.new(self._webhook_secret.encode(), manifest_bytes, hashlib.sha256).hexdigest()
        # bytes: compare_digest refuses str with non-ASCII characters (TypeError) instead of saying no
        if not hmac.compare_digest(expected.encode(), v1.lower().encode("utf-8", "surrogatepass")):
            raise WebhookRejected(f"{NAME}: signature does not match")
        # The docs call ts milliseconds while their example is in seconds: accept both.
        stamp = int(ts)
        signed_at = datetime.fromtimestamp(stamp / 1000 if stamp > 10**11 else stamp, UTC)
        if abs(self._now() - signed_at) > timedelta(seconds=self._max_age):
            raise WebhookRejected(f"{NAME}: signature timestamp outside the {self._max_age}s window")

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> list[WebhookEvent]:
        payload = webhook_object(body, NAME)
        topic = _topic_notification(query, body)
        if topic is not None:
            name, resource = topic
            if name != "payment" or not resource.isascii() or not resource.isdigit():
                return []
            return [
                WebhookEvent(
                    kind="payment", gateway_charge_id=resource, status=ChargeStatus.UNKNOWN, needs_refetch=True
                )
            ]
        kind = payload.get("type") or (query or {}).get("type") or (query or {}).get("topic")
        if kind != "payment":
            return []  # merchant_order, test pings, other topics: nothing to confirm
        data_id = _data_id(query, body)
        if not data_id or not data_id.isdigit():
            raise WebhookRejected(f"{NAME}: notification without a payment id")
        # No status or amount in the notification: a hint to re-read the payment.
        return [
            WebhookEvent(kind="payment", gateway_charge_id=data_id, status=ChargeStatus.UNKNOWN, needs_refetch=True)
        ]


def _topic_notification(query: Mapping[str, str] | None, body: bytes) -> tuple[str, str] | None:
    """(topic, resource id) of an IPN-style notification; None for a (signed) webhook."""
    query = query or {}
    if query.get("data.id") or query.get("type"):
        return None
    try:
        payload = load_json(body, empty={})
    except UntrustedInput:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    if payload.get("type") or isinstance(payload.get("data"), dict):
        return None
    topic = str(query.get("topic") or payload.get("topic") or "")
    if not topic:
        return None
    # The id is in the query, or the body's resource: an id or a URL ending in one.
    resource = str(query.get("id") or payload.get("resource") or "").rstrip("/").rsplit("/", 1)[-1]
    return topic, resource


def _data_id(query: Mapping[str, str] | None, body: bytes) -> str:
    """``data.id`` from the notification URL's query (what is signed); else from the JSON body."""
    if query and query.get("data.id"):
        return str(query["data.id"])
    try:
        payload = load_json(body, empty={})
    except UntrustedInput:
        return ""
    data = payload.get("data") if isinstance(payload, dict) else None
    return str(data.get("id", "")) if isinstance(data, dict) else ""


def _latest_refund(refunds: object) -> datetime | None:
    times = (
        [parse_time(item.get("date_created")) for item in refunds if isinstance(item, dict)]
        if isinstance(refunds, list)
        else []
    )
    return max((moment for moment in times if moment is not None), default=None)


def _results(data: Any) -> list[dict[str, Any]]:
    results = data.get("results") if isinstance(data, dict) else None
    return [item for item in results if isinstance(item, dict)] if isinstance(results, list) else []


def query_from_url(url: str) -> dict[str, str]:
    """The first value of each query parameter of a URL (for callers holding a raw query string)."""
    return {key: values[0] for key, values in parse_qs(httpx.URL(url).query.decode()).items()}
