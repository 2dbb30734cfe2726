"""Normalising customer information before hashing, per Meta's customer information parameters.

Meta matches SHA-256 hashes, so a value only matches when it is normalised exactly as Meta
normalises its own data. The rules follow Meta's documentation and, where the documentation says
nothing more, the official SDK (``facebook_business.adobjects.serverside.normalize.Normalize``),
which the tests use as an oracle. Deliberate differences, each listed in docs/conversions.md:

- phones: Brazilian national numbers get the country code ``55`` (the SDK would hash them without
  a country code, which never matches); trunk ``0`` and carrier codes are dropped; pre-2016 mobile
  numbers get the ninth digit; dots are separators;
- names and cities lose punctuation and symbols (emoji) but keep accents (Meta: "no punctuation",
  "UTF-8 for special characters"); text is NFC so "São" hashes the same however it was typed;
- state: a Brazilian state name becomes its UF code (``São Paulo`` → ``sp``);
- zip: a CEP keeps all 8 digits without the dash (Meta: "no dash"; the 5-digit cut is for US ZIP+4);
- country: ``Brasil``/``Brazil``/``BRA`` → ``br``; invalid values give None instead of an error;
- db: any common date shape becomes ``YYYYMMDD``; ge: ``feminino``/``F``… → ``f``, ``m`` likewise;
- external_id is hashed (Meta recommends it; the SDK sends it as given).

Every function returns the normalised value or None when there is nothing valid to send: a value
we cannot normalise is dropped, never sent half-normalised.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime

from funil.conversions.hashing import hash_normalised, is_sha256_hex

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SDK_PHONE_RE = re.compile(r"^\d{1,4}\(?\d{2,3}\)?\d{4,}$")
_NON_DIGITS = re.compile(r"\D")
_ZIP_SEPARATORS = re.compile(r"[\s.\-]")

BRAZIL = "55"
# Brazilian area codes (DDD) in use (Anatel).
_AREA_CODES_TEXT = (
    "11 12 13 14 15 16 17 18 19 21 22 24 27 28 31 32 33 34 35 37 38 41 42 43 44 45 46 47 48 49 51 53 54 55 "
    "61 62 63 64 65 66 67 68 69 71 73 74 75 77 79 81 82 83 84 85 86 87 88 89 91 92 93 94 95 96 97 98 99"
)
BR_AREA_CODES = frozenset(_AREA_CODES_TEXT.split())
UF_BY_NAME = {
    "acre": "ac", "alagoas": "al", "amapa": "ap", "amazonas": "am", "bahia": "ba", "ceara": "ce",
    "distritofederal": "df", "espiritosanto": "es", "goias": "go", "maranhao": "ma", "matogrosso": "mt",
    "matogrossodosul": "ms", "minasgerais": "mg", "para": "pa", "paraiba": "pb", "parana": "pr",
    "pernambuco": "pe", "piaui": "pi", "riodejaneiro": "rj", "riograndedonorte": "rn",
    "riograndedosul": "rs", "rondonia": "ro", "roraima": "rr", "santacatarina": "sc", "saopaulo": "sp",
    "sergipe": "se", "tocantins": "to",
}  # fmt: skip
UF_CODES = frozenset(UF_BY_NAME.values())
_ISO_COUNTRIES_TEXT = """
    ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs bt bv bw by
    bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg eh er es et fi fj fk fm
    fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it
    je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn
    mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt
    pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl
    tm tn to tr tt tv tw tz ua ug um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw"""
ISO_COUNTRIES = frozenset(_ISO_COUNTRIES_TEXT.split())
COUNTRY_ALIASES = {"brasil": "br", "brazil": "br", "bra": "br", "republicafederativadobrasil": "br"}
GENDERS = {
    "f": "f", "female": "f", "feminino": "f", "fem": "f", "mulher": "f", "woman": "f",
    "m": "m", "male": "m", "masculino": "m", "masc": "m", "homem": "m", "man": "m",
}  # fmt: skip
_DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
MAX_INPUT = 256


def _base(value: object) -> str | None:
    """NFC, trimmed, lowercase text; None for empty or non-text values."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = unicodedata.normalize("NFC", str(value))[:MAX_INPUT].strip().lower()
    return text or None


