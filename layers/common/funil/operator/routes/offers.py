"""``/api/v1/offers``: a tenant's offers, each sold by several of its bots (one copy per bot)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil.ids import OFFER_ID
from funil.operator import offers
from funil.operator.paging import DEFAULT_LIMIT
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router

OfferId = Annotated[str, Path(pattern=OFFER_ID)]


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/offers", status_code=201, tags=["offers"], description=offers.CREATE_DOC)
    def create(request: offers.OfferCreate) -> dict[str, Any]:
        return offers.create_offer(deps.items, access.tenant(), request)

    @router.get("/offers", tags=["offers"], description=offers.LIST_DOC)
    def list_offers(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        return offers.list_offers(deps.items, access.tenant(), limit=limit, cursor=cursor).as_json()

    @router.get("/offers/<offer_id>", tags=["offers"])
    def show(offer_id: OfferId) -> dict[str, Any]:
        return offers.get_offer(deps.items, access.tenant(), offer_id)

    @router.patch("/offers/<offer_id>", tags=["offers"], description=offers.PATCH_DOC)
    def update(offer_id: OfferId, request: offers.OfferUpdate) -> dict[str, Any]:
        return offers.update_offer(deps.items, access.tenant(), offer_id, request)

    return router
