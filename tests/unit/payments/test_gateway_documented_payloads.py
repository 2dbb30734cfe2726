"""Each gateway's documented payloads (tests/fixtures/gateways/) read by its adapter as the gateway means them.

Amounts, statuses, ids and who paid, from webhook bodies and GET answers as published; and the
shapes gateways send beside their own specification (a digit-string ``expiracao``, one Pix object
where a list is specified, a Woovi body without ``event``, PushinPay's id changing case). Woovi's
refund webhooks name no charge: the adapter asks Woovi which charge the given-back Pix paid.
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


def routed(answers: dict[str, tuple[int, Any]], asked: list[str]) -> httpx.Client:
    """Answers by path (any other: Woovi's 400); ``asked`` collects the paths requested."""

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        status, payload = answers.get(request.url.path, (400, {"error": "not found"}))
        return httpx.Response(status, json=payload)

    return httpx.Client(transport=httpx.MockTransport(answer))


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


def test_efi_pix_received_with_payer_data_names_who_paid() -> None:
    published = fixture("apipix/webhook_pix_pagador_efi.json")
    # Efí's example txid has 23 characters: no cob of ours (26 to 35) has it, so it is not ours.
    assert apipix().parse_webhook({}, json.dumps(published).encode()) == []
    ours = {"pix": [published["pix"][0] | {"txid": TXID}]}
    (event,) = apipix().parse_webhook({}, json.dumps(ours).encode())
    assert (event.reference, event.amount_cents, event.kind, event.needs_refetch) == (TXID, 1, "payment", True)
    assert event.occurred_at == datetime(2020, 12, 21, 13, 40, 34, tzinfo=UTC)
    assert event.payer == Payer(name="Consultoria Efi", document="09089356000118")


def test_api_pix_partial_devolucao_is_a_partial_refund_with_its_own_time() -> None:
    cob = fixture("apipix/get_cob_concluida.json")
    cob["pix"][0]["devolucoes"] = [
        {"id": "D1", "rtrId": "D" + "1" * 31, "valor": "10.00", "status": "DEVOLVIDO",
         "horario": {"solicitacao": "2026-11-23T10:00:00Z", "liquidacao": "2026-11-23T10:00:05Z"}},
    ]  # fmt: skip
    charge = apipix()._to_charge(cob)
    assert (charge.status, charge.refunded_cents) == (ChargeStatus.PAID, 1000)
    assert charge.refunded_at == datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)


def woovi(http: httpx.Client | None = None) -> WooviAdapter:
    from local.fakes.woovi import FakeWoovi

    config = GatewayConfig(
        gateway_id="gw", tenant_id="t", kind="woovi", base_url="https://woovi.test",
        credentials={"app_id": "x"}, options={"webhook_public_key": FakeWoovi().public_key_pem},
    )  # fmt: skip
    return WooviAdapter(config, http or answering(fixture("woovi/get_charge_active.json")))


REFUNDED_PIX = "/api/v1/transaction/E31680151202508141543GVL7OCT44VU"  # the documented refunds' original Pix
CHARGE_REFUNDS = "/api/v1/charge/9134e286-6f71-427a-bf00-241681624586/refund"  # of the charge that Pix paid


def test_woovi_documented_refund_finds_the_charge_through_the_pix_it_gives_back() -> None:
    transaction = fixture("woovi/get_transaction.json")  # Woovi's own GET /transaction/{id} answer
    for name in ("webhook_refund_sent_confirmed.json", "webhook_refund_received_confirmed.json"):
        asked: list[str] = []
        http = routed({REFUNDED_PIX: (200, transaction), CHARGE_REFUNDS: (200, {"refunds": []})}, asked)
        (event,) = woovi(http).parse_webhook({}, (FIXTURES / "woovi" / name).read_bytes())
        assert asked == [REFUNDED_PIX, CHARGE_REFUNDS]
        assert (event.kind, event.status, event.needs_refetch) == ("refund", ChargeStatus.REFUNDED, False)
        assert event.gateway_charge_id == event.reference == "9134e286-6f71-427a-bf00-241681624586"
        assert (event.refunded_cents, event.amount_cents) == (10001, 100)
        assert event.occurred_at == datetime(2025, 8, 14, 21, 31, 49, 755000, tzinfo=UTC)
        assert event.payer == Payer(name="Sapataria Xiq Bom", document="06888687000120")


