"""Gateway adapters by kind: ``build_adapter(config, http)`` (one module per gateway)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from funil.clock import Clock, utc_now
from funil.payments.gateways.base import GatewayAdapter, GatewayConfig, GatewayError

if TYPE_CHECKING:
    import httpx

# kind → "module:Class", imported on first use so a function only loads the gateways it talks to.
_MODULES: dict[str, str] = {
    "sandbox": "funil.payments.gateways.sandbox:SandboxAdapter",
    "apipix": "funil.payments.gateways.apipix:ApiPixAdapter",
    "mercadopago": "funil.payments.gateways.mercadopago:MercadoPagoAdapter",
    "pushinpay": "funil.payments.gateways.pushinpay:PushinPayAdapter",
    "woovi": "funil.payments.gateways.woovi:WooviAdapter",
}

ADAPTERS: dict[str, type] = {}


def adapter_class(kind: str) -> type:
    if kind not in ADAPTERS:
        target = _MODULES.get(kind)
        if target is None:
            raise GatewayError(f"unknown gateway kind {kind!r}")
        module_name, class_name = target.split(":")
        ADAPTERS[kind] = getattr(importlib.import_module(module_name), class_name)
    return ADAPTERS[kind]


def build_adapter(config: GatewayConfig, http: httpx.Client, now: Clock = utc_now) -> GatewayAdapter:
    cls: Any = adapter_class(config.kind)
    adapter: GatewayAdapter = cls(config, http, now=now)
    return adapter
