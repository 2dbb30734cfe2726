"""``/api/v1/incidents``: a tenant's operational alerts (docs/alerts.md).

``GET /api/v1/incidents`` lists the open incidents and those resolved within ``recent_days``
(default 7), newest first: each subject's latest incident. ``POST /api/v1/incidents/{id}/resolve``
resolves an open one by hand (the admin chats hear of it once); an incident already resolved is
answered as it is, nothing changed; an id that is not the tenant's is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from funil.alerts.incidents import Incidents, incident_view, open_and_recent
from funil.operator.errors import NotFound
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, new_router

IncidentId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The incident's id (32 hex digits)")]
RecentDays = Annotated[int, Query(ge=0, le=90, description="Also the incidents resolved in these last days (0-90)")]

LIST_DOC = (
    "`{items: [{id, kind, subject, state, detail, opened_at, resolved_at, resolved_by}]}`, newest first: "
    "the open incidents and those resolved within `recent_days`."
)
RESOLVE_DOC = "Resolve an open incident by hand (`resolved_by` = the key's id); one already resolved is unchanged."


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()
    incidents = deps.incidents or Incidents(deps.items, None, now=deps.now)

    @router.get("/incidents", tags=["incidents"], description=LIST_DOC)
    def list_incidents(recent_days: RecentDays = 7) -> dict[str, Any]:
        items = open_and_recent(incidents.of_tenant(access.tenant()), deps.now(), recent_days)
        return {"items": [incident_view(item) for item in items]}

    @router.post("/incidents/<incident_id>/resolve", tags=["incidents"], description=RESOLVE_DOC)
    def resolve(incident_id: IncidentId) -> dict[str, Any]:
        caller = access.caller()
        item = incidents.resolve_by_id(access.tenant(), incident_id, by=f"key:{caller.key_id}")
        if item is None:
            raise NotFound("no such incident")
        return incident_view(item)

    return router
