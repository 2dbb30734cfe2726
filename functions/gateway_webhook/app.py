"""POST /pay/{gateway_id}/{secret} (API Pix: .../pix): a PIX gateway's webhook (funil.payments.entry)."""

from __future__ import annotations

import logging
from typing import Any

from funil import http, wiring
from funil.config import settings
from funil.payments.entry import handle_webhook

log = logging.getLogger()
log.setLevel(logging.INFO)

MAX_WEBHOOK_BYTES = 256 * 1024

DEPS = wiring.payments(settings())


def lambda_handler(event: dict[str, Any], context: object) -> http.Response:
    gateway_id = http.path_parameter(event, "gateway_id") or ""
    secret = http.path_parameter(event, "secret") or ""
    body = http.body_bytes(event, limit=MAX_WEBHOOK_BYTES)
    if body is None:
        return http.json_response(400, {"error": "body missing, too large or unreadable"})
    headers = {str(key).lower(): str(value) for key, value in (event.get("headers") or {}).items()}
    query = dict(http.query_pairs(event))  # Mercado Pago signs data.id as it appears in the query
    try:
        status, payload = handle_webhook(DEPS, gateway_id, secret, headers, body, query=query)
    except Exception:
        log.exception("gateway webhook failed", extra={"gateway_id": gateway_id})
        return http.json_response(500, {"error": "internal error, retry"})
    return http.json_response(status, payload)
