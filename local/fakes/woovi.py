"""A fake of Woovi/OpenPix's charge API and of its RSA-signed webhooks.

Routes (``Authorization: <AppID>``, no Bearer): ``POST /api/v1/charge`` (``correlationID``,
``value`` in cents, optional ``comment``/``expiresIn``), ``GET /api/v1/charge/{id}`` (by
correlationID or charge id) answering ``{"charge": {...}}``, ``GET /api/v1/charge?start&end&skip&limit``
(created in ``[start, end]``, RFC 3339) answering ``{"pageInfo": {...}, "charges": [...]}``,
``DELETE /api/v1/charge/{id}`` answering ``{"status": "OK", "id": ...}``. Statuses ``ACTIVE`` →
``COMPLETED`` | ``EXPIRED``. ``GET /api/v1/charge/{id}/refund`` answers the charge's refunds
(``{"refunds": [{status, value, correlationID, endToEndId, time}]}``); ``GET /api/v1/transaction/{id}``
(the endToEndId of the Pix that paid a charge, or its transactionID) answers ``{"transaction": {...,
"charge": {...}}}``; an unknown id is a 400, as Woovi answers.
The account's webhooks: ``POST /api/v1/webhook`` (``{"webhook": {name, event, url, authorization,
isActive}}``; no event means ``OPENPIX:TRANSACTION_RECEIVED``), ``GET /api/v1/webhook?url=``,
``DELETE /api/v1/webhook/{id}``.

``refund(correlation_id, value)`` gives back (part of) a paid charge. ``webhook(correlation_id, event)``
builds the notification Woovi would POST (a refund event in its published shape: ``refundTransaction``
and ``originalTransaction`` with no charge; the deprecated one with ``charge`` and the refund as
``pix``; of the charge's latest refund, a whole one recorded when there is none): the raw JSON body and
``x-webhook-signature`` = base64(RSA PKCS#1 v1.5 SHA-256 over the raw body) with the fake's private
key; tests give the adapter ``public_key_pem`` instead of Woovi's published key. ``notify(correlation_id,
event, deliver)`` POSTs it to every active webhook registered for that event (none: nothing is sent).
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

from local.fakes.gateway_common import Deliver, FakeGatewayBase, dynamic_brcode, json_body

# Woovi's refund events (the deprecated one names the charge; the others only the original Pix).
REFUND_EVENTS = (
    "OPENPIX:TRANSACTION_REFUND_RECEIVED",
    "PIX_TRANSACTION_REFUND_SENT_CONFIRMED",
    "PIX_TRANSACTION_REFUND_RECEIVED_CONFIRMED",
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: str | None) -> datetime | None:
    """An RFC 3339 time (``Z`` or an offset); None when absent. ValueError when unreadable."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class FakeWoovi(FakeGatewayBase):
    app_id: str = "Q2xpZW50X0lkX2Zha2U6Q2xpZW50X1NlY3JldF9mYWtl"
    private_key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # the account's webhooks by id
    paid_by: dict[str, str] = field(default_factory=dict)  # correlationID -> endToEndId of the Pix that paid it
    refunds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # correlationID -> its refunds

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
        self._end_to_end_id(correlation_id)

    def _end_to_end_id(self, correlation_id: str) -> str:
        """The endToEndId of the Pix that paid the charge (made up the first time it is asked)."""
        return self.paid_by.setdefault(correlation_id, "E54811417" + uuid.uuid4().hex[:23])

    def refund(self, correlation_id: str, value: int | None = None) -> dict[str, Any]:
        """Give back ``value`` cents (all by default) of a paid charge, confirmed at once."""
        charge = self.charges[correlation_id]
        refund = {
            "status": "CONFIRMED",
            "value": charge["value"] if value is None else value,
            "correlationID": str(uuid.uuid4()),
            "endToEndId": "D54811417" + uuid.uuid4().hex[:23],
            "time": _iso(datetime.now(UTC)),
            "comment": "",
        }
        self.refunds.setdefault(correlation_id, []).append(refund)
        return refund

    def _transaction(self, correlation_id: str) -> dict[str, Any]:
        """The received Pix that paid a charge, as ``GET /api/v1/transaction/{id}`` answers it."""
        charge = self.charges[correlation_id]
        return {
            "charge": charge,
            "value": charge["value"],
            "time": charge.get("paidAt"),
            "transactionID": charge["transactionID"],
            "type": "PAYMENT",
            "endToEndId": self._end_to_end_id(correlation_id),
        }

    def _refund_payload(self, correlation_id: str, event: str) -> dict[str, Any]:
        charge = self.charges[correlation_id]
        refund = (self.refunds.get(correlation_id) or [self.refund(correlation_id)])[-1]
        moved = {
            "value": refund["value"],
            "time": refund["time"],
            "endToEndId": refund["endToEndId"],
            "createdAt": refund["time"],
            "partial": refund["value"] < charge["value"],
        }
        if event == "OPENPIX:TRANSACTION_REFUND_RECEIVED":  # deprecated: the charge named, the refund as pix
            return {"event": event, "charge": charge, "pixQrCode": None, "pix": {**moved, "charge": charge},
                    "company": {"id": "fake", "name": "Fake"}, "refunds": []}  # fmt: skip
        original = self._transaction(correlation_id)
        return {
            "event": event,
            "refundTransaction": {**moved, "status": "CONFIRMED", "type": "REFUND"},
            "originalTransaction": {key: original[key] for key in ("value", "time", "endToEndId", "type")}
            | {"status": "CONFIRMED"},
            "company": {"id": "fake", "name": "Fake"},
        }

    def expire(self, correlation_id: str) -> None:
        self.charges[correlation_id]["status"] = "EXPIRED"

    def webhook(self, correlation_id: str, event: str = "OPENPIX:CHARGE_COMPLETED") -> tuple[bytes, dict[str, str]]:
        charge = self.charges[correlation_id]
        payload: dict[str, Any] = {"event": event, "charge": charge, "company": {"id": "fake", "name": "Fake"}}
        if event in REFUND_EVENTS:
            payload = self._refund_payload(correlation_id, event)
        elif charge["status"] == "COMPLETED":
            payload["pix"] = {
                "value": charge["value"],
                "time": charge.get("paidAt"),
                "endToEndId": self._end_to_end_id(correlation_id),
                "transactionID": charge["transactionID"],
                "charge": charge,
            }
        body = json.dumps(payload).encode()
        return body, {"x-webhook-signature": self.sign(body), "content-type": "application/json"}

    def notify(self, correlation_id: str, event: str, deliver: Deliver) -> list[int | None]:
        """The webhook Woovi sends for ``event`` to each URL registered for it."""
        body, headers = self.webhook(correlation_id, event)
        urls = [hook["url"] for hook in self.hooks.values() if hook["event"] == event and hook["isActive"]]
        return [self.send_webhook(url, headers, body, deliver) for url in urls]

    def _webhooks(self, request: httpx.Request, path: str) -> httpx.Response:
        if path == "/api/v1/webhook" and request.method == "GET":
            url = request.url.params.get("url")
            listed = [hook for hook in self.hooks.values() if url is None or hook["url"] == url]
            page = {"skip": 0, "limit": 100, "hasPreviousPage": False, "hasNextPage": False}
            return httpx.Response(200, json={"pageInfo": page, "webhooks": listed})
        if path == "/api/v1/webhook" and request.method == "POST":
            body = json_body(request)
            webhook = body.get("webhook") if isinstance(body, dict) else None
            if not isinstance(webhook, dict) or not str(webhook.get("url", "")).startswith(("https://", "http://")):
                return httpx.Response(400, json={"error": "url inválida"})
            now = _iso(datetime.now(UTC))
            hook = {
                "id": base64.b64encode(f"Webhook:{uuid.uuid4().hex[:24]}".encode()).decode(),
                "name": str(webhook.get("name") or ""),
                "url": webhook["url"],
                "authorization": webhook.get("authorization"),
                "event": webhook.get("event") or "OPENPIX:TRANSACTION_RECEIVED",
                "isActive": bool(webhook.get("isActive", True)),
                "createdAt": now,
                "updatedAt": now,
            }
            self.hooks[hook["id"]] = hook
            return httpx.Response(200, json={"webhook": hook})
        if path.startswith("/api/v1/webhook/") and request.method == "DELETE":
            removed = self.hooks.pop(path.rsplit("/", 1)[1], None)
            return httpx.Response(200 if removed else 400, json={"status": "OK"} if removed else {"error": "not found"})
        return httpx.Response(404, json={"error": "Not found"})

    def route(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != self.app_id:
            return httpx.Response(401, json={"error": "appID inválido"})
        path = request.url.path.rstrip("/")
        if path.startswith("/api/v1/webhook"):
            return self._webhooks(request, path)
        if path == "/api/v1/charge" and request.method == "POST":
            return self._create(json_body(request))
        if path == "/api/v1/charge" and request.method == "GET":
            return self._list(request.url.params)
        if path.startswith("/api/v1/transaction/") and request.method == "GET":
            key = path.rsplit("/", 1)[1]
            paid = next(
                (
                    cid
                    for cid, e2e in self.paid_by.items()
                    if key in (e2e, self.charges.get(cid, {}).get("transactionID"))
                ),
                None,
            )
            if paid is None:
                return httpx.Response(400, json={"error": "Transação não encontrada"})
            return httpx.Response(200, json={"transaction": self._transaction(paid)})
        if path.startswith("/api/v1/charge/") and path.endswith("/refund") and request.method == "GET":
            key = path.split("/")[-2]
            if key not in self.charges:
                return httpx.Response(400, json={"error": "Cobrança não encontrada"})
            return httpx.Response(200, json={"refunds": self.refunds.get(key, [])})
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

    def _list(self, params: httpx.QueryParams) -> httpx.Response:
        try:
            start = _parse(params.get("start")) or datetime.min.replace(tzinfo=UTC)
            end = _parse(params.get("end")) or datetime.max.replace(tzinfo=UTC)
            skip, limit = int(params.get("skip", "0")), int(params.get("limit", "100"))
        except ValueError:
            return httpx.Response(400, json={"error": "Parâmetros de consulta inválidos"})
        found = [c for c in self.charges.values() if start <= (_parse(c["createdAt"]) or start) <= end]
        page = found[skip : skip + limit]
        info = {
            "skip": skip,
            "limit": limit,
            "totalCount": len(found),
            "hasPreviousPage": skip > 0,
            "hasNextPage": skip + len(page) < len(found),
        }
        return httpx.Response(200, json={"pageInfo": info, "charges": page})

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