def test_woovi_refunded_so_far_counts_the_earlier_refunds_never_this_one_twice() -> None:
    body = (FIXTURES / "woovi/webhook_refund_sent_confirmed.json").read_bytes()
    transaction = fixture("woovi/get_transaction.json")
    earlier = {"status": "CONFIRMED", "value": 5000, "endToEndId": "D" + "1" * 31}
    this_one = {"status": "CONFIRMED", "value": 10001, "endToEndId": "D548114172025081421318FbVaF2LTWr"}
    refused = {"status": "IN_PROCESSING", "value": 70000, "endToEndId": "D" + "2" * 31}
    for refunds, so_far in (
        ([earlier], 10001),  # the list lags behind this refund: at least this one
        ([earlier, this_one, refused], 15001),  # listed: the confirmed ones, this one among them
    ):
        http = routed({REFUNDED_PIX: (200, transaction), CHARGE_REFUNDS: (200, {"refunds": refunds})}, [])
        (event,) = woovi(http).parse_webhook({}, body)
        assert event.refunded_cents == so_far
    no_scope = routed({REFUNDED_PIX: (200, transaction), CHARGE_REFUNDS: (401, {"error": "scope"})}, [])
    assert [event.refunded_cents for event in woovi(no_scope).parse_webhook({}, body)] == [10001]


def test_woovi_refund_of_a_pix_that_paid_no_charge_of_ours_gives_nothing() -> None:
    body = (FIXTURES / "woovi/webhook_refund_sent_confirmed.json").read_bytes()
    unknown: list[str] = []
    assert woovi(routed({}, unknown)).parse_webhook({}, body) == []  # Woovi: no such transaction (400)
    assert unknown == [REFUNDED_PIX]
    no_charge = fixture("woovi/get_transaction.json")
    del no_charge["transaction"]["charge"]  # a static QR code's Pix, or a withdrawal
    assert woovi(routed({REFUNDED_PIX: (200, no_charge)}, [])).parse_webhook({}, body) == []
    rejected = fixture("woovi/webhook_refund_sent_confirmed.json")
    rejected["refundTransaction"]["status"] = "REJECTED"
    assert woovi(routed({}, [])).parse_webhook({}, json.dumps(rejected).encode()) == []


def test_woovi_deprecated_refund_event_names_its_charge_and_its_pix_is_the_refund() -> None:
    asked: list[str] = []
    refunds = "/api/v1/charge/5e1f0740-4a18-4030-a5a7-686d3d8ec419/refund"
    http = routed({refunds: (200, {"refunds": []})}, asked)
    body = (FIXTURES / "woovi/webhook_transaction_refund_received.json").read_bytes()
    (event,) = woovi(http).parse_webhook({}, body)
    assert asked == [refunds]  # the charge is in the body: no transaction to look up
    assert (event.kind, event.gateway_charge_id) == ("refund", "5e1f0740-4a18-4030-a5a7-686d3d8ec419")
    assert (event.refunded_cents, event.amount_cents) == (151, 151)
    assert event.occurred_at == datetime(2022, 9, 16, 14, 15, 39, 597000, tzinfo=UTC)


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


def test_mercadopago_documented_notification_is_a_hint_for_its_payment() -> None:
    config = GatewayConfig(gateway_id="gw", tenant_id="t", kind="mercadopago", credentials={"access_token": "x"})
    adapter = MercadoPagoAdapter(config, answering({}))
    raw = (FIXTURES / "mercadopago/webhook_payment_created.json").read_bytes()
    # Sent with the id in the URL (``?data.id=…&type=payment``, what is signed) and in the body.
    for query in ({"data.id": "999999999", "type": "payment"}, None):
        (event,) = adapter.parse_webhook({}, raw, query)
        assert (event.kind, event.gateway_charge_id) == ("payment", "999999999")
        assert (event.status, event.needs_refetch) == (ChargeStatus.UNKNOWN, True)
    other_topic = fixture("mercadopago/webhook_payment_created.json") | {"type": "mp-connect"}
    assert adapter.parse_webhook({}, json.dumps(other_topic).encode()) == []


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
