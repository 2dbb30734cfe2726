"""Answers from outside that are not what we expect are classified, never raised as a crash.

``str.isdigit()`` admits digits ``int()`` refuses ("²"), and ``json.loads`` raises RecursionError on
deep nesting: the Graph API's answer, a BR Code and the environment are read without either trap.
"""

from __future__ import annotations

import pytest
from funil.adapters.meta_graph import parse_response
from funil.payments import brcode


@pytest.mark.parametrize(
    "body",
    [b"[" * 5000 + b"]" * 5000, b'{"error": {"code": "\xc2\xb2", "error_subcode": "\xd9\xa1"}}', b"\xff\xfe", b""],
)
def test_an_unreadable_graph_answer_is_classified_by_its_status(body: bytes) -> None:
    result = parse_response(500, body)
    assert result.status_code == 500
    assert result.error is None or (result.error.code, result.error.subcode) == (None, None)


def test_a_graph_error_code_in_ascii_digits_is_still_read() -> None:
    result = parse_response(400, b'{"error": {"code": "190", "error_subcode": 463, "message": "expired"}}')
    assert result.error is not None and (result.error.code, result.error.subcode) == (190, 463)


@pytest.mark.parametrize("code", ["00²2ab", "²002ab"])
def test_a_br_code_with_non_ascii_digits_in_a_header_is_a_br_code_error(code: str) -> None:
    with pytest.raises(brcode.BrCodeError):
        brcode.parse_tlv(code)


def test_a_non_ascii_number_in_the_environment_falls_back_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from funil.config import settings

    monkeypatch.setenv("LINK_CACHE_SECONDS", "²")
    assert settings().link_cache_seconds == 30.0
