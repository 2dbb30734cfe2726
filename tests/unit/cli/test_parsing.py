"""Prices in reais, key=value pairs, weighted bots, and global options anywhere on the line."""

from __future__ import annotations

import pytest
from funil_cli.errors import CliError
from funil_cli.i18n import resolve_lang
from funil_cli.main import hoist_global_options
from funil_cli.parsing import WeightedBot, pairs, price_cents, weighted_bot


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("19,90", 1990),
        ("19.90", 1990),
        ("19,9", 1990),
        ("19", 1900),
        ("0,99", 99),
        ("R$ 19,90", 1990),
        (" 1.234,56 ", 123456),
        ("1,234.56", 123456),
        ("1.000.000,00", 100000000),
    ],
)
def test_prices_in_reais_become_cents(typed: str, cents: int) -> None:
    assert price_cents(typed) == cents


@pytest.mark.parametrize("typed", ["", "abc", "19,999", "1.234", "0", "0,00", "-5", "19,90,1", "1,234,5", "1e3"])
def test_prices_that_are_not_clear_are_refused(typed: str) -> None:
    with pytest.raises(CliError) as refused:
        price_cents(typed)
    assert refused.value.key == "error.price"


def test_pairs_split_on_the_first_equals() -> None:
    assert pairs(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    for bad in ("a", "=1"):
        with pytest.raises(CliError):
            pairs([bad])


@pytest.mark.parametrize(
    ("typed", "bot"),
    [
        ("b1", WeightedBot("b1", 1)),
        ("b1:3", WeightedBot("b1", 3)),
        ("@VendasBot:3", WeightedBot("@VendasBot", 3)),
        ("@VendasBot", WeightedBot("@VendasBot", 1)),
        ("b-1:0", WeightedBot("b-1", 0)),
    ],
)
def test_weighted_bots(typed: str, bot: WeightedBot) -> None:
    assert weighted_bot(typed) == bot


def test_a_username_is_a_bot_ref_with_an_at() -> None:
    assert (WeightedBot("@Vendas").username, WeightedBot("b1").username) == ("Vendas", None)


@pytest.mark.parametrize("typed", ["", "@", "b1:", "b1:x", ":3", "b 1", "b1:3:4"])
def test_bots_typed_wrong_are_refused(typed: str) -> None:
    with pytest.raises(CliError):
        weighted_bot(typed)


def test_global_options_move_in_front_of_the_command() -> None:
    line = ["bots", "list", "--json", "--lang", "en", "--api-url=http://x", "--api-key", "k"]
    assert hoist_global_options(line) == [
        "--json",
        "--lang",
        "en",
        "--api-url=http://x",
        "--api-key",
        "k",
        "bots",
        "list",
    ]
    assert hoist_global_options(["lead", "--", "--json"]) == ["lead", "--", "--json"]


@pytest.mark.parametrize(
    ("flag", "env", "lang"),
    [
        ("en", {"FUNIL_LANG": "pt", "LANG": "pt_BR"}, "en"),
        (None, {"FUNIL_LANG": "en", "LANG": "pt_BR.UTF-8"}, "en"),
        (None, {"FUNIL_LANG": "pt_BR", "LANG": "en_US.UTF-8"}, "pt"),
        (None, {"LANG": "en_GB.UTF-8"}, "en"),
        (None, {"LANG": "C.UTF-8"}, "pt"),
        (None, {}, "pt"),
    ],
)
def test_the_language(flag: str | None, env: dict[str, str], lang: str) -> None:
    assert resolve_lang(flag, env) == lang
