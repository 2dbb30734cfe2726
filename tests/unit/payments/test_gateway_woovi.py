"""Woovi/OpenPix adapter against the fake charge API and its RSA-signed webhooks."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from funil.payments.gateways import build_adapter
from funil.payments.gateways.base import ChargeStatus, GatewayConfig, GatewayError, WebhookRejected
from funil.payments.gateways.woovi import WOOVI_PUBLIC_KEY_PEM, WooviAdapter, load_public_key

from local.fakes.woovi import FakeWoovi
from tests.unit.payments.gateway_helpers import Clock, charge_request, raising

APP_ID = "Q2xpZW50X0lkX3Rlc3Q6U2VjcmV0X3Rlc3Q="

# The base64-of-PEM form of the production key that Woovi's validation examples embed.
WOOVI_KEY_BASE64 = (
    "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KTUlHZk1BMEdDU3FHU0liM0RRRUJBUVVBQTRHTkFEQ0JpUUtCZ1FDLytOdElranpldnZxRCtJM01N"
    "djNiTFhEdApwdnhCalk0QnNSclNkY2EzcnRBd01jUllZdnhTbmQ3amFnVkxwY3RNaU94UU84aWVVQ0tMU1dIcHNNQWpPL3paCldNS2Jxb0c4TU5w"
    "aS91M2ZwNnp6MG1jSENPU3FZc1BVVUcxOWJ1VzhiaXM1WloySVpnQk9iV1NwVHZKMGNuajYKSEtCQUE4MkpsbitsR3dTMU13SURBUUFCCi0tLS0t"
    "RU5EIFBVQkxJQyBLRVktLS0tLQo="
)


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@pytest.fixture
def fake(private_key: rsa.RSAPrivateKey) -> FakeWoovi:
    return FakeWoovi(app_id=APP_ID, private_key=private_key)


def config(fake: FakeWoovi) -> GatewayConfig:
    return GatewayConfig(
        gateway_id="gw_woovi",
        tenant_id="t1",
        kind="woovi",
        base_url="https://api.woovi.test",
        credentials={"app_id": APP_ID},
        options={"webhook_public_key": fake.public_key_pem},
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def adapter(fake: FakeWoovi, clock: Clock) -> WooviAdapter:
    return WooviAdapter(config(fake), httpx.Client(transport=httpx.MockTransport(fake.handle)), now=clock)


def test_registry_and_capabilities(fake: FakeWoovi) -> None:
    built = build_adapter(config(fake), httpx.Client(transport=httpx.MockTransport(fake.handle)))
    assert isinstance(built, WooviAdapter)
    assert built.capabilities.webhook_auth == "rsa" and built.capabilities.we_choose_id


def test_create_uses_our_id_as_correlation_id(adapter: WooviAdapter, fake: FakeWoovi) -> None:
    request = charge_request(1990)
    charge = adapter.create_charge(request)
    sent = fake.requests[-1]
    assert sent.method == "POST" and sent.url.path == "/api/v1/charge"
    assert sent.headers["authorization"] == APP_ID  # AppID as is, no Bearer
    assert json.loads(sent.content) == {
        "correlationID": request.payment_id,
        "value": 1990,
        "comment": "Curso Funil",
        "expiresIn": 1800,
    }
    assert charge.gateway_charge_id == charge.reference == request.payment_id
    assert charge.status is ChargeStatus.PENDING and charge.amount_cents == 1990
    assert charge.brcode and charge.brcode.startswith("000201")
    assert charge.expires_at is not None


def test_get_paid_and_expired(adapter: WooviAdapter, fake: FakeWoovi) -> None:
    paid = adapter.create_charge(charge_request())
    fake.pay(paid.gateway_charge_id)
    got = adapter.get_charge(paid.gateway_charge_id)
    assert got.status is ChargeStatus.PAID and got.paid_at is not None
    expired = adapter.create_charge(charge_request())
    fake.expire(expired.gateway_charge_id)
    assert adapter.get_charge(expired.gateway_charge_id).status is ChargeStatus.EXPIRED


def test_cancel_deletes_an_active_charge_only(adapter: WooviAdapter, fake: FakeWoovi) -> None:
    active = adapter.create_charge(charge_request())
    adapter.cancel_charge(active.gateway_charge_id)
    assert fake.requests[-1].method == "DELETE"
    assert active.gateway_charge_id not in fake.charges
    paid = adapter.create_charge(charge_request())
    fake.pay(paid.gateway_charge_id)
    adapter.cancel_charge(paid.gateway_charge_id)  # nothing to cancel: no DELETE sent
    assert fake.requests[-1].method == "GET"
    assert fake.charges[paid.gateway_charge_id]["status"] == "COMPLETED"


def test_list(adapter: WooviAdapter, fake: FakeWoovi, clock: Clock) -> None:
    def listing(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/charge" and request.method == "GET":
            skip = int(request.url.params["skip"])
            charges = list(fake.charges.values())
            page = charges[skip : skip + 2]
            return httpx.Response(
                200,
                json={"charges": page, "pageInfo": {"skip": skip, "limit": 2, "hasNextPage": skip + 2 < len(charges)}},
            )
        return fake.handle(request)

    listed_adapter = WooviAdapter(config(fake), httpx.Client(transport=httpx.MockTransport(listing)), now=clock)
    created = {listed_adapter.create_charge(charge_request()).gateway_charge_id for _ in range(3)}
    assert {c.gateway_charge_id for c in listed_adapter.list_charges(clock.moment, clock.moment)} == created


# -- webhooks --------------------------------------------------------------------------------


def test_webhook_signed_by_the_configured_key(adapter: WooviAdapter, fake: FakeWoovi) -> None:
    charge = adapter.create_charge(charge_request(2500))
    fake.pay(charge.gateway_charge_id)
    body, headers = fake.webhook(charge.gateway_charge_id)
    adapter.verify_webhook(headers, body)
    events = adapter.parse_webhook(headers, body)
    assert len(events) == 1
    event = events[0]
    assert event.kind == "payment" and event.status is ChargeStatus.PAID
    assert event.reference == charge.gateway_charge_id and event.amount_cents == 2500
    assert event.needs_refetch is False


def test_webhook_forged_tampered_or_unsigned(adapter: WooviAdapter, fake: FakeWoovi) -> None:
    charge = adapter.create_charge(charge_request(2500))
    fake.pay(charge.gateway_charge_id)
    body, headers = fake.webhook(charge.gateway_charge_id)
    tampered = body.replace(b'"value": 2500', b'"value": 25')
    assert tampered != body
    with pytest.raises(WebhookRejected, match="does not match"):
        adapter.verify_webhook(headers, tampered)
    forger = FakeWoovi(app_id=APP_ID)  # another key pair signs the same body
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook({"x-webhook-signature": forger.sign(body)}, body)
    with pytest.raises(WebhookRejected, match="missing"):
        adapter.verify_webhook({}, body)
    with pytest.raises(WebhookRejected, match="base64"):
        adapter.verify_webhook({"x-webhook-signature": "***"}, body)


@pytest.mark.parametrize(
    ("event", "status", "kind"),
    [
        ("OPENPIX:CHARGE_EXPIRED", ChargeStatus.EXPIRED, "payment"),
        ("OPENPIX:TRANSACTION_RECEIVED", ChargeStatus.PAID, "payment"),
        ("PIX_TRANSACTION_REFUND_RECEIVED_CONFIRMED", ChargeStatus.REFUNDED, "refund"),
        ("OPENPIX:TRANSACTION_REFUND_RECEIVED", ChargeStatus.REFUNDED, "refund"),
    ],
)
def test_webhook_events(adapter: WooviAdapter, fake: FakeWoovi, event: str, status: ChargeStatus, kind: str) -> None:
    charge = adapter.create_charge(charge_request())
    if status is ChargeStatus.EXPIRED:
        fake.expire(charge.gateway_charge_id)
    else:
        fake.pay(charge.gateway_charge_id)
    body, headers = fake.webhook(charge.gateway_charge_id, event)
    adapter.verify_webhook(headers, body)
    [parsed] = adapter.parse_webhook(headers, body)
    assert parsed.status is status and parsed.kind == kind


def test_webhook_pings_and_unrelated_events_give_nothing(adapter: WooviAdapter, fake: FakeWoovi) -> None:
    assert adapter.parse_webhook({}, b'{"evento":"teste_webhook"}') == []
    assert (
        adapter.parse_webhook({}, json.dumps({"event": "OPENPIX:TRANSACTION_RECEIVED", "charge": None}).encode()) == []
    )
    assert adapter.parse_webhook({}, b'{"event":"OPENPIX:MOVEMENT_CONFIRMED"}') == []
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook({}, b"[1,2]")


def test_published_key_is_the_default_and_matches_its_base64_form(fake: FakeWoovi) -> None:
    published = load_public_key(WOOVI_PUBLIC_KEY_PEM)
    from_base64 = load_public_key(WOOVI_KEY_BASE64)
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert published.public_bytes(*der) == from_base64.public_bytes(*der)
    cfg = config(fake)
    cfg.options.clear()
    adapter = WooviAdapter(cfg, httpx.Client())
    body, headers = fake.webhook(adapter_charge(fake))
    with pytest.raises(WebhookRejected):  # our test key is not Woovi's
        adapter.verify_webhook(headers, body)


def adapter_charge(fake: FakeWoovi) -> str:
    request = charge_request()
    fake.handle(
        httpx.Request(
            "POST",
            "https://api.woovi.test/api/v1/charge",
            headers={"authorization": APP_ID},
            json={"correlationID": request.payment_id, "value": 100},
        )
    )
    return request.payment_id


def test_bad_public_key_is_a_configuration_error(fake: FakeWoovi) -> None:
    cfg = config(fake)
    cfg.options["webhook_public_key"] = base64.b64encode(b"not a key").decode()
    with pytest.raises(GatewayError):
        WooviAdapter(cfg, httpx.Client())


# -- errors ------------------------------------------------------------------------------------


def test_4xx_permanent_without_secrets(fake: FakeWoovi) -> None:
    cfg = config(fake)
    cfg.credentials["app_id"] = "wrong-app-id-value"
    adapter = WooviAdapter(cfg, httpx.Client(transport=httpx.MockTransport(fake.handle)))
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert "401" in str(error.value) and not error.value.transient
    assert "wrong-app-id-value" not in str(error.value)


def test_repeated_correlation_id_returns_the_first_charge_only_if_it_matches(
    adapter: WooviAdapter, fake: FakeWoovi
) -> None:
    request = charge_request(800)
    first = adapter.create_charge(request)
    assert adapter.create_charge(request).brcode == first.brcode  # a retry after an ambiguous create
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request(900, payment_id=request.payment_id))
    assert "400" in str(error.value) and not error.value.transient
    fake.pay(request.payment_id)
    with pytest.raises(GatewayError, match="400"):
        adapter.create_charge(request)


def test_5xx_and_timeouts(adapter: WooviAdapter, fake: FakeWoovi) -> None:
    fake.fail(500)
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


def test_connect_error_not_ambiguous(fake: FakeWoovi) -> None:
    adapter = WooviAdapter(config(fake), httpx.Client(transport=raising(httpx.ConnectError)))
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert error.value.transient and not error.value.ambiguous


def test_invalid_charge_id_never_reaches_the_network(adapter: WooviAdapter, fake: FakeWoovi) -> None:
    with pytest.raises(GatewayError):
        adapter.get_charge("../webhook")
    assert not fake.requests
