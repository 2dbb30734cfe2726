"""A fake of UTMify's orders API: ``POST /api-credentials/orders`` (https://docs.utmify.com.br/send-orders).

Checks what UTMify documents: the ``x-api-token`` header (one of ``api_tokens``, else 401), every
body field and its type, ``status`` and ``paymentMethod`` among the documented values, dates as
``YYYY-MM-DD HH:MM:SS`` (UTC), ``approvedDate`` set for a paid order, ``refundedAt`` for a refunded
one, products with integer cents, the commission's three integers, the tracking parameters' keys.
A rule broken answers 400 with the reason; an accepted order is recorded (``orders()``).
"""

from __future__ import annotations

import re
from typing import Any

from local.fakes.recording import RecordingFake, Rejected, require

PATH = "/api-credentials/orders"
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
STATUSES = frozenset({"waiting_payment", "paid", "refused", "refunded", "chargedback"})
METHODS = frozenset({"credit_card", "boleto", "pix", "paypal", "free_price"})
TRACKING = ("src", "sck", "utm_source", "utm_campaign", "utm_medium", "utm_content", "utm_term")
COMMISSION = ("totalPriceInCents", "gatewayFeeInCents", "userCommissionInCents")


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


class FakeUtmify(RecordingFake):
    def __init__(self, api_tokens: set[str]) -> None:
        super().__init__()
        self.api_tokens = api_tokens

    def orders(self) -> list[dict[str, Any]]:
        return list(self.bodies())

    def check(
        self, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes, body: Any
    ) -> tuple[int, Any]:
        require(path == PATH, 404, {"message": "Not Found"})
        require(headers.get("x-api-token") in self.api_tokens, 401, {"message": "API_CREDENTIAL_NOT_FOUND"})
        require(isinstance(body, dict), 400, {"message": "body must be an object"})
        problems = _problems(body)
        if problems:
            raise Rejected(400, {"message": "; ".join(problems)})
        return 200, {"OK": True}


def _problems(order: dict[str, Any]) -> list[str]:
    problems = []
    for name in ("orderId", "platform"):
        if not isinstance(order.get(name), str) or not order.get(name):
            problems.append(f"{name} must be a non-empty string")
    if order.get("paymentMethod") not in METHODS:
        problems.append("paymentMethod invalid")
    if order.get("status") not in STATUSES:
        problems.append("status invalid")
    if not isinstance(order.get("createdAt"), str) or not DATE_RE.match(order["createdAt"]):
        problems.append("createdAt must be YYYY-MM-DD HH:MM:SS")
    for name in ("approvedDate", "refundedAt"):
        value = order.get(name, "missing")
        if value is not None and not (isinstance(value, str) and DATE_RE.match(value)):
            problems.append(f"{name} must be YYYY-MM-DD HH:MM:SS or null")
    if order.get("status") == "paid" and not order.get("approvedDate"):
        problems.append("a paid order needs approvedDate")
    if order.get("status") == "refunded" and not order.get("refundedAt"):
        problems.append("a refunded order needs refundedAt")
    customer = order.get("customer")
    if not isinstance(customer, dict) or not isinstance(customer.get("name"), str):
        problems.append("customer.name must be a string")
    elif not isinstance(customer.get("email"), str) or not all(
        _text_or_none(customer.get(name, "")) for name in ("phone", "document")
    ):
        problems.append("customer.email must be a string; phone and document strings or null")
    products = order.get("products")
    if not isinstance(products, list) or not products:
        problems.append("products must be a non-empty list")
    else:
        for product in products:
            if not (
                isinstance(product, dict)
                and isinstance(product.get("id"), str)
                and isinstance(product.get("name"), str)
                and _text_or_none(product.get("planId", ""))
                and _text_or_none(product.get("planName", ""))
                and _int(product.get("quantity"))
                and _int(product.get("priceInCents"))
            ):
                problems.append("each product needs id, name, planId, planName, quantity, priceInCents")
                break
    tracking = order.get("trackingParameters")
    if (
        not isinstance(tracking, dict)
        or set(tracking) != set(TRACKING)
        or not all(_text_or_none(value) for value in tracking.values())
    ):
        problems.append(f"trackingParameters must hold exactly {TRACKING}, strings or null")
    commission = order.get("commission")
    if not isinstance(commission, dict) or not all(_int(commission.get(name)) for name in COMMISSION):
        problems.append(f"commission needs integer {COMMISSION}")
    if "isTest" in order and not isinstance(order["isTest"], bool):
        problems.append("isTest must be a boolean")
    return problems
