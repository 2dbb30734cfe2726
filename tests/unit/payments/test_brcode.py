"""BR Code: our CRC against crccheck's independent CRC-16/CCITT-FALSE, round trips, tampering, QR."""

from __future__ import annotations

import random
import uuid

import pytest
from crccheck.crc import Crc16CcittFalse
from funil.payments import brcode


def test_crc_matches_independent_implementation() -> None:
    rng = random.Random(7)
    assert brcode.crc16_ccitt_false(b"123456789") == Crc16CcittFalse.calc(b"123456789")
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
        assert brcode.crc16_ccitt_false(data) == Crc16CcittFalse.calc(data)


def test_built_code_carries_reference_and_valid_crc() -> None:
    payment_id = uuid.uuid4().hex[:25]
    payload = brcode.BrCode(
        key="sandbox@funil.dev", amount_cents=1990, txid=payment_id, merchant_name="Loja São João"
    ).payload()
    assert payload.startswith("000201")
    assert int(payload[-4:], 16) == Crc16CcittFalse.calc(payload[:-4].encode())
    parsed = brcode.parse(payload)
    assert (parsed.txid, parsed.amount_cents, parsed.currency, parsed.key) == (
        payment_id,
        1990,
        "986",
        "sandbox@funil.dev",
    )
    assert parsed.merchant_name == "Loja Sao Joao"


@pytest.mark.parametrize("cents", [1, 50, 100, 1990, 123456789])
def test_amounts_round_trip(cents: int) -> None:
    assert brcode.parse(brcode.BrCode(key="k", amount_cents=cents).payload()).amount_cents == cents


def test_tampered_code_is_rejected() -> None:
    payload = brcode.BrCode(key="k", amount_cents=1990, txid="abc").payload()
    tampered = payload.replace("19.90", "10.90")
    with pytest.raises(brcode.BrCodeError, match="CRC"):
        brcode.parse(tampered)
    with pytest.raises(brcode.BrCodeError):
        brcode.parse(payload[:-10])


def test_bad_txid_refused() -> None:
    with pytest.raises(brcode.BrCodeError):
        brcode.BrCode(key="k", txid="has-dash").payload()


def test_qr_png() -> None:
    png = brcode.qr_png(brcode.BrCode(key="k", amount_cents=100).payload())
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
