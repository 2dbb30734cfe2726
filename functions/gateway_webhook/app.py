"""POST /pay/{gateway_id}/{secret} (API Pix: .../pix): a PIX gateway's webhook (funil.payments.entry)."""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import api, http, wiring
from funil.config import settings
from funil.observability import logger, metrics
from funil.payments.entry import handle_webhook

MAX_WEBHOOK_BYTES = 256 * 1024

DEPS = wiring.payments(settings())
app = api.resolver("GatewayWebhook")


@app.post("/pay/<gateway_id>/<secret>")
@app.post("/pay/<gateway_id>/<secret>/pix")  # API Pix PSPs append /pix to the registered URL
def webhook(gateway_id: str, secret: str) -> Response[str]:
    event = app.current_event.raw_event
    body = http.body_bytes(event, limit=MAX_WEBHOOK_BYTES)  # the raw bytes: signatures cover them
    if body is None:
        return api.json_answer(400, {"error": "body missing, too large or unreadable"})
    headers = {str(key).lower(): str(value) for key, value in (event.get("headers") or {}).items()}
    query = dict(http.query_pairs(event))  # Mercado Pago signs data.id as it appears in the query
    logger.append_keys(gateway_id=gateway_id)
    status, payload = handle_webhook(DEPS, gateway_id, secret, headers, body, query=query)
    return api.json_answer(status, payload)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


cold_start.done()
