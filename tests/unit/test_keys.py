"""Table keys are spelled in ``funil/keys.py`` only (docs/data-model.md); every other module calls it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from funil import keys

PACKAGE = Path(keys.__file__).parent

# A string literal (plain, f-, r-, b-) that begins a key: an upper-case prefix and "#" ("ATTEMPT#", f"LEAD#{…}").
KEY_START = re.compile(r"""(?<![\w"'])[rRbBfFuU]{0,2}(["'])[A-Z][A-Z0-9_]{2,}#""")
# A literal that is a whole key part of docs/data-model.md: a sort key ("PAYMENT") or an index partition ("BOTS").
KEY_WORD = re.compile(
    r"""(?<![\w"'])[rRbBfFuU]{0,2}(["'])(TENANT|LINK|BOT|BOTS|PIXEL|GATEWAY|OFFER|CLICK|LEAD|TOUCH|TGUPDATE|CHARGE"""
    r"""|PAYMENT|ATTEMPT|DELIVERY|WEBHOOK|INVITE|CAPI|COUNT|APIKEY)\1"""
)

# (module under funil/, the literal as it begins) → why it stays outside keys.py.
ALLOWED: dict[tuple[str, str], str] = {}


def _literals() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module == "keys.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern in (KEY_START, KEY_WORD):
                found += [(module, number, match.group(0)) for match in pattern.finditer(line)]
    return found


def test_no_module_but_keys_spells_a_table_key() -> None:
    offenders = [f"{module}:{number}: {text}" for module, number, text in _literals() if (module, text) not in ALLOWED]
    assert offenders == [], "spell table keys in funil/keys.py and call it"


def test_every_allowed_literal_is_still_there() -> None:
    seen = {(module, text) for module, _, text in _literals()}
    assert set(ALLOWED) - seen == set(), "an allowed key literal is gone: drop it from ALLOWED"


@pytest.mark.parametrize(
    "text",
    ['f"PAYMENT#{payment_id}"', "'ATTEMPT#'", '":pk": f"GWCHARGE#{a}#{b}"', "F'INVITE#{h}'", '"PAYMENT"', "'BOTS'"],
)
def test_the_patterns_catch_keys(text: str) -> None:
    assert KEY_START.search(text) or KEY_WORD.search(text)


@pytest.mark.parametrize("text", ['"Payment#1"', '"#PAYMENT"', 'f"{kind}#{entity_id}"', '"PAYMENTS"', '"XTR"'])
def test_the_patterns_leave_other_strings(text: str) -> None:
    assert not (KEY_START.search(text) or KEY_WORD.search(text))


def test_keys_imports_only_the_standard_library() -> None:
    """The redirect imports keys on its cold path (docs/architecture.md §8)."""
    tree = ast.parse(Path(keys.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {str(node.module) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "hashlib"}


# Every key as docs/data-model.md spells it: moving a key here must not change a stored byte.
SPELLINGS = [
    (keys.tenant("t1"), ("TENANT#t1", "TENANT")),
    (keys.link("promo"), ("LINK#promo", "LINK")),
    (keys.bot("b1"), ("BOT#b1", "BOT")),
    (keys.offer("b1", "o1"), ("BOT#b1", "OFFER#o1")),
    (keys.offers("b1"), ("BOT#b1", "OFFER#")),
    (keys.pixel("p1"), ("PIXEL#p1", "PIXEL")),
    (keys.gateway("g1"), ("GATEWAY#g1", "GATEWAY")),
    (keys.incident("t1", "gateway_failing", "g1"), ("TENANT#t1", "INCIDENT#gateway_failing#g1")),
    (keys.tenant_incidents("t1"), ("TENANT#t1", "INCIDENT#")),
    (keys.tenant_incidents("t1", "capi_errors"), ("TENANT#t1", "INCIDENT#capi_errors#")),
    (keys.tenant_incidents("t1", kinds_starting="gateway_"), ("TENANT#t1", "INCIDENT#gateway_")),
    (keys.capi_window("t1", "p1", "2026-12-02T05:30:00.000Z"), ("TENANT#t1", "WATCH#capi#p1#2026-12-02T05:30:00.000Z")),
    (
        keys.open_incident_index("bot_token_refused", "2026-12-02T05:30:00.000Z", "t1", "b1"),
        {"gsi2pk": "INCIDENTS#bot_token_refused", "gsi2sk": "2026-12-02T05:30:00.000Z#t1#b1"},
    ),
    (keys.tenant_index("t1", "LINK", "promo"), {"gsi1pk": "TENANT#t1", "gsi1sk": "LINK#promo"}),
    (keys.tenant_offer_index("t1", "b1", "o1"), {"gsi1pk": "TENANT#t1", "gsi1sk": "OFFER#b1#o1"}),
    (keys.tenant_gateway_index("t1", "g1"), {"gsi1pk": "TENANT#t1", "gsi1sk": "GATEWAY#g1"}),
    (keys.tenant_gateway_index("t1"), {"gsi1pk": "TENANT#t1", "gsi1sk": "GATEWAY#"}),
    (keys.every_bot_index("b1"), {"gsi2pk": "BOTS", "gsi2sk": "b1"}),
    (keys.click("tok"), ("CLICK#tok", "CLICK")),
    (keys.lead("b1", 42), ("LEAD#b1#42", "LEAD")),
    (keys.touch("b1", 42, "2025-01-02T03:04:05.000Z", "tok"), ("LEAD#b1#42", "TOUCH#2025-01-02T03:04:05.000Z#tok")),
    (keys.touch("b1", 42, "2025-01-02T03:04:05.000Z", None), ("LEAD#b1#42", "TOUCH#2025-01-02T03:04:05.000Z#organic")),
    (keys.bot_leads_index("b1", "2025-01-02"), {"gsi1pk": "BOTLEADS#b1", "gsi1sk": "2025-01-02"}),
    (keys.telegram_update("b1", 7), ("TGUPDATE#b1#7", "TGUPDATE")),
    (keys.charge("b1", 42, "o1", "pix"), ("LEAD#b1#42", "CHARGE#o1")),
    (keys.charge("b1", 42, "o1", "xtr"), ("LEAD#b1#42", "CHARGE#o1#xtr")),
    (keys.payment("p" * 32), (f"PAYMENT#{'p' * 32}", "PAYMENT")),
    (keys.gateway_charge_index("g1", "c1"), {"gsi1pk": "GWCHARGE#g1#c1", "gsi1sk": "PAYMENT"}),
    (keys.delivery_token_index("dt"), {"gsi2pk": "DELIVERY#dt", "gsi2sk": "PAYMENT"}),
    (keys.pending_shard_index(3), {"gsi2pk": "PENDING#3"}),
    (
        keys.pending_index("0" * 28 + "000d", "2025-01-02"),
        {"gsi2pk": "PENDING#3", "gsi2sk": f"2025-01-02#{'0' * 28}000d"},
    ),
    (keys.attempt("p1", 2), ("PAYMENT#p1", "ATTEMPT#02")),
    (keys.attempts("p1"), ("PAYMENT#p1", "ATTEMPT#")),
    (keys.raw_webhook("g1", "2025-01-02", "w1"), ("WEBHOOK#g1#2025-01-02#w1", "WEBHOOK")),
    (keys.stars_charge_index("s1"), {"gsi1pk": "STARS#s1", "gsi1sk": "PAYMENT"}),
    (keys.conversion_record("p1", "purchase_1"), ("CAPI#p1#purchase_1", "CAPI")),
    (keys.conversion_record(None, "lead_1"), ("CAPI#-#lead_1", "CAPI")),
    (keys.conversion_status_index("p1", "sent", "2025"), {"gsi1pk": "CAPISTATUS#p1#sent", "gsi1sk": "2025"}),
    (keys.conversion_status_index(None, "dead"), {"gsi1pk": "CAPISTATUS#-#dead", "gsi1sk": ""}),
    (keys.delivery_record("p1"), ("PAYMENT#p1", "DELIVERY")),
    (
        keys.invite("https://t.me/+abc"),
        ("INVITE#e67c32374df6cdc861b29a6d91a31d4ab49bba6ae84f5074d7ed23c6966654ed", "INVITE"),
    ),
    (keys.count_chunk("t1", "2026-12-01", "ev1"), ("COUNT#t1#2026-12-01", "CHUNK#ev1")),
    (keys.spend("t1", "2026-12-01", "a1"), ("SPEND#t1", "2026-12-01#a1")),
    (keys.ad_account("t1", "123"), ("ADACCOUNT#t1#123", "ADACCOUNT")),
    (keys.login_link("ab12"), ("LOGIN#ab12", "LOGIN")),
    (keys.session("cd34"), ("SESSION#cd34", "SESSION")),
]


@pytest.mark.parametrize(("made", "expected"), SPELLINGS)
def test_spelling(made: object, expected: object) -> None:
    assert made == expected
