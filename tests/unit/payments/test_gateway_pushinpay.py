"""PushinPay adapter against the fake cash-in API; its unsigned webhooks are hints only."""

from __future__ import annotations

import json

import httpx
import pytest
from funil.payments.gateways import build_adapter
from funil.payments.gateways.base import ChargeStatus, GatewayConfig, GatewayError, WebhookAuth, WebhookRejected
from funil.payments.gateways.pushinpay import PushinPayAdapter

from local.fakes.pushinpay import FakePushinPay
from tests.unit.payments.gateway_helpers import charge_request, raising

TOKEN = "12345|pushinpay-test-token"


@pytest.fixture
def fake() -> FakePushinPay:
    return FakePushinPay(token=TOKEN)


def config() -> GatewayConfig:
    return GatewayConfig(
        gateway_id="gw_pp",
        tenant_id="t1",
        kind="pushinpay",
        base_url="https://api.pushinpay.test",
        credentials={"token": TOKEN},
    )


@pytest.fixture
def adapter(fake: FakePushinPay) -> PushinPayAdapter:
    return PushinPayAdapter(config(), httpx.Client(transport=httpx.MockTransport(fake.handle)))


def test_registry_and_capabilities(fake: FakePushinPay) -> None:
    built = build_adapter(config(), httpx.Client(transport=httpx.MockTransport(fake.handle)))
    assert isinstance(built, PushinPayAdapter)
    caps = built.capabilities
    assert caps.webhook_auth is WebhookAuth.SECRET_URL
    assert (caps.we_choose_id, caps.can_cancel, caps.can_list, caps.min_amount_cents) == (False, False, False, 50)


def test_create_sends_cents_and_webhook_url(adapter: PushinPayAdapter, fake: FakePushinPay) -> None:
    request = charge_request(1990)
    charge = adapter.create_charge(request)
    sent = fake.requests[-1]
    assert sent.method == "POST" and sent.url.path == "/api/pix/cashIn"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(sent.content) == {"value": 1990, "webhook_url": request.webhook_url}
    assert charge.status is ChargeStatus.PENDING and charge.amount_cents == 1990
    assert charge.reference == request.payment_id  # ours, kept by the adapter: PushinPay has no field for it
    assert charge.gateway_charge_id in fake.transactions
    assert charge.brcode and charge.brcode.startswith("000201")


def test_below_minimum_is_refused_before_calling(adapter: PushinPayAdapter, fake: FakePushinPay) -> None:
    with pytest.raises(GatewayError, match="minimum"):
        adapter.create_charge(charge_request(49))
    assert not fake.requests


def test_get_statuses(adapter: PushinPayAdapter, fake: FakePushinPay) -> None:
    charge = adapter.create_charge(charge_request(700))
    tx_id = next(iter(fake.transactions))
    fake.pay(tx_id)
    got = adapter.get_charge(charge.gateway_charge_id)
    assert got.status is ChargeStatus.PAID and got.amount_cents == 700 and got.raw_status == "paid"
    fake.cancel(tx_id)
    assert adapter.get_charge(charge.gateway_charge_id).status is ChargeStatus.CANCELED
    for raw, expected in [
        ("expired", ChargeStatus.EXPIRED),
        ("refunded", ChargeStatus.REFUNDED),
        ("??", ChargeStatus.UNKNOWN),
    ]:
        fake.transactions[tx_id]["status"] = raw
        assert adapter.get_charge(charge.gateway_charge_id).status is expected


def test_value_as_string_and_fractions(adapter: PushinPayAdapter, fake: FakePushinPay) -> None:
    charge = adapter.create_charge(charge_request(1333))
    tx_id = next(iter(fake.transactions))
    fake.transactions[tx_id]["value"] = "1333"  # the docs' consult example sends a string
    assert adapter.get_charge(charge.gateway_charge_id).amount_cents == 1333
    fake.transactions[tx_id]["value"] = "13.5"
    with pytest.raises(GatewayError, match="whole cents"):
        adapter.get_charge(charge.gateway_charge_id)


def test_unknown_transaction_answers_empty_list(adapter: PushinPayAdapter) -> None:
    with pytest.raises(GatewayError, match="not found") as error:
        adapter.get_charge("9f8efc3a-4b9b-490f-9c76-e98512654ec9")
    assert not error.value.transient


