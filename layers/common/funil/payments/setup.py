"""Telling a gateway where our webhook is, once per account (docs/gateways.md "Webhook URL").

Gateways learn our URL ``<PUBLIC_BASE_URL>/pay/<gateway_id>/<URL secret>`` in one of two ways
(``Capabilities.webhook_registration``): with each charge (PushinPay ``webhook_url``, Mercado Pago
``notification_url``: ``funil.payments.routing`` sets it) or once for the account (API Pix ``PUT
/webhook/{chave}``, Woovi's webhook API, the sandbox's ``PUT /v1/webhook``). ``register_webhook``
does the second, and is safe to call again: the operator's API calls it whenever a gateway is added
or its credentials change (the local stack's demo gateway too).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from funil.payments.gateways.base import GatewayError, WebhookRegistration
from funil.payments.ports import Deps

log = logging.getLogger(__name__)


class Registration(StrEnum):
    REGISTERED = "registered"  # the gateway now posts to our URL
    PER_CHARGE = "per_charge"  # nothing to do: every charge carries the URL


def register_webhook(gateway: dict[str, Any], deps: Deps) -> Registration:
    """Point the gateway's account-level webhook at our route (idempotent).

    Raises ``GatewayError`` when the URL cannot be made (no ``PUBLIC_BASE_URL``, no stored URL
    secret) or the gateway refuses it; a transient one can simply be retried.
    """
    adapter = deps.adapter(gateway)
    if adapter.capabilities.webhook_registration is WebhookRegistration.PER_CHARGE:
        return Registration.PER_CHARGE
    url = deps.webhook_url(gateway)
    if url is None:
        raise GatewayError("no webhook URL: PUBLIC_BASE_URL or the gateway's URL secret is missing", transient=False)
    adapter.register_webhook(url)
    log.info("gateway webhook registered", extra={"gateway_id": gateway.get("gateway_id")})  # never the URL
    return Registration.REGISTERED
