"""``/api/v1/gateways``: a tenant's PIX gateways, each proven with the gateway before it is stored."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil import keys
from funil.operator import gateways
from funil.operator.models import ENTITY_ID
from funil.operator.paging import DEFAULT_LIMIT, list_page
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router

GatewayId = Annotated[str, Path(pattern=ENTITY_ID)]


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/gateways", status_code=201, tags=["gateways"])
    def create(request: gateways.GatewayCreate) -> dict[str, Any]:
        """Add a gateway: a test call proves the credentials (refused → 422 on ``credentials``), our
        webhook URL is registered where the gateway keeps one per account; ``webhook_url`` is shown only here."""
        return gateways.create_gateway(deps, access.tenant(), request)

    @router.get("/gateways", tags=["gateways"])
    def list_gateways(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        listing = keys.tenant_gateway_index(access.tenant())
        return list_page(
            deps.items,
            listing,
            limit=limit,
            cursor=cursor,
            view=gateways.gateway_view,
            keep=gateways.is_gateway,
        ).as_json()

    @router.get("/gateways/<gateway_id>", tags=["gateways"])
    def show(gateway_id: GatewayId) -> dict[str, Any]:
        return gateways.gateway_view(gateways.get_gateway(deps.items, access.tenant(), gateway_id))

    @router.patch("/gateways/<gateway_id>", tags=["gateways"])
    def update(gateway_id: GatewayId, request: gateways.GatewayUpdate) -> dict[str, Any]:
        """Enable, rename, reorder; new ``credentials`` or ``options`` are proven with the gateway first."""
        return gateways.update_gateway(deps, access.tenant(), gateway_id, request)

    return router