def _ascii_letters(text: str) -> str:
    """Letters only, accents removed: a lookup key (``São Paulo`` → ``saopaulo``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if "a" <= ch <= "z")


def _letters(text: str, keep_spaces: bool) -> str:
    """Letters and their accents; every punctuation mark, digit, symbol and emoji removed."""
    kept = []
    for ch in text:
        if ch.isalpha() or unicodedata.category(ch).startswith("M"):
            kept.append(ch)
        elif keep_spaces and ch.isspace():
            kept.append(" ")
    result = "".join(kept)
    return " ".join(result.split()) if keep_spaces else result


def email(value: object) -> str | None:
    text = _base(value)
    if text is None or is_sha256_hex(text):
        return text
    return text if _EMAIL_RE.match(text) else None


def _brazil_national(digits: str) -> str | None:
    """A Brazilian national number (DDD + subscriber) without trunk/carrier prefix, or None."""
    if digits.startswith("0"):
        rest = digits[1:]
        if len(rest) in (12, 13):  # 0 + carrier selection code (2 digits) + DDD + number
            rest = rest[2:]
        if len(rest) not in (10, 11):
            return None
        digits = rest
    if len(digits) not in (10, 11) or digits[:2] not in BR_AREA_CODES:
        return None
    area, subscriber = digits[:2], digits[2:]
    if len(subscriber) == 9:
        return digits if subscriber[0] == "9" else None
    if subscriber[0] in "6789":  # a mobile written before the ninth digit (2012-2016)
        return f"{area}9{subscriber}"
    if subscriber[0] in "2345":  # landline
        return digits
    return None


def phone(value: object, default_country: str = BRAZIL) -> str | None:
    """Digits with the country code, no leading zeros (Meta), e.g. ``5511987654321``.

    Without ``+``/``00`` a 10- or 11-digit number (or one with trunk 0) is Brazilian national;
    12/13 digits starting with 55 already carry the country code.
    """
    text = _base(value)
    if text is None or is_sha256_hex(text):
        return text
    international = text.startswith(("+", "00"))
    digits = _NON_DIGITS.sub("", text)
    if international:
        digits = re.sub(r"^0{0,2}", "", digits)
    elif default_country == BRAZIL:
        national = _brazil_national(digits)
        if national:
            return BRAZIL + national
        if len(digits) <= 11:  # national-length but no valid Brazilian number
            return None
    if digits.startswith(BRAZIL) and len(digits) in (12, 13):
        national = _brazil_national(digits[2:])
        if national:
            return BRAZIL + national
    if digits.startswith("0") or not 7 <= len(digits) <= 15 or not _SDK_PHONE_RE.match(digits):
        return None
    return digits


def name(value: object) -> str | None:
    """fn / ln: lowercase, no punctuation, accents kept (UTF-8)."""
    text = _base(value)
    if text is None or is_sha256_hex(text):
        return text
    return _letters(text, keep_spaces=True) or None


def city(value: object) -> str | None:
    """ct: lowercase, no spaces, digits or punctuation; accents kept (``sãopaulo``)."""
    text = _base(value)
    if text is None or is_sha256_hex(text):
        return text
    return _letters(text, keep_spaces=False) or None


def state(value: object) -> str | None:
    """st: Brazilian states as their UF code (``sp``); others lowercase letters only."""
    text = _base(value)
    if text is None or is_sha256_hex(text):
        return text
    key = _ascii_letters(text)
    if key in UF_BY_NAME:
        return UF_BY_NAME[key]
    if len(text) == 2 and key in UF_CODES:
        return key
    return _letters(text, keep_spaces=False) or None


def zip_code(value: object) -> str | None:
    """zp: no spaces or dash. A CEP keeps its 8 digits; otherwise the SDK's rule (part before '-')."""
    text = _base(value)
    if text is None or is_sha256_hex(text):
        return text
    compact = _ZIP_SEPARATORS.sub("", text)
    if len(compact) == 8 and compact.isdigit():
        return compact
    head = re.sub(r"\s", "", text).split("-")[0]
    return head if head and head.isalnum() else None


def country(value: object) -> str | None:
    """country: ISO 3166-1 alpha-2, lowercase."""
    text = _base(value)
    if text is None or is_sha256_hex(text):
        return text
    key = _ascii_letters(text)
    key = COUNTRY_ALIASES.get(key, key)
    return key if key in ISO_COUNTRIES else None


def date_of_birth(value: object, today: date | None = None) -> str | None:
    """db: ``YYYYMMDD`` from a date or a common text shape (Brazilian DD/MM/YYYY included)."""
    parsed: date | None = None
    if isinstance(value, datetime):
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    else:
        text = _base(value)
        if text is None or is_sha256_hex(text):
            return text
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    latest = today or date.today()
    if not 1900 <= parsed.year <= latest.year or parsed > latest:
        return None
    return parsed.strftime("%Y%m%d")


def gender(value: object) -> str | None:
    """ge: ``f`` or ``m``."""
    text = _base(value)
    if text is None or is_sha256_hex(text):
        return text
    return GENDERS.get(_ascii_letters(text))


def external_id(value: object) -> str | None:
    """external_id: our stable id as given (trimmed); hashed like the other keys."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


NORMALISERS: dict[str, Callable[[object], str | None]] = {
    "em": email,
    "ph": phone,
    "fn": name,
    "ln": name,
    "ct": city,
    "st": state,
    "zp": zip_code,
    "country": country,
    "db": date_of_birth,
    "ge": gender,
    "external_id": external_id,
}
HASHED_FIELDS = tuple(NORMALISERS)
UNHASHED_FIELDS = ("client_ip_address", "client_user_agent", "fbc", "fbp")


def normalise(field: str, value: object) -> str | None:
    return NORMALISERS[field](value)


def hashed(field: str, value: object) -> str | None:
    """The SHA-256 (hex) of the normalised value, or None when nothing valid is left."""
    return hash_normalised(NORMALISERS[field](value))
