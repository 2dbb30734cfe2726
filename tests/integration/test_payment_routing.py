"""Per-tenant routing of PIX charges: priority, weighted split, failover, voided ambiguous attempts.

The table and KMS are moto's; each gateway is its fake speaking its own wire format, reached over
httpx by host name. A "lost response" is a charge the fake created whose answer never arrived.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from local import aws
from local.fakes.mercadopago import FakeMercadoPago
from local.fakes.pushinpay import FakePushinPay
from local.fakes.sandbox import SandboxGateway
from local.fakes.woovi import FakeWoovi

TENANT = "t_route"
Handle = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, body: str, attributes: dict[str, str] | None = None) -> str:
        self.sent.append(body)
        return str(len(self.sent))


@dataclass
class Gateways:
    """The fakes by host, and one-shot "response lost after the charge was made" switches."""

    sandbox: SandboxGateway = field(default_factory=SandboxGateway)
    sandbox_b: SandboxGateway = field(default_factory=lambda: SandboxGateway(api_key="sandbox-b-key"))
    woovi: FakeWoovi = field(default_factory=FakeWoovi)
    mercadopago: FakeMercadoPago = field(default_factory=FakeMercadoPago)
    pushinpay: FakePushinPay = field(default_factory=FakePushinPay)
    lose_next_create: set[str] = field(default_factory=set)
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (host, method, path)

    def handlers(self) -> dict[str, Handle]:
        return {
            "sandbox.test": self.sandbox.handle,
            "sandbox-b.test": self.sandbox_b.handle,
            "woovi.test": self.woovi.handle,
            "mp.test": self.mercadopago.handle,
            "pushinpay.test": self.pushinpay.handle,
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.seen.append((host, request.method, request.url.path))
        response = self.handlers()[host](request)
        if request.method == "POST" and host in self.lose_next_create and response.status_code < 300:
            self.lose_next_create.discard(host)
            raise httpx.ReadTimeout("response lost on the way back", request=request)
        return response

    def calls_to(self, host: str) -> list[tuple[str, str]]:
        return [(method, path) for seen_host, method, path in self.seen if seen_host == host]


CREDENTIALS: dict[str, tuple[str, dict[str, str], dict[str, Any]]] = {
    # host: (kind, credentials, options)
    "sandbox.test": ("sandbox", {"api_key": "sandbox-api-key", "webhook_secret": "whsec-a-0123456789"}, {}),
    "sandbox-b.test": ("sandbox", {"api_key": "sandbox-b-key", "webhook_secret": "whsec-b-0123456789"}, {}),
    "woovi.test": ("woovi", {"app_id": FakeWoovi().app_id}, {}),
    "mp.test": ("mercadopago", {"access_token": FakeMercadoPago().access_token}, {"payer_email": "buyer@example.com"}),
    "pushinpay.test": ("pushinpay", {"token": FakePushinPay().token}, {}),
}


@pytest.fixture
def world(aws_env: aws.Resources, table: Any) -> Any:
    from funil.adapters.kms import Kms
    from funil.payments.ports import Deps

    fakes = Gateways()
    deps = Deps(
        items=table,
        secrets=Kms(),
        http=httpx.Client(transport=httpx.MockTransport(fakes.handle)),
        conversions=Recorder(),
        deliveries=Recorder(),
    )

    def add_gateway(
        gateway_id: str,
        host: str,
        priority: int = 1,
        weight: int = 1,
        enabled: bool = True,
        credentials: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        from funil.payments.gateway_items import Gateway

        kind, known, options = CREDENTIALS[host]
        credentials = known if credentials is None else credentials
        options = {**options, **extra}
        gateway = Gateway(
            gateway_id=gateway_id,
            tenant_id=TENANT,
            kind=kind,
            base_url=f"http://{host}",
            priority=priority,
            weight=weight,
            enabled=enabled,
            options=options,
        )
        table.put(gateway.to_item(Kms(), aws_env.keys["SecretsKey"], credentials, "url-secret-" + gateway_id))

    return fakes, deps, add_gateway


def new_payment(deps: Any, amount_cents: int = 1990) -> Any:
    from funil.payments.models import Payment

    payment = Payment.new(tenant_id=TENANT, amount_cents=amount_cents, now=datetime.now(UTC), bot_id="bot1")
    deps.payments.create(payment)
    return payment


def attempts(deps: Any, payment_id: str) -> list[tuple[str, str]]:
    return [(item["gateway_id"], item["outcome"]) for item in deps.payments.attempts(payment_id)]


# --- order -------------------------------------------------------------------------------------------


def test_order_is_by_priority_and_skips_disabled_gateways() -> None:
    from funil.payments.routing import gateway_order

    gateways = [
        {"gateway_id": "late", "priority": 3},
        {"gateway_id": "off", "priority": 0, "enabled": False},
        {"gateway_id": "first", "priority": 1},
        {"gateway_id": "second", "priority": 2},
    ]
    assert [item["gateway_id"] for item in gateway_order(gateways)] == ["first", "second", "late"]


def test_weighted_split_within_a_priority_follows_the_weights() -> None:
    from funil.payments.routing import gateway_order

    gateways = [
        {"gateway_id": "big", "priority": 1, "weight": 3},
        {"gateway_id": "small", "priority": 1, "weight": 1},
        {"gateway_id": "spare", "priority": 1, "weight": 0},
        {"gateway_id": "backup", "priority": 2, "weight": 5},
    ]
    rng = random.Random(11)
    orders = [tuple(item["gateway_id"] for item in gateway_order(gateways, rng)) for _ in range(8000)]
    first = Counter(order[0] for order in orders)
    assert 0.72 < first["big"] / len(orders) < 0.78
    assert first["big"] + first["small"] == len(orders)
    # Weight 0 is only a fallback inside its priority; the next priority always comes after.
    assert {order[2:] for order in orders} == {("spare", "backup")}


# --- routing through the fakes -----------------------------------------------------------------------


def test_the_first_gateway_by_priority_makes_the_charge(world: Any) -> None:
    from funil.payments.routing import route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_main", "sandbox.test", priority=1)
    add_gateway("gw_backup", "woovi.test", priority=2)
    payment = new_payment(deps)

    routed = route_charge(deps, payment, "Curso")

    assert routed.gateway_id == "gw_main"
    stored = deps.payments.get(payment.payment_id)
    assert stored["gateway_id"] == "gw_main"
    assert stored["gateway_charge_id"] == routed.charge.gateway_charge_id
    assert stored["brcode"] == routed.charge.brcode and stored["brcode"]
    assert deps.payments.by_gateway_charge("gw_main", routed.charge.gateway_charge_id)["payment_id"] == (
        payment.payment_id
    )
    assert attempts(deps, payment.payment_id) == [("gw_main", "created")]
    assert fakes.calls_to("woovi.test") == []


def test_a_failed_gateway_fails_over_to_the_next_priority(world: Any) -> None:
    from funil.payments.routing import route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_main", "sandbox.test", priority=1)
    add_gateway("gw_backup", "sandbox-b.test", priority=2)
    fakes.sandbox.down = True  # 503: the charge was never made, the sandbox's listing says so
    payment = new_payment(deps)

    routed = route_charge(deps, payment, "Curso")

    assert routed.gateway_id == "gw_backup"
    assert deps.payments.get(payment.payment_id)["gateway_id"] == "gw_backup"
    # A 503 on create is ambiguous; the sandbox is still down when routing looks for the charge.
    assert attempts(deps, payment.payment_id) == [("gw_main", "void_unverified"), ("gw_backup", "created")]
    assert fakes.sandbox_b.find(payment.payment_id)["status"] == "pending"


def test_a_refused_charge_is_a_plain_failure_and_fails_over(world: Any) -> None:
    from funil.payments.routing import route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_main", "mp.test", priority=1)
    add_gateway("gw_backup", "sandbox.test", priority=2)
    fakes.mercadopago.fail(400, method="POST", body={"message": "invalid payer"})
    payment = new_payment(deps)

    assert route_charge(deps, payment, "Curso").gateway_id == "gw_backup"
    assert attempts(deps, payment.payment_id) == [("gw_main", "failed"), ("gw_backup", "created")]


def test_a_lost_answer_where_we_choose_the_id_is_cancelled_before_failing_over(world: Any) -> None:
    from funil.payments.routing import route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_woovi", "woovi.test", priority=1)
    add_gateway("gw_backup", "sandbox.test", priority=2)
    fakes.lose_next_create.add("woovi.test")
    payment = new_payment(deps)

    routed = route_charge(deps, payment, "Curso")

    assert routed.gateway_id == "gw_backup"
    assert attempts(deps, payment.payment_id) == [("gw_woovi", "void_canceled"), ("gw_backup", "created")]
    # Woovi's charge (correlationID = our payment id) was made, then removed: nobody can pay it.
    assert payment.payment_id not in fakes.woovi.charges
    assert ("DELETE", f"/api/v1/charge/{payment.payment_id}") in fakes.calls_to("woovi.test")


def test_a_timeout_before_creation_where_we_choose_the_id_is_recorded_absent(world: Any) -> None:
    from funil.payments.routing import route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_woovi", "woovi.test", priority=1)
    add_gateway("gw_backup", "sandbox.test", priority=2)
    fakes.woovi.time_out(method="POST")
    payment = new_payment(deps)

    assert route_charge(deps, payment, "Curso").gateway_id == "gw_backup"
    assert attempts(deps, payment.payment_id) == [("gw_woovi", "void_absent"), ("gw_backup", "created")]
    assert fakes.woovi.charges == {}


def test_a_lost_answer_is_found_by_our_reference_in_the_listing_and_cancelled(world: Any) -> None:
    from funil.payments.routing import route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_mp", "mp.test", priority=1)
    add_gateway("gw_backup", "sandbox.test", priority=2)
    fakes.lose_next_create.add("mp.test")
    payment = new_payment(deps)

    assert route_charge(deps, payment, "Curso").gateway_id == "gw_backup"
    assert attempts(deps, payment.payment_id) == [("gw_mp", "void_canceled"), ("gw_backup", "created")]
    assert fakes.mercadopago.by_reference(payment.payment_id)["status"] == "cancelled"


def test_an_ambiguous_attempt_at_a_gateway_that_cannot_cancel_is_recorded_unverified(
    world: Any, funil_log: list[Any]
) -> None:
    from funil.payments.routing import route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_pushin", "pushinpay.test", priority=1)
    add_gateway("gw_backup", "sandbox.test", priority=2)
    fakes.pushinpay.time_out(method="POST")
    payment = new_payment(deps)

    assert route_charge(deps, payment, "Curso").gateway_id == "gw_backup"
    assert attempts(deps, payment.payment_id) == [("gw_pushin", "void_unverified"), ("gw_backup", "created")]
    assert [getattr(r, "anomaly", None) for r in funil_log].count("void_unverified") == 1


def test_a_gateway_whose_minimum_is_above_the_amount_is_skipped(world: Any) -> None:
    from funil.payments.routing import route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_pushin", "pushinpay.test", priority=1)  # PushinPay's minimum is 50 cents
    add_gateway("gw_backup", "sandbox.test", priority=2)
    payment = new_payment(deps, amount_cents=30)

    assert route_charge(deps, payment, "Curso").gateway_id == "gw_backup"
    assert fakes.calls_to("pushinpay.test") == []
    assert attempts(deps, payment.payment_id) == [("gw_backup", "created")]


def test_when_every_gateway_fails_nothing_is_charged_and_every_attempt_is_kept(world: Any) -> None:
    from funil.payments.routing import NoCharge, route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_main", "mp.test", priority=1)
    add_gateway("gw_backup", "woovi.test", priority=2)
    add_gateway("gw_off", "sandbox.test", priority=0, enabled=False)
    fakes.mercadopago.fail(400, method="POST")
    fakes.woovi.fail(400, method="POST")
    payment = new_payment(deps)

    with pytest.raises(NoCharge):
        route_charge(deps, payment, "Curso")

    stored = deps.payments.get(payment.payment_id)
    assert stored["status"] == "pending" and "gateway_id" not in stored
    assert attempts(deps, payment.payment_id) == [("gw_main", "failed"), ("gw_backup", "failed")]
    assert fakes.calls_to("sandbox.test") == []


def test_a_tenant_without_gateways_gets_no_charge(world: Any) -> None:
    from funil.payments.routing import NoCharge, route_charge

    _, deps, _ = world
    with pytest.raises(NoCharge, match="no enabled gateway"):
        route_charge(deps, new_payment(deps), "Curso")


def test_charges_split_between_gateways_of_one_priority_by_weight(world: Any) -> None:
    from funil.payments.routing import route_charge

    _, deps, add_gateway = world
    add_gateway("gw_big", "sandbox.test", priority=1, weight=3)
    add_gateway("gw_small", "sandbox-b.test", priority=1, weight=1)
    rng = random.Random(5)
    used = Counter(route_charge(deps, new_payment(deps), "Curso", rng).gateway_id for _ in range(80))
    assert used["gw_big"] + used["gw_small"] == 80
    assert 45 <= used["gw_big"] <= 72  # 60 expected; both gateways get charges


def test_a_voided_attempt_paid_anyway_is_confirmed_once_and_alerted(world: Any, funil_log: list[Any]) -> None:
    from funil.payments.entry import handle_webhook
    from funil.payments.routing import route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_woovi", "woovi.test", priority=1, webhook_public_key=fakes.woovi.public_key_pem)
    add_gateway("gw_backup", "sandbox.test", priority=2)
    fakes.lose_next_create.add("woovi.test")
    fakes.woovi.fail(503, method="DELETE", times=None)  # and the cancel never gets through
    payment = new_payment(deps)
    assert route_charge(deps, payment, "Curso").gateway_id == "gw_backup"
    assert attempts(deps, payment.payment_id) == [("gw_woovi", "void_unverified"), ("gw_backup", "created")]

    fakes.woovi.pay(payment.payment_id)  # somehow paid: the money is real, the sale must count
    body, headers = fakes.woovi.webhook(payment.payment_id)
    for _ in range(2):
        status, answer = handle_webhook(deps, "gw_woovi", "url-secret-gw_woovi", headers, body)
        assert status == 200
    assert answer["results"] == ["unchanged:paid"]
    assert deps.payments.get(payment.payment_id)["status"] == "paid"
    assert len(deps.conversions.sent) == len(deps.deliveries.sent) == 1
    assert [getattr(r, "anomaly", None) for r in funil_log].count("voided_attempt_paid") == 2  # each time


def test_a_gateway_whose_configuration_cannot_be_loaded_is_a_failed_attempt(world: Any) -> None:
    from funil.payments.routing import route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_broken", "woovi.test", priority=1, credentials={})  # no app_id
    add_gateway("gw_backup", "sandbox.test", priority=2)
    payment = new_payment(deps)

    assert route_charge(deps, payment, "Curso").gateway_id == "gw_backup"
    (broken, created) = deps.payments.attempts(payment.payment_id)
    assert (broken["outcome"], broken["error"]) == ("failed", "config: GatewayError")
    assert created["outcome"] == "created"
    assert fakes.calls_to("woovi.test") == []


def _voided_woovi(world: Any) -> tuple[Any, Any, Any]:
    """A payment whose Woovi attempt was made but could not be cancelled; the sandbox's charge is shown."""
    from funil.payments.routing import route_charge

    fakes, deps, add_gateway = world
    add_gateway("gw_woovi", "woovi.test", priority=1, webhook_public_key=fakes.woovi.public_key_pem)
    add_gateway("gw_backup", "sandbox.test", priority=2)
    fakes.lose_next_create.add("woovi.test")
    fakes.woovi.fail(503, method="DELETE", times=None)
    payment = new_payment(deps)
    assert route_charge(deps, payment, "Curso").gateway_id == "gw_backup"
    return fakes, deps, payment