def test_empty_list_with_200_is_not_found() -> None:
    adapter = PushinPayAdapter(
        config(), httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=[])))
    )
    with pytest.raises(GatewayError, match="not found"):
        adapter.get_charge("abc")


def test_cancel_and_list_are_not_offered(adapter: PushinPayAdapter, fake: FakePushinPay) -> None:
    from datetime import UTC, datetime

    with pytest.raises(GatewayError):
        adapter.cancel_charge("abc")
    with pytest.raises(GatewayError):
        adapter.list_charges(datetime.now(UTC), datetime.now(UTC))
    assert not fake.requests


def test_webhook_is_a_hint_json_or_form(adapter: PushinPayAdapter, fake: FakePushinPay) -> None:
    charge = adapter.create_charge(charge_request())
    tx_id = next(iter(fake.transactions))
    fake.pay(tx_id)
    body = fake.webhook_body(tx_id)
    adapter.verify_webhook({}, body)  # nothing to verify: gated by the secret URL
    [event] = adapter.parse_webhook({}, body)
    assert event.gateway_charge_id == charge.gateway_charge_id
    assert event.needs_refetch is True and event.status is ChargeStatus.UNKNOWN
    [form_event] = adapter.parse_webhook({}, f"id={tx_id}&status=paid&value=1990".encode())
    assert form_event.gateway_charge_id == charge.gateway_charge_id
    # The body's claims are ignored: only the re-read counts.
    assert adapter.get_charge(event.gateway_charge_id or "").status is ChargeStatus.PAID


@pytest.mark.parametrize("body", [b"{}", b'{"id": "../../admin"}', b"[]", b'{"status": "paid"}'])
def test_webhook_without_usable_id_is_rejected(adapter: PushinPayAdapter, body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook({}, body)


def test_4xx_permanent_without_secrets(fake: FakePushinPay) -> None:
    cfg = config()
    cfg.credentials["token"] = "99999|wrong-token"
    adapter = PushinPayAdapter(cfg, httpx.Client(transport=httpx.MockTransport(fake.handle)))
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert "401" in str(error.value) and not error.value.transient and "wrong-token" not in str(error.value)


def test_422_is_permanent(adapter: PushinPayAdapter, fake: FakePushinPay) -> None:
    fake.fail(422, body={"message": "O campo value deve ser no mínimo 50."})
    with pytest.raises(GatewayError, match="422") as error:
        adapter.create_charge(charge_request())
    assert not error.value.transient


def test_5xx_and_timeouts(adapter: PushinPayAdapter, fake: FakePushinPay) -> None:
    fake.fail(503)
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert error.value.transient and error.value.ambiguous
    fake.time_out()
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert error.value.transient and error.value.ambiguous
    fake.time_out()
    with pytest.raises(GatewayError) as error:
        adapter.get_charge("abc")
    assert error.value.transient and not error.value.ambiguous
    fake.fail(500)
    with pytest.raises(GatewayError) as error:
        adapter.get_charge("abc")
    assert error.value.transient


def test_connect_error_not_ambiguous() -> None:
    adapter = PushinPayAdapter(config(), httpx.Client(transport=raising(httpx.ConnectTimeout)))
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert error.value.transient and not error.value.ambiguous


def test_fake_mounts_in_the_local_stack(fake: FakePushinPay) -> None:
    """The fakes serve the local stack through ``mount``: same wire format over its HTTP routes."""
    from local.fakes.gateway_common import mount
    from local.server import LocalRequest

    routes: dict[str, object] = {}

    class Stack:
        base_url = "http://127.0.0.1:3000"

        def add_route(self, method: str, pattern: str, handler: object) -> None:
            routes[f"{method} {pattern}"] = handler

    base = mount(Stack(), "/_local/gateways/pushinpay", fake)  # type: ignore[arg-type]
    assert base == "http://127.0.0.1:3000/_local/gateways/pushinpay"
    handler = routes["ANY /_local/gateways/pushinpay/{path+}"]
    response = handler(  # type: ignore[operator]
        LocalRequest(
            method="POST",
            path="/_local/gateways/pushinpay/api/pix/cashIn",
            path_params={},
            query={},
            headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
            body=b'{"value": 990}',
        )
    )
    assert response.status == 200 and json.loads(response.body)["value"] == 990
