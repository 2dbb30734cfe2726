"""Webhooks reach us only at the URL we gave each gateway: on the charge, or once at setup.

Each gateway is its fake, in a tenant of its own (so routing picks it); the webhook route is the
deployed handler; routing and setup get the payments core as the functions do, with
``PUBLIC_BASE_URL``. A fake POSTs its webhook only to the URL it was given (PushinPay's
``webhook_url`` and Mercado Pago's ``notification_url`` on the charge; API Pix ``PUT
/webhook/{chave}``, Woovi's webhook API and the sandbox's ``PUT /v1/webhook`` at setup): every sale
here is confirmed by that webhook, never by the reconciler.
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
from local.fakes.sandbox import SandboxGateway
from local.handlers import LambdaContext, handler_globals, load_handler
from local.template import load
from tests.conftest import load_event
from tests.integration import test_gateway_webhook_kinds as kinds
from tests.integration.test_gateway_webhook import drain
from tests.integration.test_gateway_webhook_kinds import gateway_configs

PUBLIC = "https://api.funil.test"
URL_SECRETS = {
    "gw_apipix": "apx-5b1d9e3c7a2f4e6d8c0b2a4f6e8d0c2b4a6f8e0d",
    "gw_push": "psh-2d4f6b8a0c1e3d5f7b9a1c3e5d7f9b0a2c4e6d8f",
    "gw_woovi": "wvi-9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e",
    "gw_mp": "mpg-1c3e5a7b9d0f2e4c6a8b0d1f3e5c7a9b2d4f6e8a",
    "gw_sandbox": "sbx-7a9c1e3b5d7f9a0c2e4b6d8f0a1c3e5b7d9f1a2c",
}


@dataclass
class World(kinds.World):
    """The gateway kinds' world, plus the sandbox (registered per account) and our route's calls."""

    sandbox: SandboxGateway = field(default_factory=lambda: SandboxGateway(webhook_secret="whsec-urls-0123456789"))
    received: list[str] = field(default_factory=list)  # the paths our route was called at

    def fakes(self) -> dict[str, Any]:
        return {**super().fakes(), "sandbox.test": self.sandbox}

    def deps(self, public_base_url: str = PUBLIC) -> Any:
        """The payments core as routing and setup get it (funil.wiring), around moto and the fakes."""
        from funil.adapters.kms import Kms
        from funil.adapters.sqs import Queue
        from funil.payments.ports import Deps

        return Deps(
            items=self.table,
            secrets=Kms(),
            http=httpx.Client(transport=httpx.MockTransport(self.route)),
            conversions=Queue(self.resources.queues["ConversionsQueue"]),
            deliveries=Queue(self.resources.queues["DeliveryQueue"]),
            public_base_url=public_base_url,
        )

    def gateway(self, gateway_id: str) -> dict[str, Any]:
        item = self.table.get(f"GATEWAY#{gateway_id}", "GATEWAY")
        assert item is not None
        return dict(item)

    def sell(self, gateway_id: str, deps: Any, amount_cents: int = 1990) -> tuple[str, str]:
        """A payment routed through the gateway's tenant: (payment id, gateway charge id)."""
        from funil.payments.models import Payment
        from funil.payments.routing import route_charge

        payment = Payment.new(
            tenant_id=f"t_{gateway_id}",
            amount_cents=amount_cents,
            now=datetime.now(UTC),
            bot_id="b",
            telegram_user_id=7,
        )
        deps.payments.create(payment)
        routed = route_charge(deps, payment, "VIP")
        assert routed.gateway_id == gateway_id
        return payment.payment_id, routed.charge.gateway_charge_id

    def deliver(self, url: str, headers: dict[str, str], body: bytes) -> int:
        event = webhook_event(url, headers, body)
        self.received.append(event["rawPath"])
        answer = self.handler(event, LambdaContext(self.function, "test"))
        return int(answer["statusCode"])

    def payment(self, payment_id: str) -> dict[str, Any]:
        return stored_payment(self.table, payment_id)

    def purchases(self) -> list[str]:
        return purchases(self.resources)


