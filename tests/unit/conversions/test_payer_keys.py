"""The payer's keys in Purchase and Refund (the payer item ``PAYMENT#<id>`` / ``PAYER``), against Meta's SDK."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from facebook_business.adobjects.serverside.normalize import Normalize
from facebook_business.adobjects.serverside.user_data import UserData
from funil import clock
from funil.conversions.builder import BuildSettings, BuildStatus, Sources, build_event, split_name
from funil.conversions.hashing import sha256_hex
from funil.messages import EventKind

from tests.unit.conversions.factories import (
    BASE_URL,
    NOW,
    click_item,
    lead_item,
    message,
    payer_item,
    payment_item,
    pixel_item,
    tenant_item,
)

SETTINGS = BuildSettings(BASE_URL)
CONTACT_KEYS = ("em", "ph", "fn", "ln", "ct", "st", "zp", "country")


def _user_data(kind: EventKind = EventKind.PURCHASE, **sources: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {"pixel": pixel_item(), "payment": payment_item(), "lead": lead_item()}
    built = build_event(message(kind), Sources(**{**defaults, **sources}), SETTINGS, NOW)
    assert built.status is BuildStatus.READY, built.reason
    assert built.event is not None
    user_data: dict[str, Any] = built.event["user_data"]
    return user_data


def sdk_payer_keys() -> dict[str, list[str]]:
    """What Meta's SDK (``UserData.normalize``) sends for ``factories.payer_item``'s values (its CEP and
    phone written in their documented equivalents): the oracle for the Purchase's payer keys."""
    sdk = UserData(
        emails=[" Joao.Silva@Gmail.com "],
        phones=["+55 (11) 98765-4321"],
        first_names=["JOÃO"],
        last_names=["SILVA"],
        cities=["São Paulo"],
        states=["SP"],
        zip_codes=["01310100"],
        country_codes=["BR"],
    ).normalize()
    return {key: sdk[key] for key in CONTACT_KEYS}


def test_purchase_carries_every_payer_key_as_the_sdk_hashes_it() -> None:
    sent = _user_data(payer=payer_item())
    assert {key: [sent[key]] for key in CONTACT_KEYS} == sdk_payer_keys()


def test_refund_carries_the_payer_keys_too() -> None:
    payment = payment_item(status="refunded", refunded_at=clock.iso(NOW - timedelta(minutes=1)))
    sent = _user_data(EventKind.REFUND, payment=payment, payer=payer_item())
    assert set(CONTACT_KEYS) <= set(sent)


@pytest.mark.parametrize(
    ("payer", "why"),
    [
        (payer_item(expires_at=clock.to_epoch_s(NOW)), "expired (the TTL has not deleted it yet)"),
        (payer_item(expires_at=clock.to_epoch_s(NOW) - 3600), "expired an hour ago"),
        (payer_item(expires_at=None), "no expiry: not an item the payments side writes"),
        (payer_item(tenant_id="t_other"), "another tenant's"),
        (payer_item(payment_id="a" * 32), "another payment's"),
        (payer_item(type="payment"), "not a payer item"),
    ],
)
def test_a_payer_item_that_is_not_live_and_ours_is_ignored(payer: dict[str, Any], why: str) -> None:
    sent = _user_data(payer=payer)
    assert "em" not in sent, why
    assert "ph" not in sent and "ct" not in sent and "zp" not in sent
    assert sent["fn"] == Normalize.normalize_field("fn", "joão")  # Telegram's name (emoji dropped)


def test_without_a_payer_name_the_telegram_profile_names_the_buyer() -> None:
    sent = _user_data(payer=payer_item(name=None))
    assert sent["fn"] == Normalize.normalize_field("fn", "joão")
    assert sent["ln"] == Normalize.normalize_field("ln", "dávila")
    assert sent["em"] == Normalize.normalize_field("em", "joao.silva@gmail.com")


