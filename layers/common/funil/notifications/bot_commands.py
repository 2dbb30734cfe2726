"""``/admin <code>``: a person registers their private chat with one of the tenant's bots as an admin chat.

Only private chats reach here (``funil.bot.updates`` gives group updates no chat). The update is
claimed before this runs (``TGUPDATE#…``), so a redelivered update registers nothing twice; the code
is spent by the registration itself (``funil.notifications.registration.redeem``). The answer is
pt-BR; a wrong, spent, expired or other tenant's code gets one neutral answer and changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from funil import keys
from funil.bot.ports import BotApi, BotDeps
from funil.bot.updates import Incoming
from funil.bot.views import BotView
from funil.notifications import registration, texts
from funil.notifications.models import DEFAULT_REPORT_HOUR

__all__ = ["register_chat"]


def register_chat(deps: BotDeps, bot: BotView, api: BotApi, incoming: Incoming, now: datetime) -> str:
    assert incoming.command is not None
    assert incoming.chat_id is not None
    outcome = registration.redeem(
        deps.table,
        tenant_id=bot.tenant_id,
        bot_id=bot.bot_id,
        chat_id=incoming.chat_id,
        text=incoming.command.argument,
        now=now,
    )
    if outcome == "refused":
        api.send_message(incoming.chat_id, texts.CODE_REFUSED)
        return "admin_code_refused"
    chat = deps.table.get(*keys.admin_chat(bot.tenant_id, incoming.chat_id), consistent=True) or {}
    tenant = deps.table.get(*keys.tenant(bot.tenant_id)) or {}
    answer = texts.REGISTERED.format(
        tenant=escape(str(tenant.get("name") or bot.tenant_id)),
        hour=int(chat.get("report_hour", DEFAULT_REPORT_HOUR)),
    )
    api.send_message(incoming.chat_id, answer, parse_mode=texts.PARSE_MODE)
    return f"admin_chat_{outcome}"
