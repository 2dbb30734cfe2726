"""`/api/v1/subjects`: (being built)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from funil.operator.ports import OperatorDeps
from funil.operator.routes import Access, new_router


def routes(deps: OperatorDeps, access: Access) -> Router:
    return new_router()
