"""Each gateway's documented payloads (tests/fixtures/gateways/) read by its adapter as the gateway means them.

Amounts, statuses, ids and who paid, from webhook bodies and GET answers as published; and the
shapes gateways send beside their own specification (a digit-string ``expiracao``, one Pix object
where a list is specified, a Woovi body without ``event``, PushinPay's id changing case).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from funil.payments.gateways.apipix import ApiPixAdapter
from funil.payments.gateways.base import ChargeStatus, GatewayConfig, Payer
from funil.payments.gateways.mercadopago import MercadoPagoAdapter
from funil.payments.gateways.pushinpay import PushinPayAdapter
from funil.payments.gateways.woovi import WooviAdapter

from tests.unit.payments.gateway_payloads import FIXTURES

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
TXID = "a" * 32


def fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text())


def answering(payload: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=payload)))


def apipix(http: httpx.Client | None = None) -> ApiPixAdapter:
    config = GatewayConfig(
        gateway_id="gw",
        tenant_id="t",
        kind="apipix",
        base_url="https://psp.test/v2",
        credentials={"client_id": "cid", "client_secret": "cs"},
        options={"token_url": "https://psp.test/oauth/token", "chave": "k"},
    )
    return ApiPixAdapter(config, http or answering({}), now=lambda: NOW)


def test_api_pix_concluded_cob_and_its_expiracao_as_a_digit_string() -> None:
    cob = fixture("apipix/get_cob_concluida.json")
    charge = apipix()._to_charge(cob)
    assert (charge.status, charge.amount_cents) == (ChargeStatus.PAID, 11000)
    cob["calendario"]["expiracao"] = str(cob["calendario"]["expiracao"])  # as some PSPs send it
    assert apipix()._to_charge(cob).expires_at == charge.expires_at is not None


def test_api_pix_devedor_is_the_payer_when_no_pagador_came() -> None:
    charge = apipix()._to_charge(fixture("apipix/get_cob_concluida.json"))
    assert charge.payer == Payer(name="Empresa de Serviços SA", document="12345678000195")


def test_api_pix_one_pix_object_where_a_list_is_specified_is_still_that_pix() -> None:
    single = fixture("apipix/webhook_pix_efi.json")["pix"][0] | {"txid": TXID}
    (event,) = apipix().parse_webhook({}, json.dumps({"pix": single}).encode())
    assert (event.reference, event.amount_cents, event.needs_refetch) == (TXID, 2500, True)
    assert event.payer == Payer(name="João Silva")  # Efí masks the CPF: not kept as a document


def test_api_pix_partial_devolucao_is_a_partial_refund_with_its_own_time() -> None:
    cob = fixture("apipix/get_cob_concluida.json")
    cob["pix"][0]["devolucoes"] = [
        {"id": "D1", "rtrId": "D" + "1" * 31, "valor": "10.00", "status": "DEVOLVIDO",
         "horario": {"solicitacao": "2026-11-23T10:00:00Z", "liquidacao": "2026-11-23T10:00:05Z"}},
    ]  # fmt: skip
    charge = apipix()._to_charge(cob)
    assert (charge.status, charge.refunded_cents) == (ChargeStatus.PAID, 1000)
    assert charge.refunded_at == datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)


def woovi() -> WooviAdapter:
    from local.fakes.woovi import FakeWoovi

    config = GatewayConfig(
        gateway_id="gw", tenant_id="t", kind="woovi", base_url="https://woovi.test",
        credentials={"app_id": "x"}, options={"webhook_public_key": FakeWoovi().public_key_pem},
    )  # fmt: skip
    return WooviAdapter(config, answering(fixture("woovi/get_charge_active.json")))


def test_woovi_not_same_payer_reports_who_paid_not_the_customer() -> None:
    body = fixture("woovi/webhook_charge_completed_not_same_payer.json")
    (event,) = woovi().parse_webhook({}, json.dumps(body).encode())
    assert (event.status, event.amount_cents) == (ChargeStatus.PAID, 100)
    assert event.payer is not None and (event.payer.name, event.payer.document) == ("Ana", "29094848074")


def test_woovi_body_without_event_falls_back_to_the_charges_own_status() -> None:
    body = fixture("woovi/webhook_charge_completed_not_same_payer.json")
    del body["event"]
    (event,) = woovi().parse_webhook({}, json.dumps(body).encode())
    assert (event.kind, event.status) == ("payment", ChargeStatus.PAID)


def test_woovi_get_charge_reads_the_customer() -> None:
    charge = woovi().get_charge("9134e286-6f71-427a-bf00-241681624586")
    assert charge.status is ChargeStatus.PENDING
    assert charge.payer == Payer(name="Dan", email="email0@example.com", phone="5511999999999", document="31324227036")


def test_pushinpay_id_in_either_case_is_one_charge_and_the_payer_is_read() -> None:
    answer = fixture("pushinpay/get_transaction_paid.json") | {"id": "9C29870C-9F69-4BB6-90D3-2DCE9453BB45"}
    config = GatewayConfig(gateway_id="gw", tenant_id="t", kind="pushinpay", credentials={"token": "x"})
    adapter = PushinPayAdapter(config, answering(answer))
    charge = adapter.get_charge("9c29870c-9f69-4bb6-90d3-2dce9453bb45")
    (hint,) = adapter.parse_webhook({}, (FIXTURES / "pushinpay/webhook_paid.json").read_bytes())
    assert charge.gateway_charge_id == hint.gateway_charge_id == "9c29870c-9f69-4bb6-90d3-2dce9453bb45"
    assert (charge.status, charge.amount_cents) == (ChargeStatus.PAID, 1333)
    assert charge.payer == Payer(name="Maria Aparecida Souza", document="52998224725")


def test_mercadopago_payment_payer_email_and_no_foreign_document() -> None:
    config = GatewayConfig(
        gateway_id="gw", tenant_id="t", kind="mercadopago", credentials={"access_token": "x"},
        options={"payer_email": "loja@example.com"},
    )  # fmt: skip
    charge = MercadoPagoAdapter(config, answering(fixture("mercadopago/get_payment.json"))).get_charge("1316782634")
    assert charge.payer == Payer(email="test_user_80507629@testuser.com")  # a DNI is no CPF/CNPJ


def test_mercadopago_partial_refund_keeps_the_payment_approved() -> None:
    payment = fixture("mercadopago/get_payment.json") | {
        "status": "approved",
        "transaction_amount_refunded": 1.5,
        "refunds": [{"id": 1, "amount": 1.5, "date_created": "2026-11-23T10:00:00.000-03:00"}],
    }
    config = GatewayConfig(gateway_id="gw", tenant_id="t", kind="mercadopago", credentials={"access_token": "x"})
    charge = MercadoPagoAdapter(config, answering(payment)).get_charge("1316782634")
    assert (charge.status, charge.amount_cents, charge.refunded_cents) == (ChargeStatus.PAID, 50000, 150)
    assert charge.refunded_at == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
