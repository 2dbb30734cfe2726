"""The payments core's collaborators: the table, the secrets, the HTTP client, the queues, the clock.

The webhook, the reconciler, the bot's checkout and the local sandbox get them from
``funil.wiring``; tests build them around moto and the gateways' fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from funil.alerts.incidents import NO_ALERTS, AlertSink
from funil.clock import Clock, utc_now
from funil.payments.gateways import build_adapter
from funil.payments.gateways.base import GatewayAdapter, GatewayConfig
from funil.payments.storage import Payments, load_config, webhook_url
from funil.ports import Items, MessageQueue, Secrets

if TYPE_CHECKING:
    import httpx

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
    public_base_url: str = ""  # our webhook routes' origin (PUBLIC_BASE_URL); empty: gateways are not told
    alerts: AlertSink = NO_ALERTS  # a gateway failing or failed over, money on a voided attempt (docs/alerts.md)
    _configs: dict[str, GatewayConfig] = field(default_factory=dict, repr=False)
    _adapters: dict[str, GatewayAdapter] = field(default_factory=dict, repr=False)

    @property
    def payments(self) -> Payments:
        return Payments(self.items)

    def _config(self, gateway_item: dict[str, Any]) -> tuple[str, GatewayConfig]:
        gateway_id = str(gateway_item["gateway_id"])
        stamp = f"{gateway_id}#{gateway_item.get('credentials_ciphertext', '')}#{gateway_item.get('base_url', '')}"
        if stamp not in self._configs:
            self._configs[stamp] = load_config(gateway_item, self.secrets)
        return stamp, self._configs[stamp]

    def adapter(self, gateway_item: dict[str, Any]) -> GatewayAdapter:
        """The gateway's adapter, built once per container (credentials decrypted in memory)."""
        stamp, config = self._config(gateway_item)
        if stamp not in self._adapters:
            self._adapters[stamp] = self.build(config, self.http, now=self.now)
        return self._adapters[stamp]

    def webhook_url(self, gateway_item: dict[str, Any]) -> str | None:
        """Our webhook route for the gateway (it holds the URL secret: never log it); None when unknown."""
        return webhook_url(self.public_base_url, self._config(gateway_item)[1])
