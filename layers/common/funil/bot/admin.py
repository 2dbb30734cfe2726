"""``/painel`` (or ``/dashboard``): one of a bot's admins asks the bot for a sign-in link to the dashboard.

The bot item lists its admins (``admin_telegram_ids``, set through the operator's API; the webhook
sees a change within its bot cache time). Checked in order:

1. the command comes from a private chat, the sender's own (group updates never get here:
   ``funil.bot.updates`` gives them no chat);
2. its sender is one of the bot's admins. Anyone else's ``/painel`` is not this module's
   (``asks_for_link`` is False) and is answered as any other text: nobody learns the command exists;
3. the deployment has a public address (``PUBLIC_BASE_URL``), else the admin is told, in pt-BR, that
   the dashboard is not configured, and nothing is written.

Then ``funil.operator.login_links.create_login_link`` makes the link, as it does for
``POST /api/v1/login-links`` (15 minutes, stored only as its token's hash, spent by one sign-in),
recording that the bot's admin asked (no API key; ``via = telegram:<bot>:<Telegram user id>``), and
the bot sends it on an inline URL button, never in the text.

The update is claimed before this runs (``TGUPDATE#…``), so a redelivered update makes no second
link. When Telegram is unavailable the claim is released and the redelivery makes a new link; the
first was never shown to anyone, and is worth nothing after 15 minutes.
"""

from __future__ import annotations

import logging
from datetime import datetime

from funil.adapters.telegram import Button
from funil.bot import texts
from funil.bot.ports import BotApi, BotDeps
from funil.bot.updates import Incoming
from funil.bot.views import BotView
from funil.operator.errors import Unconfigured
from funil.operator.login_links import LINK_LIFETIME, create_login_link

__all__ = ["ADMIN_COMMANDS", "asks_for_link", "send_link"]

log = logging.getLogger(__name__)

ADMIN_COMMANDS = frozenset({"painel", "dashboard"})


def asks_for_link(bot: BotView, incoming: Incoming) -> bool:
    """Whether the update is ``/painel`` or ``/dashboard`` from one of the bot's admins, in their own private chat."""
    command, person = incoming.command, incoming.person
    return (
        incoming.kind == "command"
        and command is not None
        and command.name in ADMIN_COMMANDS
        and person is not None
        and incoming.chat_id == person.user_id  # a private chat's id is its user's
        and person.user_id in bot.admin_telegram_ids
    )


def send_link(deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming, now: datetime) -> str:
    """A fresh sign-in link to the bot's tenant's dashboard, sent to the admin who asked (see ``asks_for_link``)."""
    person = incoming.person
    assert person is not None
    assert incoming.chat_id is not None
    try:
        created = create_login_link(
            deps.table,
            bot.tenant_id,
            deps.public_base_url,
            now,
            key_id=None,
            via=f"telegram:{bot.bot_id}:{person.user_id}",
        )
    except Unconfigured:
        api.send_message(incoming.chat_id, texts.DASHBOARD_UNCONFIGURED)
        return "dashboard_unconfigured"
    minutes = int(LINK_LIFETIME.total_seconds()) // 60
    api.send_message(
        incoming.chat_id,
        texts.dashboard_link(minutes),
        keyboard=[[Button(texts.OPEN_DASHBOARD, url=created.url)]],
        parse_mode=texts.PARSE_MODE,
    )
    log.info("dashboard sign-in link sent to an admin of the bot", extra={"bot_id": bot.bot_id})
    return "dashboard_link"
