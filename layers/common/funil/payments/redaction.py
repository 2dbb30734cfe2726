"""What a stored webhook may keep: the gateways' bodies without the person who paid (LGPD).

A raw webhook is kept 30 days for support (docs/data-model.md pattern 20). What support needs from
it is the money trail — ids, txids, end-to-end ids, amounts, statuses, times — never the payer.
Three nets, in order:

1. **Key names.** Secrets (tokens, passwords, signatures' keys) and personal fields under any of
   the gateways' names: documents (``cpf``, ``cnpj``, ``taxID``, ``document``,
   ``payer_national_registration``, ``identification``), names (``nome``, ``name``, ``first_name``,
   ``payer_name``), e-mails, phones, addresses (``logradouro``, ``cep``, ``address``…), birth
   dates and the payer's free text (``infoPagador``). The whole value goes, whatever its shape.
2. **Containers of a person.** Everything under ``payer``, ``pagador``, ``devedor``, ``customer``,
   ``holder``, ``cardholder``, ``debitParty``, ``creditParty``, ``card``… is the payer's (or the merchant's bank
   account): every scalar below is redacted, except a field's ``type`` (``BR:CPF``, ``CPF``).
3. **Value shapes**, for a field no list foresaw: a string holding an e-mail, a CPF/CNPJ with
   punctuation, an unpunctuated CPF/CNPJ whose check digits are valid, or a Brazilian phone.
   Fields named as ids (``id``, ``*_id``, ``txid``, ``endToEndId``, ``correlationID``…) skip this
   net: a Mercado Pago payment id of 11 digits must survive even when it looks like a CPF.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REDACTED", "redact"]

REDACTED = "[redacted]"

_SECRET_KEY = re.compile(r"secret|token|password|passwd|authorization|cookie|api[-_]?key|credential", re.I)
# Matched inside the key with its separators removed (``payer_national_registration``, ``taxID``).
_PERSONAL_FRAGMENTS = (
    "cpf", "cnpj", "taxid", "document", "nationalregistration", "identification", "email", "phone",
    "telefone", "celular", "whatsapp", "address", "endereco", "logradouro", "zipcode", "postalcode",
    "birth", "nascimento", "infopagador", "firstname", "lastname", "fullname", "useragent", "forwardedfor",
    "clientip", "realip",
)  # fmt: skip
# Matched as whole words of the key (``cep`` but not ``accepted``).
_PERSONAL_WORDS = frozenset(
    {"name", "nome", "rg", "street", "rua", "bairro", "neighborhood", "cidade", "city", "uf", "state", "zip", "cep",
     "mobile", "ip"}
)  # fmt: skip
_PERSON_CONTAINERS = frozenset(
    {"payer", "pagador", "devedor", "customer", "cliente", "buyer", "holder", "cardholder", "debitparty",
     "creditparty", "debtor", "card", "recebedor"}
)  # fmt: skip
_KEPT_IN_PERSON = frozenset({"type", "entitytype"})
_ID_WORDS = frozenset({"txid", "identifier", "endtoendid", "e2eid", "rtrid"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_PUNCTUATED_DOCUMENT = re.compile(r"(?<!\d)(\d{3}\.\d{3}\.\d{3}-\d{2}|\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2})(?!\d)")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")


def redact(value: Any, *, _in_person: bool = False) -> Any:
    """A copy of ``value`` (parsed JSON, headers or query) without secrets or personal data."""
    if isinstance(value, dict):
        return {key: _redact_field(str(key), item, _in_person) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item, _in_person=_in_person) for item in value]
    if _in_person and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return REDACTED
    if isinstance(value, str) and _looks_personal(value):
        return REDACTED
    return value


def _redact_field(name: str, item: Any, in_person: bool) -> Any:
    compact = re.sub(r"[^a-z0-9]", "", name.lower())
    words = {word.lower() for word in _WORD.findall(name)}
    if _SECRET_KEY.search(name) or any(part in compact for part in _PERSONAL_FRAGMENTS) or words & _PERSONAL_WORDS:
        return None if item is None else REDACTED
    scalar = not isinstance(item, (dict, list))
    if scalar and in_person and compact in _KEPT_IN_PERSON:
        return item
    if scalar and not in_person and (compact in _ID_WORDS or compact == "id" or _last_word(name) == "id"):
        return item  # ids are what support needs, even when they look like a document
    return redact(item, _in_person=in_person or compact in _PERSON_CONTAINERS)


def _last_word(name: str) -> str:
    words = _WORD.findall(name)
    return words[-1].lower() if words else ""


def _looks_personal(text: str) -> bool:
    stripped = text.strip()
    if _EMAIL.search(stripped) or _PUNCTUATED_DOCUMENT.search(stripped):
        return True
    if stripped.isdigit():
        return _valid_cpf(stripped) or _valid_cnpj(stripped)
    return _br_phone(stripped)


def _br_phone(text: str) -> bool:
    """A Brazilian phone written as one: ``+55 11 91234-5678``, ``(11) 91234-5678``, ``+5511912345678``.
    Bare digits are left alone (as ids they are common); a field named as a phone is caught by name."""
    compact = _PHONE_SEPARATORS.sub("", text)
    international = compact.startswith("+")
    digits = compact.removeprefix("+")
    if not digits.isdigit() or (compact == text and not international):
        return False
    if international:
        if not digits.startswith("55") or len(digits) not in (12, 13):
            return False
        digits = digits[2:]
    if len(digits) not in (10, 11) or digits[0] == "0" or digits[1] == "0":
        return False
    return len(digits) == 10 or digits[2] == "9"


def _check_digit(digits: str, weights: range | list[int]) -> int:
    total = sum(int(digit) * weight for digit, weight in zip(digits, weights, strict=False))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def _valid_cpf(digits: str) -> bool:
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    first = _check_digit(digits[:9], range(10, 1, -1))
    second = _check_digit(digits[:10], range(11, 1, -1))
    return digits[9:] == f"{first}{second}"


def _valid_cnpj(digits: str) -> bool:
    if len(digits) != 14 or len(set(digits)) == 1:
        return False
    first = _check_digit(digits[:12], [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])
    second = _check_digit(digits[:13], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])
    return digits[12:] == f"{first}{second}"
