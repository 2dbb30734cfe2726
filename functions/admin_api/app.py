"""/api/v1/…: the operator's API (docs/operator-api.md): tenants, keys, bots, gateways, pixels,
offers, links, data-subject requests, ad accounts, the funnel's stats, sale traces, dashboard
sign-in links, broadcasts, tracking domains, destinations, notifications and incidents, with its
OpenAPI document at /api/v1/openapi.json."""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

import logging
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import wiring
from funil.config import settings
from funil.observability import logger, metrics
from funil.operator.routes import build

logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry bot tokens

API = build(wiring.operator(settings()))  # each collection's routes on its first request


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return API(event, context)


cold_start.done()