def test_other_events_of_a_voided_attempt_do_not_touch_the_payment(world: Any) -> None:
    from funil.payments.entry import handle_webhook

    fakes, deps, payment = _voided_woovi(world)
    fakes.woovi.expire(payment.payment_id)
    body, headers = fakes.woovi.webhook(payment.payment_id, event="OPENPIX:CHARGE_EXPIRED")
    status, answer = handle_webhook(deps, "gw_woovi", "url-secret-gw_woovi", headers, body)
    assert (status, answer["results"]) == (200, ["ignored:voided_attempt"])
    assert deps.payments.get(payment.payment_id)["status"] == "pending"  # the sandbox's charge is still payable
    assert deps.conversions.sent == deps.deliveries.sent == []


def test_a_voided_attempt_paid_after_the_shown_charge_is_alerted_not_confirmed_again(
    world: Any, funil_log: list[Any]
) -> None:
    from datetime import UTC, datetime

    from funil.payments import transitions
    from funil.payments.entry import handle_webhook

    fakes, deps, payment = _voided_woovi(world)
    now = datetime.now(UTC)
    transitions.confirm(
        deps.items, payment.payment_id, now, conversions=deps.conversions, deliveries=deps.deliveries, now=now
    )
    fakes.woovi.pay(payment.payment_id)  # the buyer paid twice
    body, headers = fakes.woovi.webhook(payment.payment_id)
    status, answer = handle_webhook(deps, "gw_woovi", "url-secret-gw_woovi", headers, body)
    assert (status, answer["results"]) == (200, ["unchanged:paid"])
    assert len(deps.conversions.sent) == len(deps.deliveries.sent) == 1
    assert [getattr(r, "anomaly", None) for r in funil_log].count("voided_attempt_paid") == 1
