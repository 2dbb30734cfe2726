"""Woovi (OpenPix) adapter: charges keyed by our ``correlationID``, RSA-signed webhooks.

Wire format (developers.woovi.com): ``Authorization: <AppID>`` (no Bearer);
``POST /api/v1/charge`` with ``correlationID`` = our payment id, ``value`` in integer cents,
``comment``, ``expiresIn`` (seconds); ``GET /api/v1/charge/{id}`` (the correlationID works as id)
answers ``{"charge": {...}}``; ``DELETE /api/v1/charge/{id}`` removes an active charge;
``GET /api/v1/charge?start&end`` lists (``charges`` + ``pageInfo``). Charge status ``ACTIVE`` →
``COMPLETED`` | ``EXPIRED``.

Refunds: ``PIX_TRANSACTION_REFUND_SENT_CONFIRMED`` (and ``…_RECEIVED_CONFIRMED``, whose published
example is the same body) carry ``refundTransaction`` and ``originalTransaction`` but no charge:
the charge is found with ``GET /api/v1/transaction/{originalTransaction.endToEndId}`` (the
transaction's ``charge.correlationID``); the deprecated ``OPENPIX:TRANSACTION_REFUND_RECEIVED``
names the charge and its ``pix`` is the refund itself. What was given back so far comes from
``GET /api/v1/charge/{id}/refund`` (the ``CONFIRMED`` ones), so a second partial refund is not
mistaken for the whole.

Webhooks carry ``x-webhook-signature``: base64 of an RSA (PKCS#1 v1.5) SHA-256 signature of the raw
body made with Woovi's private key; we verify it with Woovi's published public key (overridable
per gateway: ``options.webhook_public_key``, e.g. the sandbox key). The body has no timestamp, so
a captured genuine webhook can be replayed: harmless, since it only repeats a true event and the
payment transition is idempotent.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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

NAME = "woovi"
DEFAULT_BASE_URL = "https://api.woovi.com"

# Woovi's production webhook key, as published at developers.woovi.com (webhook-signature-validation
# and GET /api/v1/webhook/public-keys). Sandbox uses another key: set options.webhook_public_key.
WOOVI_PUBLIC_KEY_PEM = """-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC/+NtIkjzevvqD+I3MMv3bLXDt
pvxBjY4BsRrSdca3rtAwMcRYYvxSnd7jagVLpctMiOxQO8ieUCKLSWHpsMAjO/zZ
WMKbqoG8MNpi/u3fp6zz0mcHCOSqYsPUUG19buW8bis5ZZ2IZgBObWSpTvJ0cnj6
HKBAA82Jln+lGwS1MwIDAQAB
-----END PUBLIC KEY-----
"""

STATUS_MAP: dict[str, ChargeStatus] = {
    "ACTIVE": ChargeStatus.PENDING,
    "ACTIVE_WAITING_PAYMENT_METHOD": ChargeStatus.PENDING,
    "COMPLETED": ChargeStatus.PAID,
    "EXPIRED": ChargeStatus.EXPIRED,
}

# Webhook event → the status it announces (None: the charge's own status decides).
EVENT_STATUS: dict[str, ChargeStatus | None] = {
    "OPENPIX:CHARGE_COMPLETED": ChargeStatus.PAID,
    "OPENPIX:CHARGE_COMPLETED_NOT_SAME_CUSTOMER_PAYER": ChargeStatus.PAID,
    "OPENPIX:CHARGE_EXPIRED": ChargeStatus.EXPIRED,
    "OPENPIX:TRANSACTION_RECEIVED": None,
}

# Refunds confirmed. The published examples: ``…_SENT_…`` gives back a Pix the account received
# (original ``type: PAYMENT``), ``…_RECEIVED_…`` is one the account receives back, yet its
# "confirmed" example is the sent one's body; both are read, and only a refund of a charge counts.
REFUND_EVENTS = frozenset(
    {
        "OPENPIX:TRANSACTION_REFUND_RECEIVED",  # deprecated name, still sent
        "PIX_TRANSACTION_REFUND_SENT_CONFIRMED",
        "PIX_TRANSACTION_REFUND_RECEIVED_CONFIRMED",
    }
)

# The events registered at setup: a charge paid, expired, and a Pix of it given back.
REGISTERED_EVENTS = (
    "OPENPIX:CHARGE_COMPLETED",
    "OPENPIX:CHARGE_EXPIRED",
    "PIX_TRANSACTION_REFUND_SENT_CONFIRMED",
    "PIX_TRANSACTION_REFUND_RECEIVED_CONFIRMED",
)

# An endToEndId as it goes into a URL path (Pix's own are 32 letters and digits).
_E2E_RE = re.compile(r"[A-Za-z0-9]{1,64}")


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """A PEM, or the base64-of-PEM form Woovi's examples use."""
    text = pem.strip()
    if not text.startswith("-----BEGIN"):
        try:
            text = base64.b64decode(text, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise GatewayError(f"{NAME}: webhook public key is neither PEM nor base64 PEM", transient=False) from None
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise GatewayError(f"{NAME}: webhook public key cannot be read", transient=False) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise GatewayError(f"{NAME}: webhook public key is not RSA", transient=False)
    return key


class WooviAdapter:
    kind = NAME
    capabilities = Capabilities(
        webhook_auth=WebhookAuth.RSA,
        webhook_registration=WebhookRegistration.PER_ACCOUNT,
        we_choose_id=True,  # correlationID = our payment id
        min_amount_cents=1,
        can_cancel=True,
        can_list=True,
    )

    def __init__(self, config: GatewayConfig, http: httpx.Client, now: Clock = utc_now) -> None:
        # The AppID alone, no Bearer.
        self._remote = GatewayApi.authorized(
            config, http, NAME, default_root=DEFAULT_BASE_URL, credential="app_id", scheme="", error_fields=("error",)
        )
        self._now = now
        try:
            self._public_key = load_public_key(config.option("webhook_public_key", WOOVI_PUBLIC_KEY_PEM))
        except GatewayError as error:
            raise GatewayError(str(error), fields=("options.webhook_public_key",)) from None

    def create_charge(self, request: ChargeRequest) -> Charge:
        body: dict[str, Any] = {
            "correlationID": request.payment_id,
            "value": request.amount_cents,
            "comment": (request.description or "")[:140],
            "expiresIn": request.expires_in_seconds,
        }
        try:
            data = self._remote.call("POST", "/api/v1/charge", operation="create", creating=True, json=body)
        except GatewayError as error:
            if error.transient:
                raise
            # A retry after an ambiguous create: the correlationID is taken, maybe by our first try.
            try:
                existing = self.get_charge(request.payment_id)
            except GatewayError:
                raise error from None
            if existing.status is not ChargeStatus.PENDING or existing.amount_cents != request.amount_cents:
                raise error from None
            return existing
        charge = self._to_charge(data.get("charge") if isinstance(data, dict) else None)
        if charge.reference != request.payment_id or charge.amount_cents != request.amount_cents or not charge.brcode:
            raise GatewayError(
                f"{NAME} create: unexpected answer (reference, amount or code)", transient=False, ambiguous=True
            )
        return charge

    def get_charge(self, gateway_charge_id: str) -> Charge:
        _check_id(gateway_charge_id)
        data = self._remote.call("GET", f"/api/v1/charge/{gateway_charge_id}", operation="get")
        return self._to_charge(data.get("charge") if isinstance(data, dict) else None)

    def cancel_charge(self, gateway_charge_id: str) -> None:
        _check_id(gateway_charge_id)
        if self.get_charge(gateway_charge_id).status is not ChargeStatus.PENDING:
            return  # paid or expired: nothing to cancel; get_charge tells which
        data = self._remote.call("DELETE", f"/api/v1/charge/{gateway_charge_id}", operation="cancel")
        if not isinstance(data, dict) or data.get("status") != "OK":
            raise GatewayError(f"{NAME} cancel: not confirmed", transient=True)

    def list_charges(self, start: datetime, end: datetime) -> list[Charge]:
        charges: list[Charge] = []
        skip, limit = 0, 100
        while True:
            data = self._remote.call(
                "GET",
                "/api/v1/charge",
                operation="list",
                params={
                    "start": start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    "end": end.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    "skip": str(skip),
                    "limit": str(limit),
                },
            )
            page = data.get("charges") if isinstance(data, dict) else None
            items = [item for item in page if isinstance(item, dict)] if isinstance(page, list) else []
            charges.extend(self._to_charge(item) for item in items)
            skip += len(items)
            info = data.get("pageInfo") if isinstance(data, dict) else None
            if not items or not (isinstance(info, dict) and info.get("hasNextPage")):
                return charges

    def register_webhook(self, url: str) -> None:
        """One account webhook per event we act on (Woovi's webhook API), those already at ``url`` kept."""
        data = self._remote.call("GET", "/api/v1/webhook", operation="register_webhook", params={"url": url})
        listed = data.get("webhooks") if isinstance(data, dict) else None
        present = {
            str(hook.get("event"))
            for hook in (listed if isinstance(listed, list) else [])
            if isinstance(hook, dict) and hook.get("url") == url and hook.get("isActive", True)
        }
        for event in REGISTERED_EVENTS:
            if event in present:
                continue
            webhook = {"name": f"funil {event}", "event": event, "url": url, "isActive": True}
            self._remote.call("POST", "/api/v1/webhook", operation="register_webhook", json={"webhook": webhook})

    def check_credentials(self) -> None:
        """``GET /api/v1/charge`` of one charge at most, over an empty window (401 for an AppID Woovi
        does not know). Creates nothing."""
        moment = self._now().astimezone(UTC).isoformat().replace("+00:00", "Z")
        params = {"start": moment, "end": moment, "skip": "0", "limit": "1"}
        response = self._remote.send("GET", "/api/v1/charge", operation="check_credentials", params=params)
        data = check_answer(NAME, response.status_code, response.content)
        if not isinstance(data, dict) or not isinstance(data.get("charges"), list):
            raise GatewayError(f"{NAME} check_credentials: not a Woovi API answer", transient=False)

    def _to_charge(self, charge: Any) -> Charge:
        if not isinstance(charge, dict) or not charge.get("correlationID"):
            raise GatewayError(f"{NAME}: unexpected charge payload", transient=True)
        raw_status = str(charge.get("status", ""))
        return Charge(
            gateway_charge_id=str(charge["correlationID"]),
            reference=str(charge["correlationID"]),
            status=STATUS_MAP.get(raw_status, ChargeStatus.UNKNOWN),
            amount_cents=to_cents(charge.get("value", 0), NAME),
            currency="BRL",
            brcode=charge.get("brCode"),
            expires_at=parse_time(charge.get("expiresDate")),
            paid_at=parse_time(charge.get("paidAt")),
            raw_status=raw_status,
            # ``payer``: who paid when not the customer the charge named (…_NOT_SAME_CUSTOMER_PAYER).
            payer=_person(charge.get("payer")) or _person(charge.get("customer")),
        )

    # -- webhooks ----------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None) -> None:
        signature = headers.get("x-webhook-signature", "")
        if not signature:
            raise WebhookRejected(f"{NAME}: missing x-webhook-signature")
        try:
            raw = base64.b64decode(signature, validate=True)
        except binascii.Error:
            raise WebhookRejected(f"{NAME}: x-webhook-signature is not base64") from None
        try:
            self._public_key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise WebhookRejected(f"{NAME}: signature does not match the body") from None

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> list[WebhookEvent]:
        payload = webhook_object(body, NAME)
        event = str(payload.get("event") or "")
        if event in REFUND_EVENTS:
            return self._refund_events(payload)
        pix = fields_of(payload.get("pix"))
        charge = payload.get("charge") if isinstance(payload.get("charge"), dict) else pix.get("charge")
        if (event and event not in EVENT_STATUS) or not isinstance(charge, dict) or not charge.get("correlationID"):
            return []  # test pings ({"evento": "teste_webhook"}), Pix without a charge, other events
        parsed = self._to_charge(charge)
        # A signed body without ``event`` still says what the charge is: its own status decides.
        status = EVENT_STATUS.get(event) or parsed.status
        return [
            WebhookEvent(
                kind="payment",
                gateway_charge_id=parsed.gateway_charge_id,
                reference=parsed.reference,
                status=status,
                amount_cents=parsed.amount_cents,
                currency="BRL",
                occurred_at=parsed.paid_at or parse_time(pix.get("time")),
                needs_refetch=False,
                payer=_person(payload.get("payer")) or _person(pix.get("payer")) or parsed.payer,
            )
        ]

    def _refund_events(self, payload: Mapping[str, Any]) -> list[WebhookEvent]:
        """A confirmed refund of one of our charges; nothing for a refund of anything else."""
        # ``refundTransaction``; in the deprecated event, ``pix`` is the refund itself.
        refund = fields_of(payload.get("refundTransaction")) or fields_of(payload.get("pix"))
        if refund.get("status", "CONFIRMED") != "CONFIRMED" or refund.get("value") is None:
            return []
        this_refund = to_cents(refund["value"], NAME)  # unreadable: a 400 before anything is asked
        if this_refund <= 0:
            return []
        original = fields_of(payload.get("originalTransaction"))
        charge = payload.get("charge") if isinstance(payload.get("charge"), dict) else refund.get("charge")
        if not isinstance(charge, dict) or not charge.get("correlationID"):
            charge = self._charge_of_transaction(original.get("endToEndId")) or {}
        correlation_id = str(charge.get("correlationID") or "")
        if not _valid_id(correlation_id):
            return []  # a static QR's Pix, a withdrawal given back, a transaction of no charge
        value = charge.get("value", original.get("value"))
        return [
            WebhookEvent(
                kind="refund",
                gateway_charge_id=correlation_id,
                reference=correlation_id,
                status=ChargeStatus.REFUNDED,
                amount_cents=to_cents(value, NAME) if value is not None else None,
                currency="BRL",
                occurred_at=parse_time(refund.get("time")),
                needs_refetch=False,
                payer=_person(original.get("payer")),
                refunded_cents=self._refunded_so_far(correlation_id, this_refund),
            )
        ]

    def _charge_of_transaction(self, end_to_end_id: object) -> dict[str, Any] | None:
        """The charge a received Pix paid (``GET /api/v1/transaction/{endToEndId}``); None when the
        account has no such transaction or it paid no charge."""
        if not isinstance(end_to_end_id, str) or not _E2E_RE.fullmatch(end_to_end_id):
            return None
        try:
            data = self._remote.call("GET", f"/api/v1/transaction/{end_to_end_id}", operation="get_transaction")
        except GatewayError as error:
            if error.transient:
                raise
            return None  # not a transaction of this account
        transaction = fields_of(data.get("transaction")) if isinstance(data, dict) else {}
        charge = transaction.get("charge")
        if not isinstance(charge, dict) or not charge.get("correlationID"):
            return None
        return {**charge, "value": charge.get("value", transaction.get("value"))}

    def _refunded_so_far(self, correlation_id: str, this_refund: int) -> int:
        """Cents given back so far: the charge's confirmed refunds (``GET /api/v1/charge/{id}/refund``),
        at least this one. Never more than Woovi lists: counting this refund twice could make a
        partial refund look whole and take the product back."""
        try:
            data = self._remote.call("GET", f"/api/v1/charge/{correlation_id}/refund", operation="get_refunds")
        except GatewayError as error:
            if error.transient:
                raise
            return this_refund  # no list (an AppID without the refunds scope): this refund alone
        listed = data.get("refunds") if isinstance(data, dict) else None
        confirmed = [
            to_cents(item.get("value", 0), NAME)
            for item in (listed if isinstance(listed, list) else [])
            if isinstance(item, dict) and item.get("status") == "CONFIRMED"
        ]
        return max(sum(confirmed), this_refund)


def _person(fields: object) -> Payer | None:
    """A Woovi customer or payer: ``name``, ``email``, ``phone``, ``taxID.taxID``, ``address``."""
    if not isinstance(fields, dict):
        return None
    tax = fields.get("taxID")
    address = fields_of(fields.get("address"))
    return payer_of(
        name=fields.get("name"),
        email=fields.get("email"),
        phone=fields.get("phone"),
        document=tax.get("taxID") if isinstance(tax, dict) else tax,
        city=address.get("city"),
        state=address.get("state"),
        zip_code=address.get("zipcode"),
        country=address.get("country"),
    )


def _valid_id(gateway_charge_id: str) -> bool:
    ids = gateway_charge_id
    return 0 < len(ids) <= 200 and ids.isascii() and all(c.isalnum() or c in "-_:=" for c in ids)


def _check_id(gateway_charge_id: str) -> None:
    if not _valid_id(gateway_charge_id):
        raise GatewayError(f"{NAME}: invalid charge id", transient=False)
