"""``/api/v1/domains``: a tenant's own tracking domains (docs/domains.md)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from funil import keys
from funil.domains import manage
from funil.operator.paging import DEFAULT_LIMIT, list_page
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router

Host = Annotated[str, Path(min_length=1, max_length=300, description="The domain's host, e.g. go.example.com")]


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/domains", status_code=201, tags=["domains"])
    def create(request: manage.DomainCreate) -> dict[str, Any]:
        """Add a domain: ACM is asked for its certificate; the answer lists the DNS records to create."""
        return manage.add_domain(deps, access.tenant(), request)

    @router.get("/domains", tags=["domains"])
    def list_domains(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        listing = keys.tenant_domain_index(access.tenant())
        return list_page(deps.items, listing, limit=limit, cursor=cursor, view=manage.domain_view).as_json()

    @router.get("/domains/<host>", tags=["domains"])
    def show(host: Host) -> dict[str, Any]:
        """The domain; a pending one is checked again and becomes active once its certificate is issued."""
        return manage.show_domain(deps, access.tenant(), host)

    @router.post("/domains/<host>/flag", tags=["domains"])
    def flag(host: Host) -> dict[str, Any]:
        """Take an active domain out of service: its links move to the tenant's oldest active domain."""
        return manage.flag_domain(deps, access.tenant(), host)

    @router.post("/domains/<host>/unflag", tags=["domains"])
    def unflag(host: Host) -> dict[str, Any]:
        """Put a flagged domain back in service."""
        return manage.unflag_domain(deps, access.tenant(), host)

    @router.delete("/domains/<host>", tags=["domains"])
    def remove(host: Host) -> dict[str, Any]:
        """Stop serving the domain and delete its custom domain, certificate and record."""
        return manage.remove_domain(deps, access.tenant(), host)

    return router
