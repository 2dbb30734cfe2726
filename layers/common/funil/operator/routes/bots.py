"""``/api/v1/bots``: a tenant's Telegram bots (the token proven with ``getMe``, the webhook set)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil import keys
from funil.operator import bots
from funil.operator.models import ENTITY_ID
from funil.operator.paging import DEFAULT_LIMIT, list_page
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router

BotId = Annotated[str, Path(pattern=ENTITY_ID)]


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    def view(item: dict[str, Any]) -> dict[str, Any]:
        return bots.bot_view(item, deps.public_base_url)

    @router.post("/bots", status_code=201, tags=["bots"])
    def create(request: bots.BotCreate) -> dict[str, Any]:
        """Add a bot: getMe proves the token, then its webhook is pointed at this stack."""
        return bots.create_bot(deps, access.tenant(), request)

    @router.get("/bots", tags=["bots"])
    def list_bots(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        listing = keys.tenant_bot_index(access.tenant())
        return list_page(
            deps.items,
            listing,
            limit=limit,
            cursor=cursor,
            view=view,
        ).as_json()

    @router.get("/bots/<bot_id>", tags=["bots"])
    def show(bot_id: BotId) -> dict[str, Any]:
        return view(bots.tenant_bot(deps.items, access.tenant(), bot_id))

    @router.patch("/bots/<bot_id>", tags=["bots"])
    def update(bot_id: BotId, request: bots.BotUpdate) -> dict[str, Any]:
        """Change a bot; a new token must be the same bot's, and the webhook is set again."""
        return bots.update_bot(deps, access.tenant(), bot_id, request)

    return router
