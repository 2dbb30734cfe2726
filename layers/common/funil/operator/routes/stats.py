"""``/api/v1/stats``: the funnel's numbers by day or by any dimension (funil.analytics.stats)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import ValidationError

from funil.analytics.stats import BY, MAX_DAYS, StatsQuery, read_stats
from funil.analytics.storage import TooMuchToRead
from funil.operator.errors import FieldProblem, Invalid
from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, new_router
from funil.ports import Items

STATS_DOC = f"""The funnel from `from` to `to` (yyyy-mm-dd, Brasília days, both included, at most {MAX_DAYS}
days), one row per value of `by` (`day`, the default, gives every day of the range), with
`touch=last` (default) or `first` for the click a checkout or sale counts under. Any other
parameter named like a dimension filters on it (`device=mobile`). Dimensions: {", ".join(BY)}.
Rows: clicks, suspect_clicks, leads, suspect_leads, checkouts, sales, revenue_cents, refunds_cents, stars_sales,
stars, spend_cents and impressions (where spend is known: the ad dimensions and days), cpa_cents,
roas, lead_rate, checkout_rate, sale_rate, click_to_sale; `totals` sums the range; `latency` gives
the click → lead and lead → sale times as buckets."""

PARAMETER = {"start": "from", "end": "to"}


def query_from(params: dict[str, str] | None) -> StatsQuery:
    try:
        return StatsQuery.from_params(params or {})
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            location = [str(part) for part in problem.get("loc", ())]
            name = PARAMETER.get(location[0], location[0]) if location else "query"
            if name == "filters" and len(location) > 1:
                name = location[1]
            problems.append(FieldProblem(name, str(problem.get("msg") or "invalid")))
        raise Invalid("invalid query", problems) from None


def stats_answer(items: Items, tenant_id: str, params: dict[str, str] | None) -> dict[str, Any]:
    """The stats of a query string, or Invalid naming what is wrong (a range too long to read too)."""
    query = query_from(params)
    try:
        return read_stats(items, tenant_id, query).to_json()
    except TooMuchToRead:
        raise Invalid.field("from", "too many days of counters to read at once: ask for a shorter range") from None


def routes(deps: OperatorDeps, access: Access) -> Router:
    router = new_router()

    @router.get("/stats", tags=["analytics"], description=STATS_DOC)
    def stats() -> dict[str, Any]:
        return stats_answer(deps.items, access.tenant(), router.current_event.query_string_parameters)

    return router
