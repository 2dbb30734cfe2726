"""A fake of PushinPay's PIX API.

Routes: ``POST /api/pix/cashIn`` (``value`` in cents, minimum 50; optional ``webhook_url``) and
``GET /api/transactions/{id}`` (an unknown id answers 404 with ``[]``, as PushinPay documents; the
id, created lower case, is found in either case and answered upper case, as its examples show),
both with ``Authorization: Bearer <token>``. Statuses ``created`` → ``paid`` | ``canceled``
(``expired`` too, defensively). PushinPay signs no webhook: ``webhook_body(id)`` is the unsigned
JSON notification it would POST, and ``notify(id, deliver)`` POSTs it to the cash-in's own
``webhook_url`` (none given: nothing is sent); receivers must re-read the transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from local.fakes.gateway_common import Deliver, FakeGatewayBase, dynamic_brcode, json_body

MIN_VALUE = 50


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


@dataclass
class FakePushinPay(FakeGatewayBase):
    token: str = "fake-pushinpay-token"  # noqa: S105 - a fake's credential
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def pay(self, transaction_id: str, *, value: int | None = None) -> None:
        tx = self.transactions[transaction_id]
        tx.update(
            status="paid",
            end_to_end_id="E" + uuid.uuid4().hex[:31].upper(),
            payer_name="PAGADOR TESTE",
            updated_at=_iso(datetime.now(UTC)),
        )
        if value is not None:
            tx["value"] = value

    def cancel(self, transaction_id: str) -> None:
        self.transactions[transaction_id]["status"] = "canceled"

    def webhook_body(self, transaction_id: str) -> bytes:
        tx = self.transactions[transaction_id]
        fields = ("id", "status", "value", "end_to_end_id", "payer_name", "payer_national_registration")
        return json.dumps({key: tx.get(key) for key in fields}).encode()

    def notify(self, transaction_id: str, deliver: Deliver) -> int | None:
        """The webhook PushinPay sends after a change, to the URL given with the cash-in."""
        body = self.webhook_body(transaction_id)
        url = self.transactions[transaction_id].get("webhook_url")
        return self.send_webhook(url, {"content-type": "application/json"}, body, deliver)

    def route(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"message": "Unauthenticated."})
        path = request.url.path.rstrip("/")
        if path == "/api/pix/cashIn" and request.method == "POST":
            return self._cash_in(json_body(request))
        if path.startswith("/api/transactions/") and request.method == "GET":
            tx = self.transactions.get(path.rsplit("/", 1)[1].lower())
            # As PushinPay's reference shows: the id created lower case is read back upper case.
            return (
                httpx.Response(404, json=[]) if tx is None else httpx.Response(200, json={**tx, "id": tx["id"].upper()})
            )
        return httpx.Response(404, json={"message": "Not Found"})

    def _cash_in(self, body: Any) -> httpx.Response:
        if not isinstance(body, dict):
            return httpx.Response(406, json={"message": "Formato JSON inválido"})
        value = body.get("value")
        if not isinstance(value, int) or isinstance(value, bool) or value < MIN_VALUE:
            message = f"O campo value deve ser no mínimo {MIN_VALUE}."
            return httpx.Response(422, json={"message": message, "errors": {"value": [message]}})
        tx_id = str(uuid.uuid4())  # lower case, as "Criar PIX" answers it
        now = datetime.now(UTC)
        tx: dict[str, Any] = {
            "id": tx_id,
            "qr_code": dynamic_brcode(f"pix.fake-pushinpay.test/qr/v3/at/{tx_id.lower()}", value),
            "status": "created",
            "value": value,
            "webhook_url": body.get("webhook_url"),
            "qr_code_base64": "data:image/png;base64,iVBORw0KGgo=",
            "webhook": None,
            "split_rules": [],
            "end_to_end_id": None,
            "payer_name": None,
            "payer_national_registration": None,
            "created_at": _iso(now),
            "updated_at": _iso(now),
            "pix_details": {"expiration_date": (now + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]},
        }
        self.transactions[tx_id] = tx
        return httpx.Response(200, json=tx)
