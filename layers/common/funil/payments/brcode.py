"""PIX BR Code (EMV® QRCPS merchant-presented TLV) built and parsed in-process, and its QR PNG.

Never send a PIX payload to a third-party service (docs/architecture.md §9): the copia-e-cola string and its
QR image are made here. Layout (Manual de Padrões para Iniciação do Pix, BR Code):

    00 "01" payload format · 01 "12" (dynamic: single use) ·
    26 merchant account (00 "br.gov.bcb.pix", then 01 key + 02 info | 25 location URL)
    52 "0000" · 53 "986" (BRL) · 54 amount "12.34" · 58 "BR" · 59 name · 60 city
    62 additional data (05 txid) · 63 CRC16/CCITT-FALSE over everything up to and including "6304"
"""

from __future__ import annotations

import io
import re
import unicodedata

from pydantic import BaseModel, Field

GUI = "br.gov.bcb.pix"
TXID_RE = re.compile(r"^[A-Za-z0-9]{1,25}$")  # static BR Code: up to 25 alphanumerics, or "***"


class BrCodeError(ValueError):
    pass


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def tlv(tag: str, value: str) -> str:
    if len(tag) != 2 or not (tag.isascii() and tag.isdigit()):
        raise BrCodeError(f"bad tag {tag!r}")
    if not 0 < len(value) <= 99:
        raise BrCodeError(f"field {tag} must be 1..99 characters")
    return f"{tag}{len(value):02d}{value}"


def parse_tlv(text: str) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    index = 0
    while index < len(text):
        if index + 4 > len(text):
            raise BrCodeError("truncated field header")
        tag, size_text = text[index : index + 2], text[index + 2 : index + 4]
        if not (tag.isascii() and size_text.isascii() and tag.isdigit() and size_text.isdigit()):
            raise BrCodeError(f"bad field header at {index}")
        size = int(size_text)
        value = text[index + 4 : index + 4 + size]
        if len(value) != size:
            raise BrCodeError(f"field {tag} is truncated")
        fields.append((tag, value))
        index += 4 + size
    return fields


def _plain_ascii(text: str, limit: int) -> str:
    """Merchant name/city: ASCII without accents (readers differ on anything else)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9 .\-]", "", folded).strip()
    return (cleaned or "NA")[:limit]


class BrCode(BaseModel):
    """A static code (``key``: the payer's app pays that PIX key) or a dynamic one (``url``: the
    payer's app fetches the charge from the PSP's location, given without ``https://``)."""

    key: str | None = Field(default=None, min_length=1, max_length=77)  # the receiver's PIX key
    url: str | None = Field(default=None, min_length=1, max_length=77)  # dynamic: the location
    amount_cents: int | None = Field(default=None, gt=0)
    merchant_name: str = "FUNIL"
    merchant_city: str = "SAO PAULO"
    txid: str = "***"  # our reference (payment id, alphanumeric)
    description: str | None = None

    def payload(self) -> str:
        if (self.key is None) == (self.url is None):
            raise BrCodeError("a BR Code carries either a PIX key (static) or a location (dynamic)")
        if self.txid != "***" and not TXID_RE.fullmatch(self.txid):
            raise BrCodeError("txid must be 1..25 letters/digits")
        if self.url is not None:
            if "://" in self.url:
                raise BrCodeError("the location goes without its scheme (no https://)")
            if self.txid != "***":
                raise BrCodeError("a dynamic code's txid lives at its location: use ***")
            account = tlv("00", GUI) + tlv("25", self.url)
            head = tlv("00", "01") + tlv("01", "12")
        else:
            account = tlv("00", GUI) + tlv("01", self.key or "")
            if self.description:
                account += tlv("02", self.description[: max(0, 99 - len(account) - 4)])
            head = tlv("00", "01")
        if len(account) > 99:
            raise BrCodeError("merchant account information too long")
        body = head + tlv("26", account) + tlv("52", "0000") + tlv("53", "986")
        if self.amount_cents is not None:
            body += tlv("54", f"{self.amount_cents // 100}.{self.amount_cents % 100:02d}")
        body += tlv("58", "BR")
        body += tlv("59", _plain_ascii(self.merchant_name, 25))
        body += tlv("60", _plain_ascii(self.merchant_city, 15))
        body += tlv("62", tlv("05", self.txid))
        body += "6304"
        return body + f"{crc16_ccitt_false(body.encode()):04X}"


class ParsedBrCode(BaseModel):
    key: str | None
    url: str | None
    amount_cents: int | None
    currency: str
    merchant_name: str
    merchant_city: str
    txid: str | None
    description: str | None


def _cents(text: str) -> int:
    if not re.fullmatch(r"\d{1,10}(\.\d{1,2})?", text):
        raise BrCodeError("bad amount")
    units, _, fraction = text.partition(".")
    return int(units) * 100 + int((fraction + "00")[:2])


def parse(payload: str) -> ParsedBrCode:
    """Parse and check a BR Code: CRC, format indicator, the PIX GUI, BRL."""
    payload = payload.strip()
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise BrCodeError("missing CRC field")
    expected = f"{crc16_ccitt_false(payload[:-4].encode()):04X}"
    if payload[-4:].upper() != expected:
        raise BrCodeError("CRC mismatch")
    fields = dict(parse_tlv(payload[:-8]))
    if fields.get("00") != "01":
        raise BrCodeError("not an EMV payload (format indicator)")
    account = dict(parse_tlv(fields.get("26", "")))
    if account.get("00", "").lower() != GUI:
        raise BrCodeError("not a PIX BR Code")
    extra = dict(parse_tlv(fields["62"])) if "62" in fields else {}
    return ParsedBrCode(
        key=account.get("01"),
        url=account.get("25"),
        amount_cents=_cents(fields["54"]) if "54" in fields else None,
        currency=fields.get("53", ""),
        merchant_name=fields.get("59", ""),
        merchant_city=fields.get("60", ""),
        txid=extra.get("05"),
        description=account.get("02"),
    )


def qr_png(payload: str, scale: int = 6) -> bytes:
    """The BR Code as a QR PNG (error correction M, quiet zone 4), made in-process with segno."""
    import segno  # off the cold path: only a PIX charge draws its QR code

    out = io.BytesIO()
    segno.make_qr(payload, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
