"""``/api/v1/ad-accounts``: a tenant's Meta ad accounts (the token proven by reading the account)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil import keys
from funil.operator import ad_accounts
from funil.operator.paging import DEFAULT_LIMIT, list_page
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router

AdAccountId = Annotated[str, Path(pattern=ad_accounts.ACCOUNT_ID_PATTERN, description="act_<digits> or the digits")]
CREATE_DOC = (
    "Add a Meta ad account whose daily spend per ad is imported (06:30 Brasília, the last days again "
    "since Meta revises them). The token is proven by reading the account before anything is saved: "
    "refused or without access → 422 access_token; unknown or not active → 422 account_id; Meta down → 502."
)


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()
    marketing = ad_accounts.marketing_client(deps)

    @router.post("/ad-accounts", status_code=201, tags=["ad accounts"], description=CREATE_DOC)
    def create(request: ad_accounts.AdAccountCreate) -> dict[str, Any]:
        """Add an ad account: reading it with the token proves the token."""
        return ad_accounts.create_ad_account(deps, access.tenant(), request, marketing)

    @router.get("/ad-accounts", tags=["ad accounts"])
    def list_accounts(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        """The tenant's ad accounts, with each one's token status and last import."""
        listing = keys.tenant_ad_account_index(access.tenant())
        return list_page(deps.items, listing, limit=limit, cursor=cursor, view=ad_accounts.ad_account_view).as_json()

    @router.get("/ad-accounts/<account_id>", tags=["ad accounts"])
    def show(account_id: AdAccountId) -> dict[str, Any]:
        return ad_accounts.ad_account_view(ad_accounts.tenant_ad_account(deps.items, access.tenant(), account_id))

    @router.delete("/ad-accounts/<account_id>", tags=["ad accounts"])
    def delete(account_id: AdAccountId) -> dict[str, Any]:
        """Remove an ad account: its spend stops being imported; what was imported stays."""
        return ad_accounts.delete_ad_account(deps.items, access.tenant(), account_id)

    return router
