"""Redaction of stored webhooks on the gateways' own documented payloads, and on value shapes."""

from __future__ import annotations

import json

import pytest
from funil.payments.redaction import REDACTED, redact

from tests.unit.payments.gateway_payloads import PAYLOADS, Payload


def test_every_fixture_folder_file_is_catalogued() -> None:
    from tests.unit.payments.gateway_payloads import FIXTURES

    on_disk = {f"{path.parent.name}/{path.name}" for path in FIXTURES.glob("*/*.json")}
    assert on_disk == {f"{payload.gateway}/{payload.name}" for payload in PAYLOADS}


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda payload: f"{payload.gateway}/{payload.name}")
def test_a_documented_payload_loses_its_person_and_keeps_its_money_trail(payload: Payload) -> None:
    original = json.dumps(payload.body(), ensure_ascii=False)
    for value in (*payload.personal, *payload.kept):
        assert value in original, f"{value!r} is not in the fixture: the list is stale"
    stored = json.dumps(redact(payload.body()), ensure_ascii=False)
    leaked = [value for value in payload.personal if value in stored]
    assert leaked == []
    assert [value for value in payload.kept if value not in stored] == []


@pytest.mark.parametrize(
    "value",
    [
        "ana@example.com",
        "contato: ana.souza+pix@mail.example.com.br",
        "529.982.247-25",
        "11.222.333/0001-81",
        "52998224725",  # a valid CPF without punctuation
        "11222333000181",  # a valid CNPJ without punctuation
        "+55 11 91234-5678",
        "(11) 91234-5678",
        "+5511912345678",
    ],
)
def test_a_personal_value_under_an_unforeseen_key_is_redacted(value: str) -> None:
    assert redact({"observacao": value, "list": [value]}) == {"observacao": REDACTED, "list": [REDACTED]}


@pytest.mark.parametrize(
    "field",
    [
        {"id": "52998224725"},  # an 11-digit id that happens to be a valid CPF
        {"payment_id": 52998224725},
        {"endToEndId": "E18236120202509261316s0123456789"},
        {"txid": "655dfdb1a4514b8fbb58254b958913fb"},
        {"correlationID": "9134e286-6f71-427a-bf00-100000000005"},
        {"value": 5000, "status": "COMPLETED", "paidAt": "2023-11-28T11:30:39.933Z"},
        {"valor": "110.00", "horario": "2020-09-09T20:15:00.358Z"},
        {"transaction_amount": 19.9, "status_detail": "accredited", "accepted": True},
        {"number": "12345678901"},  # bare digits whose check digits fail: no document
    ],
)
def test_ids_amounts_statuses_and_times_are_kept(field: dict[str, object]) -> None:
    assert redact(field) == field


@pytest.mark.parametrize(
    "key", ["cpf", "CNPJ", "taxID", "payer_national_registration", "document", "documentNumber", "nome", "payerName",
            "email", "e-mail", "phone", "telefone", "logradouro", "cep", "zip_code", "birth_date", "infoPagador"],
)  # fmt: skip
def test_personal_keys_are_redacted_whatever_the_value(key: str) -> None:
    assert redact({key: "x1"}) == {key: REDACTED}
    assert redact({key: {"nested": 1}}) == {key: REDACTED}


def test_inside_a_person_every_value_goes_but_its_type() -> None:
    body = {"payer": {"identification": {"type": "CPF", "number": "19119119100"}, "entity_type": "individual",
                      "id": "1655897964", "tags": ["vip"]}}  # fmt: skip
    assert redact(body) == {
        "payer": {"identification": REDACTED, "entity_type": "individual", "id": REDACTED, "tags": [REDACTED]}
    }


def test_secrets_in_headers_and_a_missing_value_stay_visible_as_missing() -> None:
    headers = {"authorization": "Bearer abc", "x-api-key": "k", "x-signature": "ts=1,v1=ab", "user-agent": "MP"}
    assert redact(headers) == {
        "authorization": REDACTED,
        "x-api-key": REDACTED,
        "x-signature": "ts=1,v1=ab",
        "user-agent": REDACTED,
    }
    assert redact({"payer_name": None}) == {"payer_name": None}
