"""API Pix adapter against the fake PSP; every request it sends is held against the BCB OpenAPI oracle."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from funil.payments.gateways import apipix, build_adapter
from funil.payments.gateways.apipix import ApiPixAdapter, build_ssl_context
from funil.payments.gateways.base import ChargeStatus, GatewayConfig, GatewayError, WebhookAuth, WebhookRejected

from local.fakes.apipix import FakeApiPix
from tests.unit.payments.bacen_oracle import OracleViolation, validate_request
from tests.unit.payments.gateway_helpers import Clock, charge_request, raising

BASE = "https://pix.psp.test"
CLIENT_SECRET = "client-secret-never-logged-42"


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    apipix._TOKENS.clear()
    yield
    apipix._TOKENS.clear()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeApiPix]:
    fake = FakeApiPix(client_id="cid", client_secret=CLIENT_SECRET, now=clock)
    yield fake
    # Every API call the adapter made in the test must be a valid API Pix 2.9.0 request.
    for request in fake.requests:
        if request.url.path != fake.oauth_path:
            validate_request(request, base_path=fake.base_path, extra_query=frozenset({"gw-dev-app-key"}))


def config(fake: FakeApiPix, **options: object) -> GatewayConfig:
    return GatewayConfig(
        gateway_id="gw_pix",
        tenant_id="t1",
        kind="apipix",
        base_url=BASE + fake.base_path,
        credentials={"client_id": "cid", "client_secret": CLIENT_SECRET},
        options={"token_url": BASE + fake.oauth_path, "chave": fake.chave, **options},
    )


def make(fake: FakeApiPix, clock: Clock, **options: object) -> ApiPixAdapter:
    return ApiPixAdapter(config(fake, **options), httpx.Client(transport=httpx.MockTransport(fake.handle)), now=clock)


@pytest.fixture
def adapter(fake: FakeApiPix, clock: Clock) -> ApiPixAdapter:
    return make(fake, clock)


def api_requests(fake: FakeApiPix) -> list[httpx.Request]:
    return [r for r in fake.requests if r.url.path != fake.oauth_path]


def test_registry_and_capabilities(fake: FakeApiPix) -> None:
    built = build_adapter(config(fake), httpx.Client(transport=httpx.MockTransport(fake.handle)))
    assert isinstance(built, ApiPixAdapter)
    caps = built.capabilities
    assert caps.webhook_auth is WebhookAuth.MTLS and caps.we_choose_id and caps.can_cancel and caps.can_list


def test_create_puts_cob_with_our_id_as_txid(adapter: ApiPixAdapter, fake: FakeApiPix, clock: Clock) -> None:
    request = charge_request(1990)
    charge = adapter.create_charge(request)
    [sent] = api_requests(fake)
    assert sent.method == "PUT" and sent.url.path == f"/v2/cob/{request.payment_id}"
    assert validate_request(sent, base_path="/v2") == "/cob/{txid}"
    assert json.loads(sent.content) == {
        "calendario": {"expiracao": 1800},
        "valor": {"original": "19.90"},
        "chave": fake.chave,
        "solicitacaoPagador": "Curso Funil",
    }
    assert charge.gateway_charge_id == charge.reference == request.payment_id
    assert charge.status is ChargeStatus.PENDING and charge.amount_cents == 1990
    assert charge.brcode and charge.brcode.startswith("000201")
    assert charge.expires_at == clock.moment + timedelta(seconds=1800)


@pytest.mark.parametrize(("cents", "valor"), [(1, "0.01"), (10, "0.10"), (1001, "10.01"), (123456789, "1234567.89")])
def test_amount_formatting(adapter: ApiPixAdapter, fake: FakeApiPix, cents: int, valor: str) -> None:
    charge = adapter.create_charge(charge_request(cents))
    assert json.loads(api_requests(fake)[-1].content)["valor"]["original"] == valor
    assert charge.amount_cents == cents


def test_token_is_fetched_once_and_reused(adapter: ApiPixAdapter, fake: FakeApiPix) -> None:
    charge = adapter.create_charge(charge_request())
    adapter.get_charge(charge.gateway_charge_id)
    adapter.get_charge(charge.gateway_charge_id)
    assert fake.token_requests == 1
    token_request = next(r for r in fake.requests if r.url.path == fake.oauth_path)
    assert token_request.headers["authorization"].startswith("Basic ")
    assert fake.token_forms[0] == {"grant_type": "client_credentials", "scope": apipix.DEFAULT_SCOPES}


def test_revoked_token_is_renewed_once(adapter: ApiPixAdapter, fake: FakeApiPix) -> None:
    charge = adapter.create_charge(charge_request())
    fake.tokens.clear()  # the PSP revoked it
    assert adapter.get_charge(charge.gateway_charge_id).status is ChargeStatus.PENDING
    assert fake.token_requests == 2


@pytest.mark.parametrize(("auth", "fmt"), [("body", "form"), ("basic", "json"), ("body", "json")])
def test_token_variants(fake: FakeApiPix, clock: Clock, auth: str, fmt: str) -> None:
    adapter = make(fake, clock, token_auth=auth, token_format=fmt, scopes="cob.write cob.read")
    adapter.create_charge(charge_request())
    token_request = next(r for r in fake.requests if r.url.path == fake.oauth_path)
    assert ("authorization" in token_request.headers) == (auth == "basic")
    assert ("json" in token_request.headers["content-type"]) == (fmt == "json")
    assert fake.token_forms[0]["scope"] == "cob.write cob.read"


def test_token_refused_is_permanent_and_quiet(fake: FakeApiPix, clock: Clock) -> None:
    cfg = config(fake)
    cfg.credentials["client_secret"] = "wrong-secret-value"
    adapter = ApiPixAdapter(cfg, httpx.Client(transport=httpx.MockTransport(fake.handle)), now=clock)
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert "token" in str(error.value) and "401" in str(error.value)
    assert not error.value.transient and not error.value.ambiguous
    assert "wrong-secret-value" not in str(error.value) and "wrong-secret-value" not in repr(cfg)


def test_banco_do_brasil_app_key_and_santander_header(fake: FakeApiPix, clock: Clock) -> None:
    fake.app_key_param, fake.app_key = "gw-dev-app-key", "bb-app-key"
    cfg = config(fake, app_key_param="gw-dev-app-key", client_id_header="X-Application-Key")
    cfg.credentials["app_key"] = "bb-app-key"
    adapter = ApiPixAdapter(cfg, httpx.Client(transport=httpx.MockTransport(fake.handle)), now=clock)
    charge = adapter.create_charge(charge_request())
    adapter.get_charge(charge.gateway_charge_id)
    for sent in api_requests(fake):
        assert sent.url.params["gw-dev-app-key"] == "bb-app-key"
        assert sent.headers["x-application-key"] == "cid"
    token_request = next(r for r in fake.requests if r.url.path == fake.oauth_path)
    assert "gw-dev-app-key" not in token_request.url.params


def test_get_statuses(adapter: ApiPixAdapter, fake: FakeApiPix, clock: Clock) -> None:
    paid = adapter.create_charge(charge_request(2500))
    fake.pay(paid.gateway_charge_id)
    got = adapter.get_charge(paid.gateway_charge_id)
    assert got.status is ChargeStatus.PAID and got.amount_cents == 2500 and got.paid_at == clock.moment
    fake.refund(paid.gateway_charge_id)
    assert adapter.get_charge(paid.gateway_charge_id).status is ChargeStatus.REFUNDED

    removed = adapter.create_charge(charge_request())
    fake.expire(removed.gateway_charge_id)
    assert adapter.get_charge(removed.gateway_charge_id).status is ChargeStatus.EXPIRED


def test_active_past_its_expiry_is_expired(adapter: ApiPixAdapter, fake: FakeApiPix, clock: Clock) -> None:
    charge = adapter.create_charge(charge_request())
    fake.psp_moves_expired = False  # a PSP slow to move it
    clock.advance(1799)
    assert adapter.get_charge(charge.gateway_charge_id).status is ChargeStatus.PENDING
    clock.advance(1)
    assert adapter.get_charge(charge.gateway_charge_id).status is ChargeStatus.EXPIRED


def test_paid_amount_is_what_was_received(adapter: ApiPixAdapter, fake: FakeApiPix) -> None:
    charge = adapter.create_charge(charge_request(2500))
    fake.pay(charge.gateway_charge_id, valor="25.01")
    assert adapter.get_charge(charge.gateway_charge_id).amount_cents == 2501


@pytest.mark.parametrize("txid", ["short", "a" * 36, "abc-" + "a" * 30, "a" * 25, "ç" * 30, "../" + "a" * 30])
def test_txid_is_anchored(adapter: ApiPixAdapter, fake: FakeApiPix, txid: str) -> None:
    with pytest.raises(GatewayError, match="txid"):
        adapter.get_charge(txid)
    with pytest.raises(GatewayError, match="txid"):
        adapter.cancel_charge(txid)
    assert not fake.requests


def test_the_oracle_catches_what_the_spec_pattern_misses() -> None:
    bad = httpx.Request("GET", f"{BASE}/v2/cob/x-{'a' * 30}", headers={"authorization": "Bearer t"})
    with pytest.raises(OracleViolation, match="does not match"):
        validate_request(bad, base_path="/v2")
    body = {"calendario": {"expiracao": 60}, "valor": {"original": "19.9"}, "chave": "k"}
    bad_body = httpx.Request("PUT", f"{BASE}/v2/cob/{'a' * 32}", headers={"authorization": "Bearer t"}, json=body)
    with pytest.raises(OracleViolation, match="original"):
        validate_request(bad_body, base_path="/v2")


def test_cancel_patches_status(adapter: ApiPixAdapter, fake: FakeApiPix) -> None:
    charge = adapter.create_charge(charge_request())
    adapter.cancel_charge(charge.gateway_charge_id)
    patch = api_requests(fake)[-1]
    assert patch.method == "PATCH" and json.loads(patch.content) == {"status": "REMOVIDA_PELO_USUARIO_RECEBEDOR"}
    assert adapter.get_charge(charge.gateway_charge_id).status is ChargeStatus.CANCELED


def test_cancel_after_payment_is_not_an_error(adapter: ApiPixAdapter, fake: FakeApiPix) -> None:
    charge = adapter.create_charge(charge_request())
    fake.pay(charge.gateway_charge_id)
    adapter.cancel_charge(charge.gateway_charge_id)
    assert adapter.get_charge(charge.gateway_charge_id).status is ChargeStatus.PAID


def test_list_received_pix_across_pages(adapter: ApiPixAdapter, fake: FakeApiPix, clock: Clock) -> None:
    charges = [adapter.create_charge(charge_request(100 + i)) for i in range(103)]
    for charge in charges[:101]:
        fake.pay(charge.gateway_charge_id)
    fake.refund(charges[0].gateway_charge_id)
    listed = adapter.list_charges(clock.moment - timedelta(hours=1), clock.moment + timedelta(hours=1))
    assert len(listed) == 101
    by_id = {c.gateway_charge_id: c for c in listed}
    assert by_id[charges[0].gateway_charge_id].status is ChargeStatus.REFUNDED
    assert by_id[charges[5].gateway_charge_id].status is ChargeStatus.PAID
    assert by_id[charges[5].gateway_charge_id].amount_cents == 105
    pages = [r for r in api_requests(fake) if r.url.path == "/v2/pix"]
    assert [r.url.params["paginacao.paginaAtual"] for r in pages] == ["0", "1"]


def test_register_webhook(adapter: ApiPixAdapter, fake: FakeApiPix, clock: Clock) -> None:
    adapter.register_webhook("https://api.funil.test/pay/gw_pix/secret0123456789abcdef0123456789ab")
    assert fake.webhooks[fake.chave] == "https://api.funil.test/pay/gw_pix/secret0123456789abcdef0123456789ab"
    efi = make(fake, clock, webhook_url_suffix="?ignorar=")
    efi.register_webhook("https://api.funil.test/pay/gw_pix/s")
    assert fake.webhooks[fake.chave] == "https://api.funil.test/pay/gw_pix/s?ignorar="


# -- mTLS --------------------------------------------------------------------------------------


def _self_signed() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "funil-test-client")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def _leftover_mtls_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("funil-mtls-*")}


def test_mtls_client_certificate_is_loaded_and_files_removed(fake: FakeApiPix, clock: Clock) -> None:
    cert_pem, key_pem = _self_signed()
    before = _leftover_mtls_dirs()
    cfg = config(fake)
    cfg.credentials.update(certificate=cert_pem, private_key=key_pem)
    adapter = ApiPixAdapter(cfg, httpx.Client(), now=clock, transport=httpx.MockTransport(fake.handle))
    assert adapter.create_charge(charge_request()).status is ChargeStatus.PENDING
    assert _leftover_mtls_dirs() == before
    context = build_ssl_context(cert_pem, key_pem)
    assert context.verify_mode.name == "CERT_REQUIRED"  # the PSP's server certificate is still checked


def test_mtls_bad_pem_is_a_quiet_configuration_error(fake: FakeApiPix) -> None:
    cert_pem, _ = _self_signed()
    _, other_key = _self_signed()
    before = _leftover_mtls_dirs()
    for certificate, key in [("garbage", "garbage"), (cert_pem, other_key)]:
        cfg = config(fake)
        cfg.credentials.update(certificate=certificate, private_key=key)
        with pytest.raises(GatewayError) as error:
            ApiPixAdapter(cfg, httpx.Client(), transport=httpx.MockTransport(fake.handle))
        assert "PRIVATE KEY" not in str(error.value) and not error.value.transient
    assert _leftover_mtls_dirs() == before
    assert os.name != "posix" or not any(
        p.stat().st_mode & 0o077 for p in Path(tempfile.gettempdir()).glob("funil-mtls-*")
    )


# -- webhooks ----------------------------------------------------------------------------------


def test_webhook_batch_is_parsed_as_hints(adapter: ApiPixAdapter, fake: FakeApiPix) -> None:
    first, second = adapter.create_charge(charge_request(1000)), adapter.create_charge(charge_request(2000))
    fake.pay(first.gateway_charge_id)
    fake.pay(second.gateway_charge_id)
    fake.refund(second.gateway_charge_id)
    body = fake.webhook_body(first.gateway_charge_id, second.gateway_charge_id)
    adapter.verify_webhook({}, body)  # mTLS happened at the PSP's side
    events = adapter.parse_webhook({}, body)
    assert [(e.reference, e.kind, e.status, e.amount_cents, e.needs_refetch) for e in events] == [
        (first.gateway_charge_id, "payment", ChargeStatus.PAID, 1000, True),
        (second.gateway_charge_id, "refund", ChargeStatus.REFUNDED, 2000, True),
    ]


def test_webhook_skips_pix_without_our_txid(adapter: ApiPixAdapter) -> None:
    body = {
        "pix": [
            {"endToEndId": "E" + "1" * 31, "valor": "10.00", "horario": "2026-11-22T20:00:00Z"},
            {"endToEndId": "E" + "2" * 31, "txid": "short", "valor": "10.00", "horario": "2026-11-22T20:00:00Z"},
        ]
    }
    assert adapter.parse_webhook({}, json.dumps(body).encode()) == []


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"pix": "x"}', b'{"pix": 3}', b"[]"])
def test_webhook_garbage_is_rejected(adapter: ApiPixAdapter, body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook({}, body)


# -- errors ------------------------------------------------------------------------------------


def test_4xx_problem_is_permanent(adapter: ApiPixAdapter, fake: FakeApiPix) -> None:
    with pytest.raises(GatewayError) as error:
        adapter.get_charge("a" * 32)
    assert "404" in str(error.value) and "não encontrad" in str(error.value)
    assert not error.value.transient and CLIENT_SECRET not in str(error.value)


def test_wrong_chave_is_a_400(fake: FakeApiPix, clock: Clock) -> None:
    adapter = make(fake, clock, chave="outra-chave@example.test")
    with pytest.raises(GatewayError, match="400") as error:
        adapter.create_charge(charge_request())
    assert not error.value.transient


def test_5xx_and_timeouts(adapter: ApiPixAdapter, fake: FakeApiPix) -> None:
    fake.fail(503, path="/cob/")
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert error.value.transient and error.value.ambiguous
    fake.time_out(path="/cob/", method="PUT")
    request = charge_request()
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(request)
    assert error.value.transient and error.value.ambiguous
    # Same txid again: the PSP answers the same charge (PUT is idempotent by txid).
    assert adapter.create_charge(request).gateway_charge_id == request.payment_id
    fake.time_out(path="/cob/", method="GET")
    with pytest.raises(GatewayError) as error:
        adapter.get_charge(request.payment_id)
    assert error.value.transient and not error.value.ambiguous


def test_token_timeout_during_create_is_not_ambiguous(adapter: ApiPixAdapter, fake: FakeApiPix) -> None:
    fake.time_out(path=fake.oauth_path)
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert error.value.transient and not error.value.ambiguous
    assert not fake.cobs


def test_connect_error_not_ambiguous(fake: FakeApiPix, clock: Clock) -> None:
    adapter = ApiPixAdapter(config(fake), httpx.Client(transport=raising(httpx.ConnectError)), now=clock)
    with pytest.raises(GatewayError) as error:
        adapter.create_charge(charge_request())
    assert error.value.transient and not error.value.ambiguous


def test_missing_configuration(fake: FakeApiPix) -> None:
    for drop in ("token_url", "chave"):
        cfg = config(fake)
        cfg.options.pop(drop)
        with pytest.raises(GatewayError, match="needs"):
            ApiPixAdapter(cfg, httpx.Client())
    cfg = config(fake)
    cfg.base_url = ""
    with pytest.raises(GatewayError, match="base_url"):
        ApiPixAdapter(cfg, httpx.Client())


def test_retry_where_the_psp_refuses_a_second_put_returns_the_first_charge(
    adapter: ApiPixAdapter, fake: FakeApiPix
) -> None:
    fake.repeat_put_answers_same = False
    request = charge_request(1500)
    first = adapter.create_charge(request)
    assert adapter.create_charge(request).brcode == first.brcode
    with pytest.raises(GatewayError, match="400"):  # same txid, another amount: not ours as asked
        adapter.create_charge(charge_request(1600, payment_id=request.payment_id))
    fake.pay(request.payment_id)
    with pytest.raises(GatewayError, match="400"):  # already paid: never hand out its code again
        adapter.create_charge(request)
