"""GET /d/{token}: the buyer's delivery page (funil.delivery.page).

A function of its own rather than a route on the delivery consumer: this public route only reads
(GetItem and the delivery-token index), so it gets neither kms:Decrypt (bot tokens) nor any write,
runs in 128 MB, and a flood of page views cannot eat the consumer's concurrency.
"""

from __future__ import annotations

import logging
from typing import Any

from funil import http, wiring
from funil.config import settings
from funil.delivery.page import serve_delivery_page

log = logging.getLogger()
log.setLevel(logging.INFO)

DEPS = wiring.delivery_page(settings())


def lambda_handler(event: dict[str, Any], context: object) -> http.Response:
    try:
        return serve_delivery_page(event, DEPS)
    except Exception:
        log.exception("delivery page failed")
        return http.response(500, "Erro interno. Tente novamente.")
