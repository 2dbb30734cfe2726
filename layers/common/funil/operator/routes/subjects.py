"""``/api/v1/subjects``: data-subject requests (LGPD): export or erase what a tenant stores about a person.

POST, so that an e-mail or phone never sits in a URL or an access log. Every request is logged
under the tenant (``GET /api/v1/subjects/requests``) with the kind of identifier, never its value.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from funil.operator import subjects
from funil.operator.paging import DEFAULT_LIMIT
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, Cursor, Limit, new_router


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.post("/subjects/export", tags=["subjects"])
    def export(request: subjects.SubjectRequest) -> dict[str, Any]:
        """Everything stored about one person (give exactly one identifier), as JSON; the request is logged."""
        tenant_id = access.tenant()
        subject = subjects.subject_of(request)
        return subjects.export_subject(deps.items, tenant_id, access.caller(), subject, deps.now())

    @router.post("/subjects/erase", tags=["subjects"])
    def erase(request: subjects.SubjectRequest) -> dict[str, Any]:
        """Delete the person's data; their payments stay for the books, anonymised. Repeating it is harmless."""
        tenant_id = access.tenant()
        subject = subjects.subject_of(request)
        return subjects.erase_subject(deps.items, tenant_id, access.caller(), subject, deps.now())

    @router.get("/subjects/requests", tags=["subjects"])
    def list_requests(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
        """The tenant's data-subject requests, newest first."""
        return subjects.list_requests(deps.items, access.tenant(), limit, cursor).as_json()

    return router
