"""``/api/v1/broadcasts``: a message to a segment of one bot's leads, now or at a time (docs/broadcasts.md)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil.broadcasts import manage
from funil.broadcasts.models import BroadcastCreate
from funil.operator.paging import DEFAULT_LIMIT
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router

BroadcastId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/broadcasts", status_code=201, tags=["broadcasts"], description=manage.CREATE_DOC)
    def create(request: BroadcastCreate) -> dict[str, Any]:
        return manage.create_broadcast(deps.items, access.tenant(), request, deps.now())

    @router.get("/broadcasts", tags=["broadcasts"], description=manage.LIST_DOC)
    def list_broadcasts(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        return manage.list_broadcasts(deps.items, access.tenant(), limit=limit, cursor=cursor).as_json()

    @router.get("/broadcasts/<broadcast_id>", tags=["broadcasts"])
    def show(broadcast_id: BroadcastId) -> dict[str, Any]:
        return manage.get_broadcast(deps.items, access.tenant(), broadcast_id)

    @router.post("/broadcasts/<broadcast_id>/cancel", tags=["broadcasts"], description=manage.CANCEL_DOC)
    def cancel(broadcast_id: BroadcastId) -> dict[str, Any]:
        return manage.cancel_broadcast(deps.items, access.tenant(), broadcast_id, deps.now())

    return router
