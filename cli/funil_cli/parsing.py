"""Turning what people type into what the API takes: prices, key=value pairs, weighted bots."""

from __future__ import annotations

import re
from dataclasses import dataclass

from funil_cli.errors import CliError

# 19 / 19,9 / 19,90 / 19.90, and with thousands: 1.234,56 (pt-BR) or 1,234.56
_PRICES = (
    re.compile(r"(?P<whole>\d+)(?:[.,](?P<cents>\d{1,2}))?"),
    re.compile(r"(?P<whole>\d{1,3}(?:\.\d{3})+),(?P<cents>\d{1,2})"),
    re.compile(r"(?P<whole>\d{1,3}(?:,\d{3})+)\.(?P<cents>\d{1,2})"),
)
_BOT = re.compile(r"(?P<ref>@?[A-Za-z0-9_-]+)(?::(?P<weight>\d{1,4}))?")


def price_cents(text: str) -> int:
    """Reais as typed ("19,90", "R$ 19.90", "1.234,56") in integer cents; CliError otherwise."""
    value = text.strip().removeprefix("R$").strip()
    for pattern in _PRICES:
        if matched := pattern.fullmatch(value):
            whole = int(re.sub(r"[.,]", "", matched["whole"]))
            cents = whole * 100 + int((matched["cents"] or "0").ljust(2, "0"))
            if cents > 0:
                return cents
    raise CliError("error.price", value=text)


def pairs(values: list[str]) -> dict[str, str]:
    """``["client_id=abc", "x=1=2"]`` → ``{"client_id": "abc", "x": "1=2"}``."""
    parsed: dict[str, str] = {}
    for value in values:
        name, separator, content = value.partition("=")
        if not separator or not name.strip():
            raise CliError("error.pair", value=value)
        parsed[name.strip()] = content
    return parsed


@dataclass(frozen=True)
class WeightedBot:
    ref: str  # a bot id, or "@username" to look up
    weight: int = 1

    @property
    def username(self) -> str | None:
        return self.ref[1:] if self.ref.startswith("@") else None


def weighted_bot(text: str) -> WeightedBot:
    """``b1``, ``b1:3``, ``@MyBot:3``."""
    matched = _BOT.fullmatch(text.strip())
    if not matched or matched["ref"] == "@":
        raise CliError("error.bot_weight", value=text)
    return WeightedBot(matched["ref"], int(matched["weight"]) if matched["weight"] else 1)
