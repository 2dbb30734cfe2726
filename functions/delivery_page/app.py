"""GET /d/{token}: the buyer's delivery page (funil.delivery.page).

A function of its own rather than a route on the delivery consumer: this public route only reads
(GetItem and the delivery-token index), so it gets neither kms:Decrypt (bot tokens) nor any write,
runs in 128 MB, and a flood of page views cannot eat the consumer's concurrency.
"""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import api, wiring
from funil.config import settings
from funil.delivery.page import serve_delivery_page
from funil.observability import logger, metrics

DEPS = wiring.delivery_page(settings())
app = api.resolver("DeliveryPage")


@app.get("/d/<token>")
def page(token: str) -> Response[str]:
    return api.from_proxy(serve_delivery_page(app.current_event.raw_event, DEPS))


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


cold_start.done()
