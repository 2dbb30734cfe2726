"""funil.delivery's pure parts: the delivery spec and the message, held against the Bot API oracle."""

from __future__ import annotations

import json

import pytest
from funil.delivery.entry import delivery_message
from funil.delivery.models import DeliveryJob, DeliverySpec
from pydantic import ValidationError

from local.fakes.telegram_api import validate_call

PAYMENT = {"payment_id": "f" * 32, "offer_name": "Curso Completo", "delivery_token": "TokTokTokTokTokTok"}


def as_call(text: str, button: object) -> dict[str, object]:
    params: dict[str, object] = {"chat_id": 42, "text": text, "link_preview_options": {"is_disabled": True}}
    if button is not None:
        params["reply_markup"] = json.dumps({"inline_keyboard": [[{"text": button.text, "url": button.url}]]})  # type: ignore[attr-defined]
    return params


@pytest.mark.parametrize(
    "spec",
    [
        DeliverySpec(text="Bem-vindo ao curso! Módulo 1 liberado."),
        DeliverySpec(url="https://cursos.example/a"),
        DeliverySpec(kind="invite_link", chat_id=-1001),
        DeliverySpec(kind="join_request", chat_id=-1001, text="x" * 2500),
    ],
)
def test_every_delivery_message_is_a_valid_send_message(spec: DeliverySpec) -> None:
    access = spec.url or ("https://t.me/+AbCdEf" if spec.chat_id else None)
    text, button = delivery_message(PAYMENT, spec, access, "https://funil.example")
    assert validate_call("sendMessage", as_call(text, button)) == []
    assert "Pagamento confirmado" in text and "https://funil.example/d/TokTokTokTokTokTok" in text
    if access:
        assert access in text and button is not None and button.url == access


def test_the_longest_message_fits_telegrams_limit() -> None:
    spec = DeliverySpec(text="ç" * 2500, url="https://cursos.example/" + "a" * 480)
    payment = {**PAYMENT, "offer_name": "N" * 300, "delivery_token": "T" * 128}
    text, button = delivery_message(payment, spec, spec.url, "https://" + "d" * 200 + ".example")
    assert validate_call("sendMessage", as_call(text, button)) == []


def test_no_page_link_without_a_public_base_url_or_token() -> None:
    text, _ = delivery_message({"payment_id": "p"}, DeliverySpec(text="oi"), None, "")
    assert "/d/" not in text


@pytest.mark.parametrize(
    "raw",
    [
        {"kind": "message"},  # nothing to deliver
        {"kind": "invite_link"},  # no chat
        {"kind": "join_request", "url": "https://x"},
        {"kind": "message", "url": "http://insecure.example"},
        {"kind": "message", "text": "x", "extra": 1},
        {"kind": "message", "text": "x" * 2501},
    ],
)
def test_invalid_delivery_specs_are_rejected(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DeliverySpec.model_validate(raw)


def test_delivery_job_reads_the_payment_id_and_ignores_the_rest() -> None:
    job = DeliveryJob.model_validate({"version": 1, "payment_id": "abc", "tenant_id": "t", "kind": "x"})
    assert job.payment_id == "abc"
    with pytest.raises(ValidationError):
        DeliveryJob.model_validate({"payment_id": "../x"})
