"""Mercado Pago adapter against the fake payments API and its signed notifications."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

import httpx
import pytest
from funil.payments.gateways import build_adapter
from funil.payments.gateways.base import ChargeStatus, GatewayConfig, GatewayError, WebhookRejected
from funil.payments.gateways.mercadopago import MercadoPagoAdapter

from local.fakes.mercadopago import FakeMercadoPago
from tests.unit.payments.gateway_helpers import Clock, charge_request, raising

SECRET = "mp-webhook-secret-for-tests-0123456789"
TOKEN = "APP_USR-test-token-abcdef"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeMercadoPago:
    return FakeMercadoPago(access_token=TOKEN, webhook_secret=SECRET, now=clock)


def config(**options: object) -> GatewayConfig:
    return GatewayConfig(
        gateway_id="gw_mp",
        tenant_id="t1",
        kind="mercadopago",
        base_url="https://api.mercadopago.test",
        credentials={"access_token": TOKEN, "webhook_secret": SECRET},
        options={"payer_email": "vendas@loja.test", **options},
    )


@pytest.fixture
def adapter(fake: FakeMercadoPago, clock: Clock) -> MercadoPagoAdapter:
    return MercadoPagoAdapter(config(), httpx.Client(transport=httpx.MockTransport(fake.handle)), now=clock)


def test_registry_builds_it(fake: FakeMercadoPago) -> None:
    built = build_adapter(config(), httpx.Client(transport=httpx.MockTransport(fake.handle)))
    assert isinstance(built, MercadoPagoAdapter)
    assert built.capabilities.webhook_auth == "hmac"
    assert built.capabilities.we_choose_id is False


def test_create_sends_pix_payment_with_our_reference_and_idempotency_key(
    adapter: MercadoPagoAdapter, fake: FakeMercadoPago, clock: Clock
) -> None:
    request = charge_request(1990)
    charge = adapter.create_charge(request)

    sent = fake.requests[-1]
    body = json.loads(sent.content)
    assert sent.method == "POST" and sent.url.path == "/v1/payments"
    assert sent.headers["x-idempotency-key"] == request.payment_id
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert body["payment_method_id"] == "pix"
    assert body["transaction_amount"] == 19.9
    assert body["external_reference"] == request.payment_id
    assert body["notification_url"] == request.webhook_url
    assert body["payer"] == {"email": "vendas@loja.test"}
    assert datetime.fromisoformat(body["date_of_expiration"]) == clock.moment + timedelta(seconds=1800)
    assert charge.status is ChargeStatus.PENDING
    assert charge.amount_cents == 1990
    assert charge.reference == request.payment_id
    assert charge.gateway_charge_id == str(fake.by_reference(request.payment_id)["id"])
    assert charge.brcode and charge.brcode.startswith("000201")


@pytest.mark.parametrize("cents", [1, 10, 33, 1001, 1990, 99999, 123456789])
def test_amounts_round_trip_exactly(adapter: MercadoPagoAdapter, cents: int) -> None:
    charge = adapter.create_charge(charge_request(cents))
    assert charge.amount_cents == cents
    assert adapter.get_charge(charge.gateway_charge_id).amount_cents == cents


def test_retry_with_same_payment_id_answers_the_same_payment(
    adapter: MercadoPagoAdapter, fake: FakeMercadoPago
) -> None:
    request = charge_request(500)
    first = adapter.create_charge(request)
    second = adapter.create_charge(request)
    assert first.gateway_charge_id == second.gateway_charge_id
    assert len(fake.payments) == 1


def test_payer_email_is_required(fake: FakeMercadoPago) -> None:
    cfg = config()
    cfg.options.pop("payer_email")
    adapter = MercadoPagoAdapter(cfg, httpx.Client(transport=httpx.MockTransport(fake.handle)))
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert not error.value.transient
    assert not fake.requests  # refused before any call
    charge = adapter.create_charge(charge_request(payer_email="comprador@example.test"))
    assert json.loads(fake.requests[-1].content)["payer"]["email"] == "comprador@example.test"
    assert charge.status is ChargeStatus.PENDING


@pytest.mark.parametrize(
    ("simulate", "expected"),
    [
        ("approve", ChargeStatus.PAID),
        ("expire", ChargeStatus.EXPIRED),
        ("refund", ChargeStatus.REFUNDED),
    ],
)
def test_get_maps_statuses(
    adapter: MercadoPagoAdapter, fake: FakeMercadoPago, simulate: str, expected: ChargeStatus
) -> None:
    charge = adapter.create_charge(charge_request())
    if simulate == "refund":
        fake.approve(int(charge.gateway_charge_id))
    getattr(fake, simulate)(int(charge.gateway_charge_id))
    got = adapter.get_charge(charge.gateway_charge_id)
    assert got.status is expected
    if expected is ChargeStatus.PAID:
        assert got.paid_at is not None


@pytest.mark.parametrize(
    ("raw", "detail", "expected"),
    [
        ("rejected", "cc_rejected_other_reason", ChargeStatus.FAILED),
        ("in_process", "pending_review_manual", ChargeStatus.PENDING),
        ("charged_back", "settled", ChargeStatus.REFUNDED),
        ("cancelled", "by_collector", ChargeStatus.CANCELED),
        ("something_new", "", ChargeStatus.UNKNOWN),
    ],
)
def test_other_statuses(
    adapter: MercadoPagoAdapter, fake: FakeMercadoPago, raw: str, detail: str, expected: ChargeStatus
) -> None:
    charge = adapter.create_charge(charge_request())
    fake.payments[int(charge.gateway_charge_id)].update(status=raw, status_detail=detail)
    assert adapter.get_charge(charge.gateway_charge_id).status is expected


def test_amount_with_fractions_of_cents_is_refused(adapter: MercadoPagoAdapter, fake: FakeMercadoPago) -> None:
    charge = adapter.create_charge(charge_request())
    fake.payments[int(charge.gateway_charge_id)]["transaction_amount"] = 19.905
    with pytest.raises(GatewayError, match="fractions of a cent"):
        adapter.get_charge(charge.gateway_charge_id)


def test_cancel_pending_then_paid_is_left_alone(adapter: MercadoPagoAdapter, fake: FakeMercadoPago) -> None:
    pending = adapter.create_charge(charge_request())
    adapter.cancel_charge(pending.gateway_charge_id)
    assert adapter.get_charge(pending.gateway_charge_id).status is ChargeStatus.CANCELED
    assert json.loads(fake.requests[-2].content) == {"status": "cancelled"}

    paid = adapter.create_charge(charge_request())
    fake.approve(int(paid.gateway_charge_id))
    adapter.cancel_charge(paid.gateway_charge_id)  # 400 from MP; the payment is paid: no error
    assert adapter.get_charge(paid.gateway_charge_id).status is ChargeStatus.PAID


def test_list_and_find_by_reference(adapter: MercadoPagoAdapter, clock: Clock) -> None:
    requests = [charge_request(100 + i) for i in range(3)]
    created = [adapter.create_charge(r) for r in requests]
    listed = adapter.list_charges(clock.moment.replace(hour=0), clock.moment.replace(hour=23))
    assert {c.gateway_charge_id for c in listed} == {c.gateway_charge_id for c in created}
    found = adapter.find_by_reference(requests[1].payment_id)
    assert [c.gateway_charge_id for c in found] == [created[1].gateway_charge_id]


# -- webhooks --------------------------------------------------------------------------------


def test_webhook_good_signature_in_ms(adapter: MercadoPagoAdapter, fake: FakeMercadoPago, clock: Clock) -> None:
    charge = adapter.create_charge(charge_request())
    note = fake.notification(charge.gateway_charge_id, ts=int(clock.moment.timestamp() * 1000))
    adapter.verify_webhook(note.headers, note.body, query=note.query)
    adapter.verify_webhook(note.headers, note.body)  # data.id from the body when the query is not given
    events = adapter.parse_webhook(note.headers, note.body)
    assert len(events) == 1
    event = events[0]
    assert event.gateway_charge_id == charge.gateway_charge_id
    assert event.needs_refetch is True and event.status is ChargeStatus.UNKNOWN and event.kind == "payment"


def test_webhook_good_signature_in_seconds(adapter: MercadoPagoAdapter, fake: FakeMercadoPago, clock: Clock) -> None:
    note = fake.notification(1234567890, ts=int(clock.moment.timestamp()))
    adapter.verify_webhook(note.headers, note.body, query=note.query)


def test_webhook_without_request_id_drops_that_part(
    adapter: MercadoPagoAdapter, fake: FakeMercadoPago, clock: Clock
) -> None:
    ts = int(clock.moment.timestamp() * 1000)
    v1 = hmac.new(SECRET.encode(), f"id:42;ts:{ts};".encode(), hashlib.sha256).hexdigest()
    body = json.dumps({"type": "payment", "action": "payment.updated", "data": {"id": "42"}}).encode()
    adapter.verify_webhook({"x-signature": f"ts={ts},v1={v1}"}, body, query={"data.id": "42"})


def test_alphanumeric_data_id_is_lowercased(adapter: MercadoPagoAdapter, fake: FakeMercadoPago, clock: Clock) -> None:
    note = fake.notification("ORD01ABC", ts=int(clock.moment.timestamp() * 1000))
    adapter.verify_webhook(note.headers, note.body, query=note.query)


def test_webhook_forged_with_another_secret(adapter: MercadoPagoAdapter, fake: FakeMercadoPago, clock: Clock) -> None:
    note = fake.notification(555, ts=int(clock.moment.timestamp() * 1000), secret="not-the-secret")
    with pytest.raises(WebhookRejected, match="does not match"):
        adapter.verify_webhook(note.headers, note.body, query=note.query)


def test_webhook_signature_for_another_payment(
    adapter: MercadoPagoAdapter, fake: FakeMercadoPago, clock: Clock
) -> None:
    note = fake.notification(555, ts=int(clock.moment.timestamp() * 1000))
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(note.headers, note.body, query={"data.id": "556", "type": "payment"})
    tampered = json.dumps({"type": "payment", "data": {"id": "556"}}).encode()
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(note.headers, tampered)


def test_webhook_stale_signature_is_a_replay(adapter: MercadoPagoAdapter, fake: FakeMercadoPago, clock: Clock) -> None:
    note = fake.notification(555, ts=int(clock.moment.timestamp() * 1000))
    clock.advance(601)
    with pytest.raises(WebhookRejected, match="window"):
        adapter.verify_webhook(note.headers, note.body, query=note.query)
    clock.advance(-601 - 601)  # too far in the future as well
    with pytest.raises(WebhookRejected, match="window"):
        adapter.verify_webhook(note.headers, note.body, query=note.query)


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-signature": "v1=abc"}, {"x-signature": "ts=abc,v1=def"}, {"x-signature": "garbage"}],
)
def test_webhook_missing_or_malformed_signature(adapter: MercadoPagoAdapter, headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(headers, b'{"type":"payment","data":{"id":"1"}}')


def test_webhook_without_configured_secret_is_rejected(fake: FakeMercadoPago, clock: Clock) -> None:
    cfg = config()
    cfg.credentials.pop("webhook_secret")
    adapter = MercadoPagoAdapter(cfg, httpx.Client(transport=httpx.MockTransport(fake.handle)), now=clock)
    note = fake.notification(1, ts=int(clock.moment.timestamp() * 1000))
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(note.headers, note.body, query=note.query)


def test_parse_ignores_other_topics_and_rejects_garbage(adapter: MercadoPagoAdapter) -> None:
    assert adapter.parse_webhook({}, b'{"type":"merchant_order","data":{"id":"9"}}') == []
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook({}, b"not json")
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook({}, b'{"type":"payment","data":{"id":"../x"}}')


# -- errors ------------------------------------------------------------------------------------


def test_4xx_is_permanent_and_keeps_secrets_out(fake: FakeMercadoPago) -> None:
    cfg = config()
    cfg.credentials["access_token"] = "APP_USR-wrong-token-zzz"
    adapter = MercadoPagoAdapter(cfg, httpx.Client(transport=httpx.MockTransport(fake.handle)))
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert not error.value.transient and not error.value.ambiguous
    assert "401" in str(error.value)
    assert "APP_USR" not in str(error.value) and SECRET not in str(error.value)
    assert "APP_USR" not in str(cfg) and "APP_USR" not in repr(cfg)


def test_404_on_get(adapter: MercadoPagoAdapter) -> None:
    with pytest.raises(GatewayError) as error:
        adapter.get_charge("999")
    assert "404" in str(error.value) and not error.value.transient


def test_5xx_is_transient_and_ambiguous_during_create(adapter: MercadoPagoAdapter, fake: FakeMercadoPago) -> None:
    fake.fail(502)
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert error.value.transient and error.value.ambiguous
    fake.fail(503)
    with pytest.raises(GatewayError) as error:
        adapter.get_charge("1")
    assert error.value.transient and not error.value.ambiguous


def test_429_is_transient_not_ambiguous(adapter: MercadoPagoAdapter, fake: FakeMercadoPago) -> None:
    fake.fail(429)
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert error.value.transient and not error.value.ambiguous


def test_timeout_during_create_is_ambiguous_and_retry_is_idempotent(
    adapter: MercadoPagoAdapter, fake: FakeMercadoPago
) -> None:
    request = charge_request()
    fake.time_out()
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(request)
    assert error.value.transient and error.value.ambiguous
    # The fake timed out before creating; a retry with the same id creates exactly one.
    assert adapter.create_charge(request).reference == request.payment_id
    assert len(fake.payments) == 1


def test_timeout_during_get_is_transient_only(adapter: MercadoPagoAdapter, fake: FakeMercadoPago) -> None:
    fake.time_out()
    with pytest.raises(GatewayError) as error:
        adapter.get_charge("1")
    assert error.value.transient and not error.value.ambiguous


def test_connect_error_is_not_ambiguous() -> None:
    adapter = MercadoPagoAdapter(config(), httpx.Client(transport=raising(httpx.ConnectError)))
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert error.value.transient and not error.value.ambiguous
    adapter = MercadoPagoAdapter(config(), httpx.Client(transport=raising(httpx.ReadTimeout)))
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert error.value.transient and error.value.ambiguous


def test_missing_access_token_is_a_configuration_error() -> None:
    cfg = config()
    cfg.credentials.clear()
    with pytest.raises(GatewayError):
        MercadoPagoAdapter(cfg, httpx.Client())
