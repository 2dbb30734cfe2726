"""Pure parts of ``/painel``: who asks for a link (``funil.bot.admin.asks_for_link``), the admins as the
webhook reads them from the bot item, and the pt-BR text."""

from __future__ import annotations

from typing import Any

import pytest
from funil.bot import texts
from funil.bot.admin import asks_for_link
from funil.bot.updates import parse
from funil.bot.views import BotView

BIA, ANA = 5550101, 5550103
USERNAME = "FunilDemoABot"


def bot_item(**changes: Any) -> dict[str, Any]:
    item = {"pk": "BOT#bot_a", "sk": "BOT", "bot_id": "bot_a", "tenant_id": "t1", "username": USERNAME}
    return {**item, **changes}


def view(admins: Any = None) -> BotView:
    item = bot_item() if admins is None else bot_item(admin_telegram_ids=admins)
    found = BotView.from_items("bot_a", [item])
    assert found is not None
    return found


def update(text: str, *, sender: int = BIA, chat: dict[str, Any] | None = None) -> Any:
    message = {
        "message_id": 1,
        "date": 1_790_000_000,
        "from": {"id": sender, "is_bot": False, "first_name": "Bia"},
        "chat": chat or {"id": sender, "type": "private"},
        "text": text,
    }
    return parse({"update_id": 1, "message": message}, USERNAME)


def test_the_bot_item_s_admins() -> None:
    assert view().admin_telegram_ids == frozenset()
    assert view([BIA, ANA]).admin_telegram_ids == {BIA, ANA}
    # Whatever else a hand-edited item holds is never an admin.
    assert view([BIA, 0, -1, True, "5550103", 1.5, None, [ANA]]).admin_telegram_ids == {BIA}
    assert view("5550101").admin_telegram_ids == frozenset()
    assert view({"id": BIA}).admin_telegram_ids == frozenset()


@pytest.mark.parametrize("text", ["/painel", "/dashboard", "/PAINEL", "/painel@FunilDemoABot", "/painel agora"])
def test_an_admin_asks(text: str) -> None:
    assert asks_for_link(view([BIA]), update(text))


@pytest.mark.parametrize(
    ("text", "sender", "chat", "admins"),
    [
        ("/painel", ANA, None, [BIA]),  # not an admin
        ("/painel", BIA, None, None),  # a bot without admins
        ("/painel", BIA, None, []),
        ("/painel@OutroBot", BIA, None, [BIA]),  # addressed to another bot
        ("/start", BIA, None, [BIA]),
        ("/paysupport", BIA, None, [BIA]),
        ("/painelx", BIA, None, [BIA]),
        ("painel", BIA, None, [BIA]),  # text, not a command
        ("/painel", BIA, {"id": -100123, "type": "supergroup", "title": "G"}, [BIA]),
        ("/painel", BIA, {"id": -123, "type": "group", "title": "G"}, [BIA]),
        ("/painel", BIA, {"id": ANA, "type": "private"}, [BIA]),  # not the sender's own chat
    ],
)
def test_nobody_else_asks(text: str, sender: int, chat: dict[str, Any] | None, admins: Any) -> None:
    assert not asks_for_link(view(admins), update(text, sender=sender, chat=chat))


def test_the_texts_say_once_and_when_it_expires() -> None:
    text = texts.dashboard_link(15)
    assert "uma única vez" in text and "15 minutos" in text and "http" not in text
    assert "PublicBaseUrl" in texts.DASHBOARD_UNCONFIGURED
    assert 1 <= len(texts.OPEN_DASHBOARD) <= 64
