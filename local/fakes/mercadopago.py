"""A fake of Mercado Pago's payments API for PIX, and of its signed webhook notifications.

Routes: ``POST /v1/payments`` (Bearer access token, ``X-Idempotency-Key`` required: a repeated key
answers the first response, like Mercado Pago), ``GET /v1/payments/{id}``, ``PUT /v1/payments/{id}``
(``{"status": "cancelled"}``), ``GET /v1/payments/search`` (``external_reference``, or a
``begin_date``/``end_date`` range; ``{"paging", "results"}``). Errors look like Mercado Pago's
(``{"message", "error", "status", "cause"}``).

``GET /users/me`` answers the account the token belongs to (the cheapest authenticated call: how
the operator's API checks a token).

``approve``/``refund``/``expire`` simulate the payer and the platform; ``notification(id)`` builds
the webhook Mercado Pago would send: query ``data.id``/``type``, headers ``x-signature``
(``ts=<ms>,v1=<HMAC-SHA256 hex of "id:<data.id>;request-id:<x-request-id>;ts:<ts>;">``) and
``x-request-id``, and the JSON body. ``notify(id, deliver)`` POSTs it to the payment's own
``notification_url`` with ``data.id``/``type`` added to its query, as Mercado Pago does; ``ipn(id,
deliver)`` the older unsigned ``?id=…&topic=payment`` notification to the same URL. A payment
created without a ``notification_url`` is never notified.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from local.fakes.gateway_common import Deliver, FakeGatewayBase, dynamic_brcode, json_body


def _error(status: int, error: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"message": message, "error": error, "status": status, "cause": []})


def _mp_time(moment: datetime) -> str:
    # Mercado Pago answers local time with an offset, e.g. 2026-11-22T17:00:00.000-03:00.
    return moment.astimezone().isoformat(timespec="milliseconds")


@dataclass
class Notification:
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeMercadoPago(FakeGatewayBase):
    access_token: str = "APP_USR-fake-token"  # noqa: S105 - a fake's credential
    webhook_secret: str = "fake-webhook-secret-0123456789abcdef"  # noqa: S105
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    payments: dict[int, dict[str, Any]] = field(default_factory=dict)
    user_id: int = 123456789  # the seller's account (notifications carry it as user_id)
    idempotency: dict[str, int] = field(default_factory=dict)
    _next_id: int = 1325000000

    # -- simulation --------------------------------------------------------------------------

    def approve(self, payment_id: int, *, amount: str | None = None) -> None:
        payment = self.payments[payment_id]
        payment.update(status="approved", status_detail="accredited", date_approved=_mp_time(self.now()))
        if amount is not None:
            payment["transaction_amount"] = float(amount)

    def refund(self, payment_id: int) -> None:
        payment = self.payments[payment_id]
        payment.update(status="refunded", status_detail="refunded")
        payment["transaction_amount_refunded"] = payment["transaction_amount"]

    def expire(self, payment_id: int) -> None:
        self.payments[payment_id].update(status="cancelled", status_detail="expired")

    def account(self) -> dict[str, Any]:
        """The seller's account as ``GET /users/me`` shows it (the fields our checks read, and a few)."""
        return {
            "id": self.user_id,
            "nickname": "TESTFUNILFAKE",
            "registration_date": "2024-01-10T10:00:00.000-04:00",
            "country_id": "BR",
            "site_id": "MLB",
            "user_type": "normal",
            "status": {"site_status": "active"},
        }

    def by_reference(self, reference: str) -> dict[str, Any]:
        return next(p for p in self.payments.values() if p.get("external_reference") == reference)

    def notification(
        self,
        payment_id: int | str,
        *,
        action: str = "payment.updated",
        ts: int | None = None,
        request_id: str | None = None,
        secret: str | None = None,
    ) -> Notification:
        data_id = str(payment_id)
        request_id = request_id or str(uuid.uuid4())
        ts = ts if ts is not None else int(time.time() * 1000)
        manifest = f"id:{data_id.lower() if data_id.isalnum() else data_id};request-id:{request_id};ts:{ts};"
        key = (secret if secret is not None else self.webhook_secret).encode()
        v1 = hmac.new(key, manifest.encode(), hashlib.sha256).hexdigest()
        body = {
            "id": secrets.randbelow(10**11),
            "live_mode": False,
            "type": "payment",
            "date_created": _mp_time(self.now()),
            "user_id": self.user_id,
            "api_version": "v1",
            "action": action,
            "data": {"id": data_id},
        }
        return Notification(
            query={"data.id": data_id, "type": "payment"},
            headers={"x-signature": f"ts={ts},v1={v1}", "x-request-id": request_id, "content-type": "application/json"},
            body=json.dumps(body).encode(),
        )

    def notify(self, payment_id: int, deliver: Deliver, *, action: str = "payment.updated") -> int | None:
        note = self.notification(payment_id, action=action)
        url = self.payments[payment_id].get("notification_url")
        target = str(httpx.URL(url).copy_merge_params(note.query)) if url else None
        return self.send_webhook(target, note.headers, note.body, deliver)

    def ipn(self, payment_id: int, deliver: Deliver) -> int | None:
        """The IPN-style notification: the topic and id in the query, no signature."""
        url = self.payments[payment_id].get("notification_url")
        target = str(httpx.URL(url).copy_merge_params({"id": str(payment_id), "topic": "payment"})) if url else None
        body = json.dumps({"resource": str(payment_id), "topic": "payment"}).encode()
        return self.send_webhook(target, {"content-type": "application/json"}, body, deliver)

    # -- routing -----------------------------------------------------------------------------

    def route(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return _error(401, "unauthorized", "invalid access token")
        path = request.url.path.rstrip("/")
        if path == "/users/me" and request.method == "GET":
            return httpx.Response(200, json=self.account())
        if path == "/v1/payments" and request.method == "POST":
            return self._create(request)
        if path == "/v1/payments/search" and request.method == "GET":
            return self._search(request)
        if path.startswith("/v1/payments/"):
            raw_id = path.rsplit("/", 1)[1]
            payment = self.payments.get(int(raw_id)) if raw_id.isdigit() else None
            if payment is None:
                return _error(404, "not_found", "Payment not found")
            if request.method == "GET":
                return httpx.Response(200, json=payment)
            if request.method == "PUT":
                return self._update(payment, json_body(request))
        return _error(404, "not_found", "resource not found")

    def _create(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("x-idempotency-key")
        if not key:
            return _error(400, "bad_request", "Header X-Idempotency-Key can't be null")
        if key in self.idempotency:
            return httpx.Response(201, json=self.payments[self.idempotency[key]])
        body = json_body(request)
        if not isinstance(body, dict):
            return _error(400, "bad_request", "invalid body")
        amount = body.get("transaction_amount")
        if not isinstance(amount, int | float) or isinstance(amount, bool) or amount <= 0:
            return _error(400, "bad_request", "transaction_amount must be positive")
        if Decimal(str(amount)).as_tuple().exponent < -2:  # type: ignore[operator]
            return _error(400, "bad_request", "transaction_amount has more than 2 decimals")
        if body.get("payment_method_id") != "pix":
            return _error(400, "bad_request", "payment_method_id not supported by this fake")
        if not (body.get("payer") or {}).get("email"):
            return _error(400, "bad_request", "payer.email must be present")
        self._next_id += 1
        payment_id = self._next_id
        ticket = f"https://www.mercadopago.com.br/payments/{payment_id}/ticket"
        payment = {
            "id": payment_id,
            "date_created": _mp_time(self.now()),
            "date_approved": None,
            "date_of_expiration": body.get("date_of_expiration"),
            "status": "pending",
            "status_detail": "pending_waiting_transfer",
            "currency_id": "BRL",
            "transaction_amount": amount,
            "transaction_amount_refunded": 0,
            "payment_method_id": "pix",
            "payment_type_id": "bank_transfer",
            "external_reference": body.get("external_reference"),
            "description": body.get("description"),
            "notification_url": body.get("notification_url"),
            "point_of_interaction": {
                "type": "PIX",
                "transaction_data": {
                    "qr_code": dynamic_brcode(f"pix.fake-mp.test/qr/{payment_id}", int(Decimal(str(amount)) * 100)),
                    "qr_code_base64": "iVBORw0KGgo=",
                    "ticket_url": ticket,
                },
            },
        }
        self.payments[payment_id] = payment
        self.idempotency[key] = payment_id
        return httpx.Response(201, json=payment)

    def _update(self, payment: dict[str, Any], body: Any) -> httpx.Response:
        if not isinstance(body, dict) or body.get("status") != "cancelled":
            return _error(400, "bad_request", "only status=cancelled is supported by this fake")
        if payment["status"] not in ("pending", "in_process"):
            return _error(400, "bad_request", f"Payment can't be cancelled in status {payment['status']}")
        payment.update(status="cancelled", status_detail="by_collector")
        return httpx.Response(200, json=payment)

    def _search(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        results = list(self.payments.values())
        if "external_reference" in params:
            results = [p for p in results if p.get("external_reference") == params["external_reference"]]
        if "begin_date" in params and "end_date" in params:
            begin = _parse_mp_date(params["begin_date"], self.now())
            end = _parse_mp_date(params["end_date"], self.now())
            results = [p for p in results if begin <= datetime.fromisoformat(p["date_created"]) <= end]
        offset, limit = int(params.get("offset", "0")), int(params.get("limit", "30"))
        page = results[offset : offset + limit]
        return httpx.Response(
            200, json={"paging": {"total": len(results), "limit": limit, "offset": offset}, "results": page}
        )


def _parse_mp_date(value: str, now: datetime) -> datetime:
    if value == "NOW":
        return now
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
