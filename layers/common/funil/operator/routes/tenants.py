"""``/api/v1/tenants``: the deployment operator's (each tenant is created with its first API key)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil import keys
from funil.operator import tenants
from funil.operator.models import ENTITY_ID
from funil.operator.paging import DEFAULT_LIMIT, list_page
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router

TenantId = Annotated[str, Path(pattern=ENTITY_ID)]


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/tenants", status_code=201, tags=["tenants"])
    def create(request: tenants.TenantCreate) -> dict[str, Any]:
        """Create a tenant and its first API key (shown once)."""
        access.operator()
        tenant, key = tenants.create_tenant(deps.items, request, deps.now)
        return {"tenant": tenants.tenant_view(tenant.to_item()), "api_key": key.as_json()}

    @router.get("/tenants", tags=["tenants"])
    def list_tenants(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        access.operator()
        return list_page(
            deps.items,
            keys.every_tenant_index(),
            limit=limit,
            cursor=cursor,
            view=tenants.tenant_view,
        ).as_json()

    @router.get("/tenants/<tenant_id>", tags=["tenants"])
    def show(tenant_id: TenantId) -> dict[str, Any]:
        access.operator()
        return tenants.tenant_view(tenants.get_tenant(deps.items, tenant_id))

    @router.patch("/tenants/<tenant_id>", tags=["tenants"])
    def update(tenant_id: TenantId, request: tenants.TenantUpdate) -> dict[str, Any]:
        access.operator()
        return tenants.tenant_view(tenants.update_tenant(deps.items, tenant_id, request))

    return router
