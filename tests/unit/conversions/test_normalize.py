"""Normalisation and hashing held against Meta's SDK (docs/architecture.md §3, §7).

Each case: (field, input, our normalised value, what the SDK must be given to agree). ``SAME``
means the SDK gets the raw input and must produce exactly our hash; any other value names the
SDK-side equivalent of a documented deliberate difference (docs/conversions.md), and the test
also checks the SDK really differs on the raw input, so the list of differences stays honest.
"""

from __future__ import annotations

from datetime import date

import pytest
from facebook_business.adobjects.serverside.normalize import Normalize
from funil.conversions import normalize
from funil.conversions.hashing import sha256_hex

SAME = object()

CORPUS: list[tuple[str, str, str | None, object]] = [
    # e-mails: case and surrounding spaces
    ("em", "Joao.Silva@Gmail.com", "joao.silva@gmail.com", SAME),
    ("em", "  MARIA@uol.com.br  ", "maria@uol.com.br", SAME),
    ("em", "\tana_paula+vip@hotmail.com\n", "ana_paula+vip@hotmail.com", SAME),
    ("em", "Ção@Exemplo.com.br", "ção@exemplo.com.br", SAME),
    ("em", "CONTATO@LOJA.COM", "contato@loja.com", SAME),
    # phones already international (SDK agrees)
    ("ph", "+55 (11) 98765-4321", "5511987654321", SAME),
    ("ph", "+55 11 98765 4321", "5511987654321", SAME),
    ("ph", "5511987654321", "5511987654321", SAME),
    ("ph", "+5521987654321", "5521987654321", SAME),
    ("ph", "0055 11 98765-4321", "5511987654321", SAME),
    ("ph", "+55 (21) 2555-1234", "552125551234", SAME),
    ("ph", "+351 912 345 678", "351912345678", SAME),
    ("ph", "+1 (650) 555-1234", "16505551234", SAME),
    # Brazilian national numbers: we add 55 (deliberate), SDK equivalent is the +55 form
    ("ph", "(11) 98765-4321", "5511987654321", "+55 11 98765-4321"),
    ("ph", "11987654321", "5511987654321", "+5511987654321"),
    ("ph", "11 98765-4321", "5511987654321", "+5511987654321"),
    ("ph", "(21) 2555-1234", "552125551234", "+552125551234"),
    ("ph", "55 99123-4567", "5555991234567", "+5555991234567"),  # DDD 55 (Santa Maria, RS)
    # trunk 0 and carrier selection code
    ("ph", "011 98765-4321", "5511987654321", "+5511987654321"),
    ("ph", "0 15 11 98765-4321", "5511987654321", "+5511987654321"),
    # ninth digit added to pre-2016 mobiles
    ("ph", "(11) 8765-4321", "5511987654321", "+5511987654321"),
    ("ph", "+55 11 8765-4321", "5511987654321", "+5511987654321"),
    # dots as separators
    ("ph", "11.98765.4321", "5511987654321", "+5511987654321"),
    ("ph", "+55.11.98765.4321", "5511987654321", "+5511987654321"),
    # names: accents kept; punctuation and emoji removed (deliberate)
    ("fn", "João", "joão", SAME),
    ("fn", "  MARIA  ", "maria", SAME),
    ("fn", "Maria Clara", "maria clara", SAME),
    ("ln", "Conceição", "conceição", SAME),
    ("ln", "Gonçalves", "gonçalves", SAME),
    ("fn", "Zoë", "zoë", SAME),
    ("ln", "D'Ávila", "dávila", "Dávila"),
    ("ln", "Silva-Santos", "silvasantos", "silvasantos"),
    ("fn", "Ana.", "ana", "ana"),
    ("fn", "🔥 Júlia 🔥", "júlia", "júlia"),
    ("fn", "Jo\u0303ao", "jõao", "jõao"),  # decomposed (NFD) text becomes NFC
    # cities: SDK agrees on spaces, digits, dots and dashes
    ("ct", "São Paulo", "sãopaulo", SAME),
    ("ct", "RIO DE JANEIRO", "riodejaneiro", SAME),
    ("ct", "Belo Horizonte", "belohorizonte", SAME),
    ("ct", "Florianópolis", "florianópolis", SAME),
    ("ct", "Embu-Guaçu", "embuguaçu", SAME),
    ("ct", "Santa Bárbara d'Oeste", "santabárbaradoeste", "santabárbaradoeste"),
    # states: UF codes (deliberate for names)
    ("st", "SP", "sp", SAME),
    ("st", " rj ", "rj", SAME),
    ("st", "São Paulo", "sp", "sp"),
    ("st", "Minas Gerais", "mg", "mg"),
    ("st", "Rio Grande do Sul", "rs", "rs"),
    ("st", "Ceará", "ce", "ce"),
    # zip: CEP with and without dash keeps 8 digits (deliberate: SDK cuts at the dash)
    ("zp", "01310100", "01310100", SAME),
    ("zp", "01310-100", "01310100", "01310100"),
    ("zp", "01.310-100", "01310100", "01310100"),
    ("zp", "94103", "94103", SAME),
    ("zp", "94103-1234", "94103", SAME),
    # country
    ("country", "BR", "br", SAME),
    ("country", " br ", "br", SAME),
    ("country", "US", "us", SAME),
    ("country", "Brasil", "br", "br"),
    ("country", "Brazil", "br", "br"),
    # dates of birth -> YYYYMMDD
    ("db", "19900517", "19900517", SAME),
    ("db", "17/05/1990", "19900517", "19900517"),
    ("db", "1990-05-17", "19900517", "19900517"),
    ("db", "05.01.2001", "20010105", "20010105"),
    # genders
    ("ge", "f", "f", SAME),
    ("ge", "M", "m", SAME),
    ("ge", "Feminino", "f", "f"),
    ("ge", "masculino", "m", "m"),
    ("ge", "Male", "m", "m"),
]

