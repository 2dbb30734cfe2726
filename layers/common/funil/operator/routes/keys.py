"""``/api/v1/keys``: a tenant's API keys (with a tenant's key), or the operator's (with the operator's)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil.operator import api_keys
from funil.operator.paging import DEFAULT_LIMIT, page_by_id
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router

KeyId = Annotated[str, Path(pattern=r"^key_[0-9a-f]{16}$")]


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/keys", status_code=201, tags=["keys"])
    def create(request: api_keys.KeyCreate) -> dict[str, Any]:
        """A new key for the caller's tenant (or a new operator key): its plaintext is shown only here."""
        caller = access.caller()
        return api_keys.create_key(deps.items, caller.tenant_id, request.name, deps.now).as_json()

    @router.get("/keys", tags=["keys"])
    def list_keys(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        found = api_keys.own_keys(deps.items, access.caller())
        return page_by_id(found, limit=limit, cursor=cursor, view=api_keys.key_view).as_json()

    @router.delete("/keys/<key_id>", tags=["keys"])
    def revoke(key_id: KeyId) -> dict[str, Any]:
        """Revoke a key: it stops working at once."""
        return api_keys.revoke_key(deps.items, access.caller(), key_id, deps.now())

    return router
