"""``/api/v1/login-links``: a one-time link that signs a person of the tenant into the dashboard (``/app``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from funil.operator import login_links
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, new_router

CREATE_DOC = (
    "A sign-in link to the dashboard for the key's tenant: `{url, expires_at}`. The URL carries a "
    "one-time token (256 random bits, stored only as its SHA-256): it signs one person in, once, "
    "within 15 minutes. Opening it shows a page with a button; only pressing it spends the link, so "
    "link previews do not."
)


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/login-links", status_code=201, tags=["login links"], description=CREATE_DOC)
    def create() -> dict[str, Any]:
        tenant_id = access.tenant()  # a tenant's key: the operator has no dashboard
        created = login_links.create_login_link(
            deps.items, tenant_id, deps.public_base_url, deps.now(), key_id=access.caller().key_id, via="api"
        )
        return created.as_json()

    return router
