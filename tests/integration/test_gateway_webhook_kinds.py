"""The webhook route with the real gateway adapters (API Pix, PushinPay, Woovi, Mercado Pago).

moto holds the table, KMS and queues; each gateway is its fake speaking its own HTTP, reached by
host name. The handler is the deployed one, called with API Gateway v2 events from events/.

- API Pix (Bacen) POSTs to the registered webhookUrl **with ``/pix`` appended**: the template
  routes ``/pay/{gateway_id}/{secret}/pix`` to the same function.
- PushinPay signs nothing: its webhook is a hint and the transaction is re-read; a re-read that
  says refunded moves ``paid → refunded`` once, and a refund of a payment never confirmed here is
  flagged and closed, never confirmed (webhook and reconciler alike).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from local import aws
from local.fakes.apipix import FakeApiPix
from local.fakes.mercadopago import FakeMercadoPago
from local.fakes.pushinpay import FakePushinPay
from local.fakes.woovi import FakeWoovi
from local.handlers import LambdaContext, handler_globals, load_handler
from local.template import load
from tests.conftest import load_event
from tests.integration.test_gateway_webhook import drain

TENANT = "t1"
SECRETS = {
    "gw_apipix": "apx-3f9c1b7e5d2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e",
    "gw_push": "psh-8e6c4a2f0d1b3e5c7a9f2d4b6e8c0a1f3d5b7c9e",
    "gw_woovi": "wvi-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
    "gw_mp": "mpg-0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a",
}


@dataclass
class World:
    resources: aws.Resources
    table: Any
    handler: Any
    function: Any
    apipix: FakeApiPix = field(default_factory=lambda: FakeApiPix(client_id="cid", client_secret="csecret-0123456789"))
    pushinpay: FakePushinPay = field(default_factory=FakePushinPay)
    woovi: FakeWoovi = field(default_factory=FakeWoovi)
    mercadopago: FakeMercadoPago = field(default_factory=FakeMercadoPago)

    def fakes(self) -> dict[str, Any]:
        """Each gateway's fake, by the host its test gateway points at."""
        return {"pix.psp.test": self.apipix, "pushinpay.test": self.pushinpay, "woovi.test": self.woovi,
                "mp.test": self.mercadopago}  # fmt: skip

    def route(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self.fakes()[str(request.url.host)].handle(request)
        return response

    def adapter(self, gateway_id: str) -> Any:
        item = self.table.get(f"GATEWAY#{gateway_id}", "GATEWAY")
        return handler_globals(self.handler)["DEPS"].adapter(item)

    def create_payment(self, gateway_id: str, amount_cents: int = 1990) -> tuple[str, str]:
        """A payment with its charge at the gateway: (payment id, gateway charge id)."""
        from funil.payments.gateways.base import ChargeRequest
        from funil.payments.models import Payment
        from funil.payments.storage import Payments

        payment = Payment.new(
            tenant_id=TENANT, amount_cents=amount_cents, now=datetime.now(UTC), bot_id="bot1", telegram_user_id=42
        )
        charge = self.adapter(gateway_id).create_charge(
            ChargeRequest(payment_id=payment.payment_id, amount_cents=amount_cents, description="VIP")
        )
        payment = payment.model_copy(
            update={"gateway_id": gateway_id, "gateway_charge_id": charge.gateway_charge_id, "brcode": charge.brcode}
        )
        Payments(self.table).create(payment)
        return payment.payment_id, charge.gateway_charge_id

    def payment(self, payment_id: str) -> dict[str, Any]:
        item = self.table.get(f"PAYMENT#{payment_id}", "PAYMENT", consistent=True)
        assert item is not None
        return dict(item)

    def post(
        self,
        gateway_id: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        pix_suffix: bool = False,
        secret: str | None = None,
        query: str = "",
    ) -> tuple[int, dict[str, Any]]:
        """POST as API Gateway would hand it to the function (the /pix route's event for API Pix)."""
        event = load_event("gateway_webhook_apipix_post.json" if pix_suffix else "gateway_webhook_post.json")
        secret = SECRETS[gateway_id] if secret is None else secret
        path = f"/pay/{gateway_id}/{secret}" + ("/pix" if pix_suffix else "")
        event["pathParameters"] = {"gateway_id": gateway_id, "secret": secret}
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["rawQueryString"] = query
        base = {k: v for k, v in event["headers"].items() if k not in ("sandbox-signature", "content-length")}
        event["headers"] = {**base, "content-length": str(len(body)), **(headers or {})}
        event["body"] = body.decode()
        answer = self.handler(event, LambdaContext(self.function, "test"))
        return answer["statusCode"], json.loads(answer["body"])

    def sent(self) -> tuple[list[str], list[dict[str, Any]]]:
        """What reached the queues since the last call: conversion kinds, delivery bodies."""
        kinds = [message["kind"] for message in drain(self.resources, "ConversionsQueue")]
        return kinds, drain(self.resources, "DeliveryQueue")


GatewayConfigs = dict[
    str, tuple[str, str, dict[str, str], dict[str, Any]]
]  # id → (kind, base URL, credentials, options)


def gateway_configs(world: Any) -> GatewayConfigs:
    """Each gateway kind's test gateway, pointed at ``world``'s fake of it (``world.apipix`` …)."""
    return {
        "gw_apipix": (
            "apipix",
            "https://pix.psp.test/v2",
            {"client_id": "cid", "client_secret": "csecret-0123456789"},
            {"token_url": "https://pix.psp.test/oauth/token", "chave": world.apipix.chave},
        ),
        "gw_push": ("pushinpay", "https://pushinpay.test", {"token": world.pushinpay.token}, {}),
        "gw_woovi": (
            "woovi",
            "https://woovi.test",
            {"app_id": world.woovi.app_id},
            {"webhook_public_key": world.woovi.public_key_pem},
        ),
        "gw_mp": (
            "mercadopago",
            "https://mp.test",
            {"access_token": world.mercadopago.access_token, "webhook_secret": world.mercadopago.webhook_secret},
            {"payer_email": "buyer@example.com"},
        ),
    }


@pytest.fixture
def world(aws_env: aws.Resources, table: Any) -> Iterator[World]:
    from funil.adapters.kms import Kms
    from funil.payments.gateway_items import Gateway
    from funil.payments.gateways import apipix

    apipix._TOKENS.clear()
    function = load().functions["GatewayWebhookFunction"]
    world = World(aws_env, table, load_handler(function, fresh=True), function)
    configs = gateway_configs(world)
    for gateway_id, (kind, base_url, credentials, options) in configs.items():
        gateway = Gateway(gateway_id=gateway_id, tenant_id=TENANT, kind=kind, base_url=base_url, options=options)
        table.put(gateway.to_item(Kms(), aws_env.keys["SecretsKey"], credentials, SECRETS[gateway_id]))
    handler_globals(world.handler)["DEPS"].http = httpx.Client(transport=httpx.MockTransport(world.route))
    yield world
    apipix._TOKENS.clear()


# --- API Pix: POST {webhookUrl}/pix ------------------------------------------------------------


def test_template_routes_the_pix_suffix_to_the_webhook_function() -> None:
    template = load()
    function = template.functions["GatewayWebhookFunction"]
    assert {(route.method, route.path) for route in function.routes} == {
        ("POST", "/pay/{gateway_id}/{secret}"),
        ("POST", "/pay/{gateway_id}/{secret}/pix"),
    }
    path = f"/pay/gw_apipix/{SECRETS['gw_apipix']}/pix"
    matches = [
        (fn.logical_id, route.path, found.groupdict())
        for fn in template.functions.values()
        for route in fn.routes
        if route.method == "POST" and (found := route.pattern().match(path))
    ]
    assert matches == [
        (
            "GatewayWebhookFunction",
            "/pay/{gateway_id}/{secret}/pix",
            {"gateway_id": "gw_apipix", "secret": SECRETS["gw_apipix"]},
        )
    ]


def test_api_pix_webhook_at_the_pix_suffix_confirms_once(world: World) -> None:
    payment_id, txid = world.create_payment("gw_apipix")
    assert txid == payment_id
    # The webhook URL we register is the base route; the PSP appends /pix itself.
    world.adapter("gw_apipix").register_webhook(f"https://api.funil.test/pay/gw_apipix/{SECRETS['gw_apipix']}")
    registered = world.apipix.webhooks[world.apipix.chave]
    assert not registered.endswith("/pix")

    # A body that says "paid" while the cob is still ATIVA: a hint, re-read, nothing happens.
    lying = {"pix": [{"endToEndId": "E" + "1" * 31, "txid": txid, "valor": "19.90", "horario": "2026-11-22T18:35:00Z"}]}
    status, answer = world.post("gw_apipix", json.dumps(lying).encode(), pix_suffix=True)
    assert (status, answer["results"]) == (200, ["noop"])
    assert world.payment(payment_id)["status"] == "pending"

    world.apipix.pay(txid)
    body = world.apipix.webhook_body(txid)
    status, answer = world.post("gw_apipix", body, pix_suffix=True)
    assert (status, answer["results"]) == (200, ["confirmed"])
    assert world.payment(payment_id)["status"] == "paid"
    assert world.sent() == (["Purchase"], [{"version": 1, "payment_id": payment_id, "tenant_id": TENANT}])

    status, answer = world.post("gw_apipix", body, pix_suffix=True)  # the PSP retries
    assert (status, answer["results"]) == (200, ["unchanged:paid"])
    assert world.sent() == ([], [])


def test_api_pix_suffix_still_needs_the_url_secret(world: World) -> None:
    payment_id, txid = world.create_payment("gw_apipix")
    world.apipix.pay(txid)
    body = world.apipix.webhook_body(txid)
    unknown = world.post("gw_nope", body, pix_suffix=True, secret="x" * 40)
    assert unknown == (404, {"error": "not found"})
    assert world.post("gw_apipix", body, pix_suffix=True, secret="x" * 40) == unknown
    assert world.payment(payment_id)["status"] == "pending"
    assert world.sent() == ([], [])


# --- the other gateways, at the base route -----------------------------------------------------


def test_woovi_signed_webhook_confirms(world: World) -> None:
    payment_id, _ = world.create_payment("gw_woovi")
    world.woovi.pay(payment_id)
    body, headers = world.woovi.webhook(payment_id)
    status, answer = world.post("gw_woovi", body, headers)
    assert (status, answer["results"]) == (200, ["confirmed"])
    assert world.payment(payment_id)["status"] == "paid"
    forged_body, forged_headers = world.woovi.webhook(payment_id)
    assert world.post("gw_woovi", forged_body.replace(b"COMPLETED", b"COMPLETE "), forged_headers)[0] == 401
    assert world.sent()[0] == ["Purchase"]


def test_mercadopago_signed_webhook_confirms(world: World) -> None:
    payment_id, charge_id = world.create_payment("gw_mp")
    world.mercadopago.approve(int(charge_id))
    note = world.mercadopago.notification(charge_id)
    query = "&".join(f"{key}={value}" for key, value in note.query.items())
    status, answer = world.post("gw_mp", note.body, note.headers, query=query)
    assert (status, answer["results"]) == (200, ["confirmed"])
    assert world.payment(payment_id)["status"] == "paid"
    wrong = world.mercadopago.notification(charge_id, secret="not-the-tenants-secret")
    assert world.post("gw_mp", wrong.body, wrong.headers, query=query)[0] == 401
    assert world.sent()[0] == ["Purchase"]


def test_mercadopago_signature_covers_the_query_data_id(world: World) -> None:
    payment_id, charge_id = world.create_payment("gw_mp")
    other_id, other_charge = world.create_payment("gw_mp")
    world.mercadopago.approve(int(charge_id))
    world.mercadopago.approve(int(other_charge))
    note = world.mercadopago.notification(charge_id)
    body = json.dumps({"action": "payment.updated", "type": "payment", "data": {}}).encode()  # id in the URL only
    # The signature names charge_id: the same headers on a URL naming another payment are forged.
    assert world.post("gw_mp", body, note.headers, query=f"data.id={other_charge}&type=payment")[0] == 401
    assert world.payment(other_id)["status"] == "pending"
    status, answer = world.post("gw_mp", body, note.headers, query=f"data.id={charge_id}&type=payment")
    assert (status, answer["results"]) == (200, ["confirmed"])
    assert world.payment(payment_id)["status"] == "paid"


def test_pushinpay_hint_confirms_after_the_reread(world: World) -> None:
    payment_id, tx_id = world.create_payment("gw_push")
    hint = world.pushinpay.webhook_body(tx_id)
    assert world.post("gw_push", hint)[1]["results"] == ["noop"]  # still "created" at PushinPay
    world.pushinpay.pay(tx_id)
    status, answer = world.post("gw_push", world.pushinpay.webhook_body(tx_id))
    assert (status, answer["results"]) == (200, ["confirmed"])
    assert world.payment(payment_id)["status"] == "paid"


# --- refunds seen on a re-read (PushinPay) -----------------------------------------------------


def test_pushinpay_refund_seen_on_reread_refunds_once(world: World) -> None:
    payment_id, tx_id = world.create_payment("gw_push")
    world.pushinpay.pay(tx_id)
    assert world.post("gw_push", world.pushinpay.webhook_body(tx_id))[1]["results"] == ["confirmed"]
    assert world.sent() == (["Purchase"], [{"version": 1, "payment_id": payment_id, "tenant_id": TENANT}])

    world.pushinpay.transactions[tx_id]["status"] = "refunded"
    # The hint may even still say "paid": only the re-read counts.
    stale_hint = json.dumps({"id": tx_id, "status": "paid", "value": 1990}).encode()
    status, answer = world.post("gw_push", stale_hint)
    assert (status, answer["results"]) == (200, ["refunded"])
    payment = world.payment(payment_id)
    assert (payment["status"], payment["refund_reason"]) == ("refunded", "refund")
    assert payment["refund_enqueued_at"] and payment["revoke_enqueued_at"]
    kinds, deliveries = world.sent()
    assert kinds == ["Refund"]
    assert deliveries == [{"version": 1, "payment_id": payment_id, "tenant_id": TENANT}]  # revoke the invite

    for _ in range(2):  # repeated hints: no-ops
        status, answer = world.post("gw_push", world.pushinpay.webhook_body(tx_id))
        assert (status, answer["results"]) == (200, ["unchanged:refunded"])
    assert world.sent() == ([], [])
    assert world.payment(payment_id)["refunded_at"] == payment["refunded_at"]


def test_pushinpay_refund_of_a_payment_never_confirmed_is_flagged_not_confirmed(world: World) -> None:
    payment_id, tx_id = world.create_payment("gw_push")
    world.pushinpay.pay(tx_id)
    world.pushinpay.transactions[tx_id]["status"] = "refunded"  # paid and given back before any webhook
    for _ in range(2):
        status, answer = world.post("gw_push", world.pushinpay.webhook_body(tx_id))
        assert (status, answer["results"]) == (200, ["refund_of_unpaid"])
    payment = world.payment(payment_id)
    assert (payment["status"], payment["flag"]) == ("canceled", "refund_before_confirmed")
    assert "paid_at" not in payment and "gsi2pk" not in payment  # out of the reconciler's index
    assert world.sent() == ([], [])


def test_reconciler_flags_a_pending_payment_whose_charge_came_back_refunded(world: World) -> None:
    from funil.payments.storage import Payments

    function = load().functions["ReconcilerFunction"]
    reconciler = load_handler(function, fresh=True)
    handler_globals(reconciler)["DEPS"].http = httpx.Client(transport=httpx.MockTransport(world.route))
    refunded_id, refunded_tx = world.create_payment("gw_push")
    paid_id, paid_tx = world.create_payment("gw_push")
    world.pushinpay.pay(refunded_tx)
    world.pushinpay.transactions[refunded_tx]["status"] = "refunded"
    world.pushinpay.pay(paid_tx)

    first = reconciler(load_event("reconciler_schedule.json"), LambdaContext(function, "test"))
    assert json.dumps(first)  # a JSON-able summary
    refunded, paid = world.payment(refunded_id), world.payment(paid_id)
    assert (refunded["status"], refunded["flag"]) == ("canceled", "refund_before_confirmed")
    assert "paid_at" not in refunded and "purchase_enqueued_at" not in refunded
    assert paid["status"] == "paid"
    kinds, deliveries = world.sent()
    assert kinds == ["Purchase"] and [job["payment_id"] for job in deliveries] == [paid_id]

    pending = {item["payment_id"] for item in Payments(world.table).all_pending()}
    assert refunded_id not in pending and paid_id not in pending
    reconciler(load_event("reconciler_schedule.json"), LambdaContext(function, "test"))
    assert world.sent() == ([], [])
    assert world.payment(refunded_id)["status"] == "canceled"


def test_refund_racing_a_confirmation_is_still_a_refund(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refund's first write finds the payment pending; before it can close it, another webhook
    confirms it. The close then finds it paid, and the refund goes through after all."""
    from funil.payments import observations, transitions

    payment_id, tx_id = world.create_payment("gw_push")
    world.pushinpay.pay(tx_id)
    world.pushinpay.transactions[tx_id]["status"] = "refunded"
    deps = handler_globals(world.handler)["DEPS"]
    real_close = transitions.mark_canceled

    def confirmed_meanwhile(items: Any, pid: str, now: datetime) -> Any:
        transitions.confirm(
            items, pid, now, conversions=deps.conversions, deliveries=deps.deliveries, now=now
        )  # the other webhook's write
        return real_close(items, pid, now)

    monkeypatch.setattr(observations.transitions, "mark_canceled", confirmed_meanwhile)
    status, answer = world.post("gw_push", world.pushinpay.webhook_body(tx_id))
    assert (status, answer["results"]) == (200, ["refunded"])
    payment = world.payment(payment_id)
    assert payment["status"] == "refunded" and "flag" not in payment
    kinds, deliveries = world.sent()
    assert sorted(kinds) == ["Purchase", "Refund"] and len(deliveries) == 2  # delivery, then its revocation
