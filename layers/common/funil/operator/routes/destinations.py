"""``/api/v1/destinations``: where a tenant's sale events go besides Meta (UTMify, TikTok, GA4, webhooks)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from funil import keys
from funil.operator import destinations
from funil.operator.models import ENTITY_ID
from funil.operator.paging import DEFAULT_LIMIT, list_page
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router

DestinationId = Annotated[str, Path(pattern=ENTITY_ID)]
# One body, its fields by ``kind`` (a union is not taken for a body unless it is said to be one).
CreateBody = Annotated[destinations.DestinationCreate, Body()]


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/destinations", status_code=201, tags=["destinations"])
    def create(request: CreateBody) -> dict[str, Any]:
        """Add a destination; its secret is stored encrypted (a generated webhook signing secret is shown once)."""
        return destinations.create_destination(deps, access.tenant(), request)

    @router.get("/destinations", tags=["destinations"])
    def list_destinations(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        listing = keys.tenant_destination_index(access.tenant())
        return list_page(deps.items, listing, limit=limit, cursor=cursor, view=destinations.destination_view).as_json()

    @router.get("/destinations/<destination_id>", tags=["destinations"])
    def show(destination_id: DestinationId) -> dict[str, Any]:
        return destinations.destination_view(
            destinations.tenant_destination(deps.items, access.tenant(), destination_id)
        )

    @router.patch("/destinations/<destination_id>", tags=["destinations"])
    def update(destination_id: DestinationId, request: destinations.DestinationUpdate) -> dict[str, Any]:
        """Switch a destination on or off, choose its events, or give it a new secret."""
        return destinations.update_destination(deps, access.tenant(), destination_id, request)

    @router.delete("/destinations/<destination_id>", tags=["destinations"])
    def delete(destination_id: DestinationId) -> dict[str, Any]:
        return destinations.delete_destination(deps.items, access.tenant(), destination_id)

    return router