def webhook_event(url: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """A gateway's POST to ``url`` as API Gateway hands it to GatewayWebhookFunction (our host only)."""
    parsed = httpx.URL(url)
    assert f"{parsed.scheme}://{parsed.host}" == PUBLIC, "a webhook went somewhere else"
    parts = parsed.path.split("/")
    assert parts[:2] == ["", "pay"] and len(parts) in (4, 5), parsed.path
    pix = len(parts) == 5 and parts[4] == "pix"
    event = load_event("gateway_webhook_apipix_post.json" if pix else "gateway_webhook_post.json")
    event["pathParameters"] = {"gateway_id": parts[2], "secret": parts[3]}
    event["rawPath"] = event["requestContext"]["http"]["path"] = parsed.path
    event["rawQueryString"] = parsed.query.decode()
    base = {k: v for k, v in event["headers"].items() if k not in ("sandbox-signature", "content-length")}
    event["headers"] = {**base, "content-length": str(len(body)), **headers}
    event["body"] = body.decode()
    return event


def stored_payment(table: Any, payment_id: str) -> dict[str, Any]:
    item = table.get(f"PAYMENT#{payment_id}", "PAYMENT", consistent=True)
    assert item is not None
    return dict(item)


def purchases(resources: aws.Resources) -> list[str]:
    """The payments whose Purchase was queued (the delivery queue drained beside it)."""
    drain(resources, "DeliveryQueue")
    return [m["refs"]["payment_id"] for m in drain(resources, "ConversionsQueue") if m["kind"] == "Purchase"]


@pytest.fixture
def world(aws_env: aws.Resources, table: Any) -> Iterator[World]:
    from funil.adapters.kms import Kms
    from funil.payments.gateway_items import Gateway
    from funil.payments.gateways import apipix

    apipix._TOKENS.clear()
    function = load().functions["GatewayWebhookFunction"]
    world = World(aws_env, table, load_handler(function, fresh=True), function)
    configs = {
        **gateway_configs(world),
        "gw_sandbox": (
            "sandbox",
            "https://sandbox.test",
            {"api_key": world.sandbox.api_key, "webhook_secret": world.sandbox.webhook_secret},
            {},
        ),
    }
    for gateway_id, (kind, base_url, credentials, options) in configs.items():
        gateway = Gateway(
            gateway_id=gateway_id, tenant_id=f"t_{gateway_id}", kind=kind, base_url=base_url, options=options
        )
        table.put(gateway.to_item(Kms(), aws_env.keys["SecretsKey"], credentials, URL_SECRETS[gateway_id]))
    handler_globals(world.handler)["DEPS"].http = httpx.Client(transport=httpx.MockTransport(world.route))
    yield world
    world.sandbox.close()
    apipix._TOKENS.clear()


def our_url(gateway_id: str) -> str:
    return f"{PUBLIC}/pay/{gateway_id}/{URL_SECRETS[gateway_id]}"


# --- per charge: PushinPay, Mercado Pago ----------------------------------------------------------


def test_pushinpay_charge_carries_our_url_and_its_webhook_confirms(world: World) -> None:
    from funil.payments.setup import Registration, register_webhook

    deps = world.deps()
    assert register_webhook(world.gateway("gw_push"), deps) is Registration.PER_CHARGE
    payment_id, tx_id = world.sell("gw_push", deps)
    assert world.pushinpay.transactions[tx_id]["webhook_url"] == our_url("gw_push")
    world.pushinpay.pay(tx_id)
    assert world.pushinpay.notify(tx_id, world.deliver) == 200
    assert world.payment(payment_id)["status"] == "paid"
    assert world.received == [f"/pay/gw_push/{URL_SECRETS['gw_push']}"]
    assert world.purchases() == [payment_id]


def test_mercadopago_charge_carries_our_notification_url_and_its_signed_webhook_confirms(world: World) -> None:
    deps = world.deps()
    payment_id, charge_id = world.sell("gw_mp", deps)
    assert world.mercadopago.payments[int(charge_id)]["notification_url"] == our_url("gw_mp")
    world.mercadopago.approve(int(charge_id))
    assert world.mercadopago.notify(int(charge_id), world.deliver) == 200
    assert world.payment(payment_id)["status"] == "paid"
    assert world.purchases() == [payment_id]


def test_mercadopago_unsigned_topic_notification_is_answered_and_reread(world: World) -> None:
    """The IPN-style ``?id=…&topic=payment`` carries no signature: 2xx and a re-read, never a 401."""
    deps = world.deps()
    payment_id, charge_id = world.sell("gw_mp", deps)
    assert world.mercadopago.ipn(int(charge_id), world.deliver) == 200  # still pending: nothing moves
    assert world.payment(payment_id)["status"] == "pending"
    world.mercadopago.approve(int(charge_id))
    assert world.mercadopago.ipn(int(charge_id), world.deliver) == 200
    assert world.payment(payment_id)["status"] == "paid"  # confirmed by what the re-read said


# --- per account, at setup: API Pix, Woovi, the sandbox ---------------------------------------------


def test_api_pix_setup_registers_our_url_and_the_psp_posts_to_it_with_pix(world: World) -> None:
    from funil.payments.setup import Registration, register_webhook

    deps = world.deps()
    payment_id, txid = world.sell("gw_apipix", deps)
    world.apipix.pay(txid)
    assert world.apipix.notify(txid, deliver=world.deliver) is None  # nothing registered: nothing sent
    assert world.payment(payment_id)["status"] == "pending"

    assert register_webhook(world.gateway("gw_apipix"), deps) is Registration.REGISTERED
    assert world.apipix.webhooks[world.apipix.chave] == our_url("gw_apipix")
    assert world.apipix.notify(txid, deliver=world.deliver) == 200
    assert world.received == [f"/pay/gw_apipix/{URL_SECRETS['gw_apipix']}/pix"]
    assert world.payment(payment_id)["status"] == "paid"
    assert world.purchases() == [payment_id]


def test_woovi_setup_registers_each_event_once_and_its_signed_webhook_confirms(world: World) -> None:
    from funil.payments.gateways.woovi import REGISTERED_EVENTS
    from funil.payments.setup import register_webhook

    deps = world.deps()
    for _ in range(2):  # the operator may add the gateway again: still one webhook per event
        register_webhook(world.gateway("gw_woovi"), deps)
    hooks = sorted((hook["event"], hook["url"]) for hook in world.woovi.hooks.values())
    assert hooks == sorted((event, our_url("gw_woovi")) for event in REGISTERED_EVENTS)

    payment_id, _ = world.sell("gw_woovi", deps)
    world.woovi.pay(payment_id)
    assert world.woovi.notify(payment_id, "OPENPIX:CHARGE_COMPLETED", world.deliver) == [200]
    assert world.payment(payment_id)["status"] == "paid"
    assert world.purchases() == [payment_id]


def test_sandbox_setup_registers_our_url_and_its_signed_webhook_confirms(world: World) -> None:
    from funil.payments.setup import Registration, register_webhook

    deps = world.deps()
    payment_id, charge_id = world.sell("gw_sandbox", deps)
    world.sandbox.pay(charge_id, world.deliver)
    assert world.received == []  # no URL given yet: the sandbox had nowhere to send it
    assert world.payment(payment_id)["status"] == "pending"

    assert register_webhook(world.gateway("gw_sandbox"), deps) is Registration.REGISTERED
    assert world.sandbox.webhook_url == our_url("gw_sandbox")
    world.sandbox.pay(charge_id, world.deliver)  # the payer's bank confirms again
    assert world.payment(payment_id)["status"] == "paid"
    assert world.purchases() == [payment_id]


# --- without a public URL ------------------------------------------------------------------------


def test_without_a_public_base_url_charges_carry_no_url_and_setup_refuses(world: World) -> None:
    from funil.payments.gateways.base import GatewayError
    from funil.payments.setup import register_webhook

    deps = world.deps(public_base_url="")
    payment_id, tx_id = world.sell("gw_push", deps)  # the sale still goes on; the reconciler settles it
    assert world.pushinpay.transactions[tx_id]["webhook_url"] is None
    world.pushinpay.pay(tx_id)
    assert world.pushinpay.notify(tx_id, world.deliver) is None
    assert world.payment(payment_id)["status"] == "pending"
    with pytest.raises(GatewayError, match="no webhook URL"):
        register_webhook(world.gateway("gw_apipix"), deps)
    assert world.apipix.webhooks == {}


def test_the_url_secret_is_kept_encrypted_and_only_its_hash_in_the_clear(world: World) -> None:
    item = world.gateway("gw_push")
    assert item["url_secret_sha256"] != URL_SECRETS["gw_push"]
    assert URL_SECRETS["gw_push"] not in json.dumps(item, default=str)


# --- who paid, and partial refunds --------------------------------------------------------------


def test_the_payer_a_webhook_reports_is_stored_apart_with_a_ttl_and_never_logged(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from funil.payments.setup import register_webhook

    deps = world.deps()
    register_webhook(world.gateway("gw_sandbox"), deps)
    payment_id, charge_id = world.sell("gw_sandbox", deps)
    payer = {"name": "Maria Teste", "email": "maria@example.com", "phone": "+55 11 91234-5678",
             "document": "529.982.247-25", "address": {"city": "Recife", "state": "pe", "zip_code": "50000-000",
                                                       "country": "br"}}  # fmt: skip
    world.sandbox.pay(charge_id, world.deliver, payer=payer)
    paid = world.payment(payment_id)
    stored = world.table.get(f"PAYMENT#{payment_id}", "PAYER")
    assert stored is not None
    assert {key: value for key, value in stored.items() if key not in ("created_at", "expires_at") and not key.startswith("gsi")} == {
        "pk": f"PAYMENT#{payment_id}", "sk": "PAYER", "type": "payer", "tenant_id": "t_gw_sandbox",
        "payment_id": payment_id, "name": "Maria Teste", "email": "maria@example.com", "phone": "+55 11 91234-5678",
        "document": "52998224725", "city": "Recife", "state": "PE", "zip_code": "50000000", "country": "BR",
        "source": "sandbox",
    }  # fmt: skip
    paid_at = datetime.fromisoformat(paid["paid_at"].replace("Z", "+00:00"))
    assert int(stored["expires_at"]) == int(paid_at.timestamp()) + 30 * 86400
    assert "name" not in paid and "payer" not in paid  # nothing of the person on the payment itself
    assert world.purchases() == [payment_id]
    logged = capsys.readouterr()
    assert "Maria" not in logged.out + logged.err and "maria@example.com" not in logged.out + logged.err


def test_a_partial_devolucao_leaves_the_sale_paid_and_sends_a_refund_of_that_value(world: World) -> None:
    from funil.conversions.builder import commerce_data
    from funil.messages import EventKind
    from funil.payments.setup import register_webhook

    deps = world.deps()
    register_webhook(world.gateway("gw_apipix"), deps)
    payment_id, txid = world.sell("gw_apipix", deps, amount_cents=5000)
    world.apipix.pay(txid)
    assert world.apipix.notify(txid, deliver=world.deliver) == 200
    assert world.purchases() == [payment_id]
    pix = world.apipix.cobs[txid]["pix"][0]
    pix["devolucoes"] = [
        {"id": "D1", "rtrId": "D" + "2" * 31, "valor": "12.50", "status": "DEVOLVIDO",
         "horario": {"solicitacao": "2026-11-23T10:00:00Z", "liquidacao": "2026-11-23T10:00:05Z"}},
    ]  # fmt: skip
    for _ in range(2):  # the PSP repeats itself: one partial refund
        assert world.apipix.notify(txid, deliver=world.deliver) == 200
    payment = world.payment(payment_id)
    assert (payment["status"], payment["refund_state"], payment["refunded_cents"]) == ("paid", "partial", 1250)
    assert payment["refunded_at"] == "2026-11-23T10:00:05.000Z"  # the refund's own time, not ours
    kinds = [message["kind"] for message in drain(world.resources, "ConversionsQueue")]
    assert kinds == ["Refund"] and drain(world.resources, "DeliveryQueue") == []  # no revocation
    assert commerce_data(payment, EventKind.REFUND)["value"] == 12.5  # type: ignore[index]
