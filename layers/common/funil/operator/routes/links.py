"""``/api/v1/links``: a tenant's tracking links, ``<PUBLIC_BASE_URL>/go/<slug>``."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil import keys
from funil.click.links import SLUG_RE
from funil.operator import links
from funil.operator.paging import DEFAULT_LIMIT, list_page
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router

Slug = Annotated[str, Path(pattern=SLUG_RE.pattern)]


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/links", status_code=201, tags=["links"], description=links.CREATE_DOC)
    def create(request: links.LinkCreate) -> dict[str, Any]:
        return links.create_link(deps.items, access.tenant(), request, deps.public_base_url)

    @router.get("/links", tags=["links"])
    def list_links(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        listing = keys.tenant_link_index(access.tenant())
        return list_page(
            deps.items,
            listing,
            limit=limit,
            cursor=cursor,
            view=links.viewer(deps.public_base_url),
        ).as_json()

    @router.get("/links/<slug>", tags=["links"])
    def show(slug: Slug) -> dict[str, Any]:
        return links.get_link(deps.items, access.tenant(), slug, deps.public_base_url)

    @router.patch("/links/<slug>", tags=["links"], description=links.PATCH_DOC)
    def update(slug: Slug, request: links.LinkUpdate) -> dict[str, Any]:
        return links.update_link(deps.items, access.tenant(), slug, request, deps.public_base_url)

    return router
