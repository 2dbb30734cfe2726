"""``/api/v1/notifications``: codes that register admin chats, and the chats' settings (docs/notifications.md)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil.notifications import registration
from funil.notifications.models import ChatChange
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, new_router

ChatId = Annotated[
    int, Path(ge=1, le=2**53, description="The admin chat's Telegram id (a private chat: the person's id)")
]

CODE_DOC = (
    "A one-time code that registers an admin chat: `{code, command, expires_at}`. The person sends "
    "`command` (`/admin <code>`) to one of the tenant's bots in a private chat, within 15 minutes; the "
    "chat then gets the tenant's sales, refunds, alerts and daily report through that bot."
)
UPDATE_DOC = (
    "Turn kinds of notice on or off (`sale`, `refund`, `daily`, `weekly`, `alerts`) and set the hour of "
    "the daily and weekly reports (0-23, Brasília time)."
)


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/notifications/codes", status_code=201, tags=["notifications"], description=CODE_DOC)
    def create_code() -> dict[str, Any]:
        return registration.create_code(deps.items, access.tenant(), deps.now(), key_id=access.caller().key_id)

    @router.get("/notifications/chats", tags=["notifications"])
    def list_chats() -> dict[str, Any]:
        return registration.list_chats(deps.items, access.tenant())

    @router.patch("/notifications/chats/<chat_id>", tags=["notifications"], description=UPDATE_DOC)
    def update_chat(chat_id: ChatId, change: ChatChange) -> dict[str, Any]:
        return registration.update_chat(deps.items, access.tenant(), chat_id, change, deps.now())

    @router.delete("/notifications/chats/<chat_id>", tags=["notifications"])
    def remove_chat(chat_id: ChatId) -> dict[str, Any]:
        return registration.remove_chat(deps.items, access.tenant(), chat_id)

    return router