# Inputs with nothing valid to send: we drop them (the SDK raises or would send garbage).
DROPPED = [
    ("em", "joao.silva"),
    ("em", "joao silva@gmail.com"),
    ("em", ""),
    ("ph", "12345"),
    ("ph", "(00) 0000-0000"),
    ("ph", "11 1234-5678"),  # subscriber numbers never start with 1
    ("fn", "🔥🔥"),
    ("fn", "..."),
    ("country", "Narnia"),
    ("db", "31/02/1990"),
    ("db", "17/05/2090"),
    ("ge", "x"),
    ("zp", "   "),
]


def _sdk_hash(field: str, value: str) -> str:
    result = Normalize.normalize_field(field, value)
    assert isinstance(result, str)
    return result


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40
    assert sum(1 for case in CORPUS if case[3] is SAME) >= 30


@pytest.mark.parametrize(("field", "raw", "expected", "sdk_input"), CORPUS)
def test_normalisation_matches_the_sdk(field: str, raw: str, expected: str, sdk_input: object) -> None:
    assert normalize.normalise(field, raw) == expected
    ours = normalize.hashed(field, raw)
    assert ours == sha256_hex(expected)
    if sdk_input is SAME:
        assert ours == _sdk_hash(field, raw)
    else:
        assert isinstance(sdk_input, str)
        assert ours == _sdk_hash(field, sdk_input)
        try:
            sdk_raw = _sdk_hash(field, raw)
        except (TypeError, ValueError):
            sdk_raw = None  # the SDK rejects the raw input
        assert sdk_raw != ours, "documented difference no longer differs: update docs/conversions.md"


@pytest.mark.parametrize(("field", "raw"), DROPPED)
def test_invalid_values_are_dropped(field: str, raw: str) -> None:
    assert normalize.hashed(field, raw) is None


def test_already_hashed_values_pass_through() -> None:
    digest = sha256_hex("joao@gmail.com")
    assert normalize.hashed("em", digest.upper()) == digest
    assert Normalize.normalize_field("em", digest.upper()) == digest


def test_external_id_is_hashed_unlike_the_sdk() -> None:
    assert normalize.hashed("external_id", " funil:t1:tg:42 ") == sha256_hex("funil:t1:tg:42")


def test_dates_and_numbers() -> None:
    assert normalize.date_of_birth(date(1990, 5, 17)) == "19900517"
    assert normalize.date_of_birth("1899-12-31") is None
    assert normalize.phone(5511987654321) == "5511987654321"
    assert normalize.phone(True) is None