@pytest.mark.parametrize(
    ("full_name", "expected"),
    [
        ("Maria Clara Souza Santos", ("Maria", "Santos")),
        ("  ANA  ", ("ANA", None)),
        ("MARIA C", ("MARIA", None)),  # a trailing initial is no surname
        ("João D'Ávila", ("João", "D'Ávila")),
        ("Jo** S****", (None, None)),  # masked by the gateway
        ("", (None, None)),
        (None, (None, None)),
        ("... ---", (None, None)),
    ],
)
def test_split_name(full_name: object, expected: tuple[str | None, str | None]) -> None:
    assert split_name(full_name) == expected


def test_a_masked_payer_name_falls_back_to_telegram() -> None:
    sent = _user_data(payer=payer_item(name="JO** P**** S****"))
    assert sent["fn"] == Normalize.normalize_field("fn", "joão")


def test_phone_shared_in_telegram_is_used_only_when_the_payer_gave_none() -> None:
    lead = lead_item(phone="+5521987650000")  # as the bot stores a shared contact
    without = _user_data(lead=lead, payer=payer_item(phone=None))
    assert without["ph"] == Normalize.normalize_field("ph", "5521987650000")
    with_payer_phone = _user_data(lead=lead, payer=payer_item())
    assert with_payer_phone["ph"] == Normalize.normalize_field("ph", "+5511987654321")
    lead_event = _user_data(EventKind.LEAD, lead=lead)
    assert lead_event["ph"] == Normalize.normalize_field("ph", "5521987650000")


def test_country_comes_from_the_payer_then_the_tenant_then_brazil() -> None:
    assert _user_data(payer=payer_item(country="US"))["country"] == Normalize.normalize_field("country", "us")
    portugal = tenant_item(country="pt")
    assert _user_data(tenant=portugal)["country"] == Normalize.normalize_field("country", "pt")
    assert _user_data(payer=payer_item(country="Narnia"), tenant=portugal)["country"] == Normalize.normalize_field(
        "country", "pt"
    )
    foreign = tenant_item(tenant_id="t_other", country="pt")
    assert _user_data(tenant=foreign)["country"] == Normalize.normalize_field("country", "br")
    assert _user_data(tenant=None)["country"] == Normalize.normalize_field("country", "br")


def test_a_page_view_gets_no_default_country() -> None:
    built = build_event(message(EventKind.PAGE_VIEW), Sources(pixel=pixel_item(), click=click_item()), SETTINGS, NOW)
    assert built.event is not None
    assert "country" not in built.event["user_data"]


def test_a_payer_with_email_and_phone_scores_at_least_8() -> None:
    """Even an organic sale (no click: no fbc, fbp, IP, UA) whose payer gave e-mail, phone and name."""
    organic = payment_item(attribution={})
    bare_payer = payer_item(city=None, state=None, zip_code=None, country=None, document=None)
    built = build_event(
        message(EventKind.PURCHASE),
        Sources(pixel=pixel_item(), payment=organic, lead=lead_item(attribution=None), payer=bare_payer),
        SETTINGS,
        NOW,
    )
    assert built.match_quality is not None
    assert set(built.match_quality.keys) == {"em", "ph", "fn", "ln", "country", "external_id"}
    assert built.match_quality.score >= 8
    attributed = build_event(
        message(EventKind.PURCHASE),
        Sources(pixel=pixel_item(), payment=payment_item(), lead=lead_item(), payer=bare_payer),
        SETTINGS,
        NOW,
    )
    assert attributed.match_quality is not None
    assert attributed.match_quality.score == 10.0


def test_the_document_never_reaches_meta() -> None:
    """Meta has no key for a CPF: the payer's document stays home."""
    sent = _user_data(payer=payer_item())
    digests = {sha256_hex("52998224725"), "52998224725"}
    assert not digests & set(sent.values())


def test_the_default_country_alone_is_no_customer_information() -> None:
    bare = payment_item(attribution={}, telegram_user_id=None)
    built = build_event(message(EventKind.PURCHASE), Sources(pixel=pixel_item(), payment=bare), SETTINGS, NOW)
    assert (built.status, built.reason) == (BuildStatus.INVALID, "no_customer_information")
