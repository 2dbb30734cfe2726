"""``/api/v1/pixels``: a tenant's Meta pixels (the Conversions API token proven with a test event)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil import keys
from funil.operator import pixels
from funil.operator.models import ENTITY_ID
from funil.operator.paging import DEFAULT_LIMIT, list_page
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router

PixelId = Annotated[str, Path(pattern=ENTITY_ID)]


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/pixels", status_code=201, tags=["pixels"])
    def create(request: pixels.PixelCreate) -> dict[str, Any]:
        """Add a pixel: one test event proves the access token before anything is saved."""
        return pixels.create_pixel(deps, access.tenant(), request)

    @router.get("/pixels", tags=["pixels"])
    def list_pixels(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        listing = keys.tenant_pixel_index(access.tenant())
        return list_page(
            deps.items,
            listing,
            limit=limit,
            cursor=cursor,
            view=pixels.pixel_view,
        ).as_json()

    @router.get("/pixels/<pixel_id>", tags=["pixels"])
    def show(pixel_id: PixelId) -> dict[str, Any]:
        return pixels.pixel_view(pixels.tenant_pixel(deps.items, access.tenant(), pixel_id))

    @router.patch("/pixels/<pixel_id>", tags=["pixels"])
    def update(pixel_id: PixelId, request: pixels.PixelUpdate) -> dict[str, Any]:
        """Change a pixel; a new access token is proven with a test event first."""
        return pixels.update_pixel(deps, access.tenant(), pixel_id, request)

    return router
