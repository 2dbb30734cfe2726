"""A fake of Woovi/OpenPix's charge API and of its RSA-signed webhooks.

Routes (``Authorization: <AppID>``, no Bearer): ``POST /api/v1/charge`` (``correlationID``,
``value`` in cents, optional ``comment``/``expiresIn``), ``GET /api/v1/charge/{id}`` (by
correlationID or charge id) answering ``{"charge": {...}}``, ``DELETE /api/v1/charge/{id}``
answering ``{"status": "OK", "id": ...}``. Statuses ``ACTIVE`` → ``COMPLETED`` | ``EXPIRED``.

``webhook(correlation_id, event)`` builds the notification Woovi would POST: the raw JSON body and
``x-webhook-signature`` = base64(RSA PKCS#1 v1.5 SHA-256 over the raw body) with the fake's private
key; tests give the adapter ``public_key_pem`` instead of Woovi's published key.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from local.fakes.gateway_common import FakeGatewayBase, dynamic_brcode, json_body


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class FakeWoovi(FakeGatewayBase):
    app_id: str = "Q2xpZW50X0lkX2Zha2U6Q2xpZW50X1NlY3JldF9mYWtl"
    private_key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def public_key_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()

    def pay(self, correlation_id: str) -> None:
        self.charges[correlation_id].update(status="COMPLETED", paidAt=_iso(datetime.now(UTC)))

    def expire(self, correlation_id: str) -> None:
        self.charges[correlation_id]["status"] = "EXPIRED"

    def webhook(self, correlation_id: str, event: str = "OPENPIX:CHARGE_COMPLETED") -> tuple[bytes, dict[str, str]]:
        charge = self.charges[correlation_id]
        payload: dict[str, Any] = {"event": event, "charge": charge, "company": {"id": "fake", "name": "Fake"}}
        if charge["status"] == "COMPLETED":
            payload["pix"] = {
                "value": charge["value"],
                "time": charge.get("paidAt"),
                "endToEndId": "E" + uuid.uuid4().hex[:31],
                "transactionID": charge["transactionID"],
                "charge": charge,
            }
        body = json.dumps(payload).encode()
        return body, {"x-webhook-signature": self.sign(body), "content-type": "application/json"}

    def route(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != self.app_id:
            return httpx.Response(401, json={"error": "appID inválido"})
        path = request.url.path.rstrip("/")
        if path == "/api/v1/charge" and request.method == "POST":
            return self._create(json_body(request))
        if path.startswith("/api/v1/charge/"):
            key = path.rsplit("/", 1)[1]
            charge = self.charges.get(key) or next(
                (c for c in self.charges.values() if c["globalID"] == key or c["transactionID"] == key), None
            )
            if charge is None:
                return httpx.Response(400, json={"error": "Cobrança não encontrada"})
            if request.method == "GET":
                return httpx.Response(200, json={"charge": charge})
            if request.method == "DELETE":
                if charge["status"] != "ACTIVE":
                    return httpx.Response(400, json={"error": "Cobrança não pode ser removida"})
                del self.charges[charge["correlationID"]]
                return httpx.Response(200, json={"status": "OK", "id": charge["correlationID"]})
        return httpx.Response(404, json={"error": "Not found"})

    def _create(self, body: Any) -> httpx.Response:
        if not isinstance(body, dict):
            return httpx.Response(400, json={"error": "Body inválido"})
        correlation_id, value = body.get("correlationID"), body.get("value")
        if not isinstance(correlation_id, str) or not correlation_id:
            return httpx.Response(400, json={"error": "correlationID é obrigatório"})
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            return httpx.Response(400, json={"error": "value deve ser um inteiro positivo em centavos"})
        if correlation_id in self.charges:
            return httpx.Response(400, json={"error": "Já existe uma cobrança com este correlationID"})
        now = datetime.now(UTC)
        expires_in = int(body.get("expiresIn") or 86400)
        transaction_id = uuid.uuid4().hex
        payment_link = str(uuid.uuid4())
        charge = {
            "value": value,
            "comment": body.get("comment", ""),
            "identifier": transaction_id,
            "correlationID": correlation_id,
            "transactionID": transaction_id,
            "status": "ACTIVE",
            "additionalInfo": body.get("additionalInfo", []),
            "discount": 0,
            "valueWithDiscount": value,
            "expiresDate": _iso(now + timedelta(seconds=expires_in)),
            "type": "DYNAMIC",
            "createdAt": _iso(now),
            "updatedAt": _iso(now),
            "brCode": dynamic_brcode(f"api.fake-woovi.test/qr/v1/{transaction_id}", value),
            "expiresIn": expires_in,
            "paymentLinkID": payment_link,
            "paymentLinkUrl": f"https://woovi.com/pay/{payment_link}",
            "globalID": "Q2hhcmdlOj" + transaction_id[:16],
        }
        self.charges[correlation_id] = charge
        return httpx.Response(200, json={"charge": charge, "correlationID": correlation_id, "brCode": charge["brCode"]})
