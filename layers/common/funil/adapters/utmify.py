"""UTMify's orders API: ``POST /api-credentials/orders`` with the ``x-api-token`` header.

One request per order state (waiting_payment, paid, refunded); UTMify updates the order named by
``orderId``. Answers are classified by status (``funil.adapters.outgoing``).
Docs: https://docs.utmify.com.br/send-orders
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from funil.adapters.outgoing import Delivery, classify, encode, post

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://api.utmify.com.br"
ORDERS_PATH = "/api-credentials/orders"


def send_order(client: httpx.Client, base_url: str, api_token: str, order: Mapping[str, Any]) -> Delivery:
    answer = post(client, base_url.rstrip("/") + ORDERS_PATH, encode(order), {"x-api-token": api_token})
    return classify(answer)
