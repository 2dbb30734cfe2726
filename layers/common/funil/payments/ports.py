"""The payments core's collaborators: the table, the secrets, the HTTP client, the queues, the clock.

The webhook, the reconciler, the bot's checkout and the local sandbox get them from
``funil.wiring``; tests build them around moto and the gateways' fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from funil.clock import Clock, utc_now
from funil.payments.gateways import build_adapter
from funil.payments.gateways.base import GatewayAdapter, GatewayConfig
from funil.payments.storage import Payments, load_config
from funil.ports import Items, MessageQueue, Secrets

AdapterFactory = Callable[..., GatewayAdapter]


@dataclass
class Deps:
    items: Items
    secrets: Secrets
    http: httpx.Client
    conversions: MessageQueue
    deliveries: MessageQueue
    now: Clock = utc_now
    build: AdapterFactory = build_adapter
    _adapters: dict[str, GatewayAdapter] = field(default_factory=dict, repr=False)

    @property
    def payments(self) -> Payments:
        return Payments(self.items)

    def adapter(self, gateway_item: dict[str, Any]) -> GatewayAdapter:
        """The gateway's adapter, built once per container (credentials decrypted in memory)."""
        gateway_id = str(gateway_item["gateway_id"])
        stamp = f"{gateway_id}#{gateway_item.get('credentials_ciphertext', '')}#{gateway_item.get('base_url', '')}"
        if stamp not in self._adapters:
            config: GatewayConfig = load_config(gateway_item, self.secrets)
            self._adapters[stamp] = self.build(config, self.http, now=self.now)
        return self._adapters[stamp]
