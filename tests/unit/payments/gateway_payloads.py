"""The gateways' documented payloads (tests/fixtures/gateways/) and, per file, what must never be
stored (the personal values in it) and what must survive redaction (ids, amounts, statuses, times)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gateways"


@dataclass(frozen=True, slots=True)
class Payload:
    gateway: str  # the fixture folder: apipix | mercadopago | pushinpay | woovi
    name: str
    personal: tuple[str, ...]
    kept: tuple[str, ...]

    @property
    def path(self) -> Path:
        return FIXTURES / self.gateway / self.name

    @property
    def is_webhook(self) -> bool:
        return self.name.startswith("webhook_")

    def body(self) -> Any:
        return json.loads(self.path.read_text())

    def raw(self) -> bytes:
        return self.path.read_bytes()


PAYLOADS = (
    Payload(
        "apipix",
        "webhook_pix_efi.json",
        personal=("João Silva", "***678901", "Order #123", "+5511999999999"),
        kept=("E12345678202603191000abc123def456", "abc123def456", "25.00", "2026-03-19T10:05:00.000Z"),
    ),
    Payload(
        "apipix",
        "webhook_pix_pagador_efi.json",
        personal=("Consultoria Efi", "09089356000118", "pagando o pix"),
        kept=("E1803615022211340s08793XPJ", "fc9a43k6ff384ryP5f41719", "0.01", "2020-12-21T13:40:34.000Z"),
    ),
    Payload(
        "apipix",
        "get_cob_concluida.json",
        personal=("12345678000195", "Empresa de Serviços SA", "0123456789"),
        kept=(
            "655dfdb1a4514b8fbb58254b958913fb",
            "E1234567820200909122120200808008",
            "110.00",
            "CONCLUIDA",
            "D1234567820200909122120200808006",
            "2020-09-09T20:15:00.358Z",
        ),
    ),
    Payload(
        "apipix",
        "get_cobv_ativa.json",
        personal=("12345678909", "Francisco da Silva", "Alameda Souza, Numero 80, Bairro Braz", "Recife", "70011750"),
        kept=("7978c0c97ea847e78e8849634473c1f1", "123.45", "ATIVA", "2020-12-31"),
    ),
    Payload(
        "mercadopago",
        "webhook_payment_created.json",
        personal=(),
        kept=("999999999", "payment.created", "2015-03-25T10:04:58.396-04:00"),
    ),
    Payload(
        "mercadopago",
        "get_payment.json",
        personal=("32659430", "test_user_80507629@testuser.com", "GABS", "548392", "4623"),
        kept=("1316782634", "pending_challenge", "1316782634-001", "2024-01-26T10:01:04.655-04:00"),
    ),
    Payload(
        "pushinpay",
        "webhook_paid.json",
        personal=("Maria Aparecida Souza", "52998224725"),
        kept=("9c29870c-9f69-4bb6-90d3-2dce9453bb45", "E18236120202509261316s0123456789", "1333", "paid"),
    ),
    Payload(
        "pushinpay",
        "get_transaction_paid.json",
        personal=("Maria Aparecida Souza", "529.982.247-25"),
        kept=("9c29870c-9f69-4bb6-90d3-2dce9453bb45", "E18236120202509261316s0123456789", "1333", "paid"),
    ),
    Payload(
        "woovi",
        "webhook_charge_completed_not_same_payer.json",
        personal=(
            "Jão",
            "Ana",
            "email0@entria.com.br",
            "email1@entria.com.br",
            "119912345670",
            "119912345671",
            "29094848074",
            "payer info 0",
        ),
        kept=(
            "9134e286-6f71-427a-bf00-100000000005",
            "9134e2866f71427abf00100000000007",
            "COMPLETED",
            "OPENPIX:CHARGE_COMPLETED_NOT_SAME_CUSTOMER_PAYER",
            "2025-09-30T13:50:56.065Z",
        ),
    ),
    Payload(
        "woovi",
        "webhook_transaction_received.json",
        personal=(
            "Name Sobrenome",
            "12345678901",
            "123456789",
            "Nome Sobrenome",
            "email@email.com",
            "+5500988776655",
            "98765432100",
        ),
        kept=(
            "E18236120202509231810s56149dd987",
            "CONFIRMED",
            "2025-09-23T18:10:56.000Z",
            "200",
            "UGl4VHJhbnNhY3Rdf246NjhkMmUyYjB5OGI5ZjZkODYwNDVjMjg2",
        ),
    ),
    Payload(
        "woovi",
        "webhook_refund_received_confirmed.json",
        personal=("Sapataria Xiq Bom", "06888687000120", "47960950000121", "73519"),
        kept=(
            "D548114172025081421318FbVaF2LTWr",
            "E31680151202508141543GVL7OCT44VU",
            "10001",
            "PIX_TRANSACTION_REFUND_RECEIVED_CONFIRMED",
            "2025-08-14T21:31:49.755Z",
        ),
    ),
    Payload(
        "woovi",
        "get_charge_active.json",
        personal=("Dan", "email0@example.com", "5511999999999", "31324227036"),
        kept=("9134e286-6f71-427a-bf00-241681624586", "ACTIVE", "2021-03-02T17:28:51.882Z"),
    ),
    Payload(
        "woovi",
        "webhook_refund_sent_confirmed.json",
        personal=("Sapataria Xiq Bom", "06888687000120", "47960950000121", "73519"),
        kept=(
            "D548114172025081421318FbVaF2LTWr",
            "E31680151202508141543GVL7OCT44VU",
            "10001",
            "PIX_TRANSACTION_REFUND_SENT_CONFIRMED",
            "2025-08-14T21:31:49.755Z",
        ),
    ),
    Payload(
        "woovi",
        "webhook_transaction_refund_received.json",
        personal=("CASAS AMERICANAS", "05460236000124"),
        kept=(
            "5e1f0740-4a18-4030-a5a7-686d3d8ec419",
            "D23114447202209161415HPf0GiKMeR4",
            "151",
            "OPENPIX:TRANSACTION_REFUND_RECEIVED",
            "2022-09-16T14:15:39.597Z",
        ),
    ),
    Payload(
        "woovi",
        "get_transaction.json",
        personal=("Dan", "email0@example.com", "5511999999999", "31324227036", "payer info 0", "28613271892"),
        kept=(
            "9134e286-6f71-427a-bf00-241681624586",
            "E18236120202012032010s0133872GZA",
            "PAYMENT",
            "2021-03-03T12:33:00.536Z",
        ),
    ),
)
