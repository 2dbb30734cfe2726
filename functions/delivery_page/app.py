"""GET /d/{token}: the buyer's delivery page (funil.delivery.page).

A function of its own rather than a route on the delivery consumer: this public route only reads
(GetItem and the delivery-token index), so it gets neither kms:Decrypt (bot tokens) nor any write,
runs in 128 MB, and a flood of page views cannot eat the consumer's concurrency.
"""

from __future__ import annotations

import logging
from typing import Any

from funil import http
from funil.adapters.dynamo import Table
from funil.config import settings
from funil.delivery.page import PageDeps, serve_delivery_page
from funil.payments.storage import Payments

log = logging.getLogger()
log.setLevel(logging.INFO)

_table = Table(settings().table_name)
# Access pattern 16: gsi2pk = DELIVERY#<token> (set when the payment is paid).
DEPS = PageDeps(items=_table, payment_by_token=Payments(_table).by_delivery_token)


def lambda_handler(event: dict[str, Any], context: object) -> http.Response:
    try:
        return serve_delivery_page(event, DEPS)
    except Exception:
        log.exception("delivery page failed")
        return http.response(500, "Erro interno. Tente novamente.")
