"""BR Codes made by OUR builder, parsed by npm pix-utils (an independent implementation, pinned in
tests/oracles/node/package-lock.json; `npm ci` there, as scripts/test.sh does when node is present).

Never a code copied from documentation: every code here comes from funil.payments.brcode.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from crccheck.crc import Crc16CcittFalse
from funil.payments import brcode

ORACLE_DIR = Path(__file__).resolve().parents[2] / "oracles" / "node"
NODE = shutil.which("node")


def pix_utils(codes: list[str]) -> list[dict[str, Any]]:
    if NODE is None:
        pytest.skip("node is not on PATH: the pix-utils oracle cannot run")
    if not (ORACLE_DIR / "node_modules" / "pix-utils").is_dir():
        pytest.skip("tests/oracles/node/node_modules is absent: run `npm ci` there (scripts/test.sh does)")
    done = subprocess.run(
        [NODE, str(ORACLE_DIR / "parse_pix.js")],
        input=json.dumps(codes),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    results: list[dict[str, Any]] = json.loads(done.stdout)
    assert len(results) == len(codes)
    return results


def _codes() -> list[brcode.BrCode]:
    rng = random.Random(20261122)
    codes = [
        # sandbox-style static codes carrying our payment id as txid
        brcode.BrCode(key="sandbox@funil.dev", amount_cents=1990, txid=uuid.uuid4().hex[:25]),
        brcode.BrCode(key="+5511987654321", amount_cents=1, txid="A1", merchant_name="Zé Ninguém"),
        brcode.BrCode(
            key="123e4567-e89b-12d3-a456-426614174000",
            amount_cents=123456789,
            txid=uuid.uuid4().hex[:25],
            merchant_name="Açaí & Cia. Ltda — São João d'El-Rei (filial nº 2)",
            merchant_city="São João del-Rei",
            description="Curso Ótimo",
        ),
        brcode.BrCode(key="12345678909", merchant_name="ÀÉÎÕÜ çñ", merchant_city="Itaú"),  # no amount, txid ***
        brcode.BrCode(key="k", amount_cents=100, merchant_name="   ", merchant_city="!!!"),  # folds to "NA"
        # dynamic codes: the payer's app fetches the charge at the PSP's location
        brcode.BrCode(url="pix.example-psp.com.br/qr/v2/cobv/" + uuid.uuid4().hex, merchant_name="Loja Virtual"),
        brcode.BrCode(url="qr.psp.example/v2/" + uuid.uuid4().hex, amount_cents=4990, merchant_city="Maceió"),
    ]
    for _ in range(20):
        codes.append(
            brcode.BrCode(
                key=uuid.uuid4().hex,
                amount_cents=rng.choice([None, rng.randrange(1, 10**9)]),
                txid=rng.choice(["***", uuid.uuid4().hex[: rng.randrange(1, 26)]]),
                merchant_name=rng.choice(["Maria Conceição", "JOSÉ", "Ōsaka ☕ shop", "x" * 40]),
            )
        )
    return codes


def test_pix_utils_parses_our_codes_like_we_do() -> None:
    built = _codes()
    payloads = [code.payload() for code in built]
    for payload in payloads:  # the independent CRC as well
        assert int(payload[-4:], 16) == Crc16CcittFalse.calc(payload[:-4].encode())
    for code, payload, theirs in zip(built, payloads, pix_utils(payloads), strict=True):
        ours = brcode.parse(payload)
        assert theirs["error"] is None, (payload, theirs)
        assert theirs["crcValid"] is True
        assert (theirs["transactionCurrency"], theirs["countryCode"], theirs["merchantCategoryCode"]) == (
            "986",
            "BR",
            "0000",
        )
        assert theirs["merchantName"] == ours.merchant_name
        assert theirs["merchantCity"] == ours.merchant_city
        assert ours.merchant_name.isascii() and 0 < len(ours.merchant_name) <= 25
        if code.url is not None:
            assert theirs["type"] == "DYNAMIC"
            assert theirs["url"] == ours.url == code.url
            assert ours.key is None and theirs["pixKey"] is None
            assert ours.txid == "***"
        else:
            assert theirs["type"] == "STATIC"
            assert theirs["pixKey"] == ours.key == code.key
            assert theirs["txid"] == ours.txid == code.txid
            assert theirs["infoAdicional"] == ours.description
            # pix-utils reports a missing amount as 0 (free amount); ours as None
            expected = code.amount_cents or 0
            assert round(theirs["transactionAmount"] * 100) == expected
            assert (ours.amount_cents or 0) == expected


def test_corrupted_crc_is_rejected_by_both() -> None:
    payload = brcode.BrCode(key="sandbox@funil.dev", amount_cents=1990, txid=uuid.uuid4().hex[:25]).payload()
    good_crc = int(payload[-4:], 16)
    bad_crc = payload[:-4] + f"{good_crc ^ 0x0001:04X}"
    tampered_body = payload.replace("19.90", "10.90")  # the CRC no longer covers the body
    assert tampered_body != payload
    for bad in (bad_crc, tampered_body):
        with pytest.raises(brcode.BrCodeError, match="CRC"):
            brcode.parse(bad)
    good, *bads = pix_utils([payload, bad_crc, tampered_body])
    assert good["error"] is None and good["crcValid"] is True
    for theirs in bads:
        assert theirs["crcValid"] is False
        assert theirs["error"] == "invalid crc"


@pytest.mark.parametrize(
    "fields",
    [
        {},  # neither key nor location
        {"key": "k", "url": "psp.example/qr/1"},  # both
        {"url": "https://psp.example/qr/1"},  # the location goes without its scheme
        {"url": "psp.example/qr/1", "txid": "abc"},  # a dynamic code's txid lives at its location
    ],
)
def test_static_xor_dynamic(fields: dict[str, str]) -> None:
    with pytest.raises(brcode.BrCodeError):
        brcode.BrCode.model_validate(fields).payload()
