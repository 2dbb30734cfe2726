"""The sandbox gateway's server: its wire format over in-memory charges (tests and the local stack).

``handle(request) -> httpx.Response`` serves the API the sandbox adapter calls (mount it with
``httpx.MockTransport(fake.handle)`` or behind the local stack). ``pay``/``refund``/``expire``
play the payer and send the signed webhook to the charge's ``webhook_url`` through ``deliver``.

Several accounts, like a real gateway's several customers: the one the fake is built with
(``api_key``, ``webhook_secret``, ``webhook_url``) and any added with ``add_account()``. Each has
its own API key, webhook signing secret and registered webhook URL (``PUT /v1/webhook``), and sees
only its own charges; a charge's webhook is signed with its account's secret and sent to its
account's URL (unless the charge named its own).

Like a real gateway, a webhook that does not get a 2xx is sent again after each of
``retry_delays`` (growing; seconds apart, not hours, so a local sale does not wait), each attempt
freshly signed; ``attempts`` keeps every try per charge. Faults: ``down`` (HTTP 503) and
``timeout`` (raises as httpx does).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from funil.clock import iso, utc_now
from funil.payments.brcode import BrCode
from funil.payments.gateways.sandbox import SIGNATURE_HEADER, reference_to_txid, sign

__all__ = ["SandboxAccount", "SandboxGateway", "sign"]


@dataclass
class SandboxAccount:
    """One customer of the gateway: its API key, its webhook signing secret, the URL it registered."""

    api_key: str
    webhook_secret: str
    webhook_url: str | None = None


Deliver = Callable[[str, dict[str, str], bytes], int | None]  # (url, headers, body) → HTTP status, None if unreached
RETRY_DELAYS = (2.0, 4.0, 8.0, 16.0, 32.0)  # after the first try: six tries over about a minute


@dataclass
class SandboxGateway:
    api_key: str = "sandbox-api-key"
    webhook_secret: str = "sandbox-webhook-secret"  # noqa: S105 — a fake's default
    pix_key: str = "sandbox@funil.dev"
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: list[dict[str, Any]] = field(default_factory=list)  # what was sent and the answer
    webhook_url: str | None = None  # the first account's (the one the fake is built with)
    accounts: dict[str, SandboxAccount] = field(default_factory=dict)  # the others, by API key
    owners: dict[str, str] = field(default_factory=dict)  # charge id → its account's API key
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    attempts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # charge id → webhook tries
    down: bool = False
    timeout: bool = False
    requests: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _retries: set[threading.Timer] = field(default_factory=set)
    _closed: bool = False

    # --- the API ---------------------------------------------------------------------------------

    def add_account(self, api_key: str | None = None, webhook_secret: str | None = None) -> SandboxAccount:
        """A new customer of the gateway, with its own credentials (random unless given)."""
        account = SandboxAccount(
            api_key=api_key or "sbx_" + secrets.token_urlsafe(24),
            webhook_secret=webhook_secret or "whsec_" + secrets.token_urlsafe(32),
        )
        with self._lock:
            if account.api_key == self.api_key or account.api_key in self.accounts:
                raise ValueError("an account with that API key exists")
            self.accounts[account.api_key] = account
        return account

    def _known(self, api_key: str) -> bool:
        return api_key == self.api_key or api_key in self.accounts

    def _secret(self, api_key: str) -> str:
        return self.accounts[api_key].webhook_secret if api_key in self.accounts else self.webhook_secret

    def account_webhook_url(self, api_key: str) -> str | None:
        with self._lock:
            return self.accounts[api_key].webhook_url if api_key in self.accounts else self.webhook_url

    def _register(self, api_key: str, url: str) -> None:
        if api_key in self.accounts:
            self.accounts[api_key].webhook_url = url
        else:
            self.webhook_url = url

    def owner(self, charge_id: str) -> str:
        """The API key of the account a charge belongs to (the first account's for unknown ones)."""
        with self._lock:
            return self.owners.get(charge_id, self.api_key)

    def webhook_url_for(self, charge: dict[str, Any]) -> str | None:
        """Where a charge's webhook goes: its own URL, else the one its account registered."""
        return charge.get("webhook_url") or self.account_webhook_url(self.owner(str(charge["id"])))

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests += 1
            if self.timeout:
                raise httpx.ReadTimeout("sandbox timeout", request=request)
            if self.down:
                return httpx.Response(503, json={"error": "unavailable"})
            scheme, _, key = (request.headers.get("authorization") or "").partition(" ")
            if scheme != "Bearer" or not self._known(key):
                return httpx.Response(401, json={"error": "unauthorized"})
            path = request.url.path
            if "/v1/" in path:
                path = path[path.index("/v1/") :]
            if request.method == "POST" and path == "/v1/charges":
                return self._create(json.loads(request.content), key)
            if request.method == "GET" and path == "/v1/charges":
                mine = [charge for charge in self.charges.values() if self.owner(charge["id"]) == key]
                return httpx.Response(200, json={"charges": mine})
            if request.method == "PUT" and path == "/v1/webhook":
                url = json.loads(request.content)["url"]
                self._register(key, url)
                return httpx.Response(200, json={"url": url})
            match = re.fullmatch(r"/v1/charges/([A-Za-z0-9_]+)(/cancel)?", path)
            if match and match.group(1) in self.charges and self.owner(match.group(1)) == key:
                charge = self.charges[match.group(1)]
                if match.group(2) and request.method == "POST":
                    if charge["status"] == "pending":
                        charge["status"] = "canceled"
                    return httpx.Response(200, json=charge)
                if request.method == "GET":
                    return httpx.Response(200, json=charge)
            return httpx.Response(404, json={"error": "not found"})

    def _create(self, body: dict[str, Any], api_key: str) -> httpx.Response:
        reference = str(body.get("reference") or "")
        amount = body.get("amount_cents")
        if not re.fullmatch(r"[0-9a-f]{32}", reference) or not isinstance(amount, int) or amount <= 0:
            return httpx.Response(400, json={"error": "invalid charge"})
        for charge in self.charges.values():  # idempotent on the reference, per account
            if charge["reference"] == reference and self.owner(charge["id"]) == api_key:
                return httpx.Response(200, json=charge)
        now = utc_now()
        charge_id = "ch_" + uuid.uuid4().hex[:20]
        code = BrCode(
            key=self.pix_key, amount_cents=amount, txid=reference_to_txid(reference), merchant_name="FUNIL SANDBOX"
        )
        charge = {
            "id": charge_id,
            "reference": reference,
            "status": "pending",
            "amount_cents": amount,
            "currency": body.get("currency") or "BRL",
            "description": body.get("description") or "",
            "brcode": code.payload(),
            "created_at": iso(now),
            "expires_at": iso(now + timedelta(seconds=int(body.get("expires_in_seconds") or 3600))),
            "paid_at": None,
            "webhook_url": body.get("webhook_url"),
        }
        self.charges[charge_id] = charge
        self.owners[charge_id] = api_key
        return httpx.Response(201, json=charge)

    # --- the payer and the webhooks ----------------------------------------------------------------

    def find(self, charge_or_reference: str) -> dict[str, Any] | None:
        if charge_or_reference in self.charges:
            return self.charges[charge_or_reference]
        return next((c for c in self.charges.values() if c["reference"] == charge_or_reference), None)

    def signed_webhook(
        self, charge: dict[str, Any], event_type: str, timestamp: int | None = None, secret: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        body = json.dumps(
            {
                "id": "evt_" + uuid.uuid4().hex[:16],
                "type": event_type,
                "created_at": iso(utc_now()),
                "data": charge,
            }
        ).encode()
        stamp = int(utc_now().timestamp()) if timestamp is None else timestamp
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign(secret or self._secret(self.owner(str(charge["id"]))), body, stamp),
        }
        return headers, body

    def _settle(
        self,
        charge_or_reference: str,
        status: str,
        event_type: str,
        deliver: Deliver | None,
        payer: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            charge = self.find(charge_or_reference)
            if charge is None:
                raise KeyError(charge_or_reference)
            charge["status"] = status
            if status == "paid":
                charge["paid_at"] = iso(utc_now())
            if payer is not None:
                charge["payer"] = payer  # as the payer's bank reported it, in the charge and its webhook
            snapshot = dict(charge)
        url = self.webhook_url_for(snapshot)
        if deliver is not None and url:
            self._send(str(url), snapshot, event_type, deliver, attempt=1)
        else:
            self.webhooks.append({"charge_id": snapshot["id"], "type": event_type, "status": None})
        return snapshot

    def _send(self, url: str, charge: dict[str, Any], event_type: str, deliver: Deliver, attempt: int) -> None:
        """One try of a webhook; anything but a 2xx schedules the next try, until the delays run out."""
        headers, body = self.signed_webhook(charge, event_type)
        try:
            status = deliver(url, headers, body)
        except httpx.HTTPError:
            status = None  # refused, reset or timed out: the gateway saw no answer
        delivered = status is not None and 200 <= status < 300
        retry_in = self.retry_delays[attempt - 1] if not delivered and attempt <= len(self.retry_delays) else None
        with self._lock:
            self.webhooks.append({"charge_id": charge["id"], "type": event_type, "status": status})
            self.attempts.setdefault(charge["id"], []).append(
                {
                    "attempt": attempt,
                    "type": event_type,
                    "at": iso(utc_now()),
                    "status": status,
                    "next_retry_in_seconds": retry_in,
                }
            )
            if retry_in is None or self._closed:
                return
            timer = threading.Timer(retry_in, self._retry, (url, charge, event_type, deliver, attempt + 1))
            timer.daemon = True
            self._retries.add(timer)
        timer.start()

    def _retry(self, url: str, charge: dict[str, Any], event_type: str, deliver: Deliver, attempt: int) -> None:
        with self._lock:
            self._retries = {timer for timer in self._retries if timer.is_alive()}
            if self._closed:
                return
        self._send(url, charge, event_type, deliver, attempt)

    def close(self) -> None:
        """Cancel the webhook retries still waiting (the stack is stopping)."""
        with self._lock:
            self._closed = True
            retries, self._retries = self._retries, set()
        for timer in retries:
            timer.cancel()

    def pay(
        self, charge_or_reference: str, deliver: Deliver | None = None, payer: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """``payer``: ``{"name", "email", "phone", "document", "address": {"city", "state", "zip_code",
        "country"}}``, sent in the charge (its webhook and its GET) as a gateway reports who paid."""
        return self._settle(charge_or_reference, "paid", "charge.paid", deliver, payer)

    def refund(self, charge_or_reference: str, deliver: Deliver | None = None) -> dict[str, Any]:
        return self._settle(charge_or_reference, "refunded", "charge.refunded", deliver)

    def expire(self, charge_or_reference: str, deliver: Deliver | None = None) -> dict[str, Any]:
        return self._settle(charge_or_reference, "expired", "charge.expired", deliver)
