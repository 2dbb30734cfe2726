"""funil.untrusted: the one reader of JSON from outside raises only UntrustedInput."""

from __future__ import annotations

import contextlib
import os
from decimal import Decimal

import pytest
from funil.untrusted import UntrustedInput, load_json, load_object
from hypothesis import given, settings
from hypothesis import strategies as st

EXAMPLES = 10_000 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 300


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
        b"[" * 33 + b"]" * 33,
        b"9" * 5000,
        b"NaN",
        b'{"x": -Infinity}',
        b"\xff\xfe",
        b"",
        b"not json",
        b"{" * 300_000,
    ],
)
def test_refused(body: bytes) -> None:
    with pytest.raises(UntrustedInput):
        load_json(body)


def test_read() -> None:
    assert load_json(b'{"a": [1, "]", "\\"["], "b": 19.9}', decimals=True) == {
        "a": [1, "]", '"['],
        "b": Decimal("19.9"),
    }
    assert load_json(b"[" * 32 + b"]" * 32) is not None  # 32 levels: the limit
    assert load_json(b"", empty={}) == {}
    with pytest.raises(UntrustedInput):
        load_object(b"[]")


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.binary(max_size=400) | st.text(alphabet='[]{}":,0123456789.eE-+ntrufals\\ ', max_size=400).map(str.encode))
def test_only_untrusted_input_escapes(body: bytes) -> None:
    with contextlib.suppress(UntrustedInput):  # anything else (RecursionError, TypeError…) fails the test
        load_json(body, decimals=True)


# -- what the gateway adapters read from a webhook ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "in_reais", "cents"),
    [
        (Decimal("19.90"), True, 1990),
        ("1990", False, 1990),
        (Decimal("1E+3"), False, 1000),
        (Decimal("0E+999999999"), False, 0),
    ],
)
def test_to_cents_exact(value: object, in_reais: bool, cents: int) -> None:
    from funil.payments.gateways.base import to_cents

    assert to_cents(value, "g", in_reais=in_reais) == cents


@pytest.mark.parametrize(
    ("value", "in_reais"),
    [
        (Decimal("1.000000000000000000000000000001"), True),  # a fraction of a cent past 28 digits
        (Decimal("12345678901234567890123456.789"), True),
        (Decimal("1E+999999999"), False),
        (Decimal("19.905"), True),
        (True, False),
        ("NaN", False),
        ([], False),
    ],
)
def test_to_cents_refused(value: object, in_reais: bool) -> None:
    from funil.payments.gateways.base import GatewayError, to_cents

    with pytest.raises(GatewayError):
        to_cents(value, "g", in_reais=in_reais)


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00", "2026-02-30", "x" * 5000, 5]
)
def test_unreadable_time_is_none(value: object) -> None:
    from funil.payments.gateways.base import parse_time

    assert parse_time(value) is None
