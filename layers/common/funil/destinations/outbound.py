"""The request each kind of destination gets, through its adapter (``funil.adapters.*``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from funil import clock
from funil.adapters import ga4, tiktok, utmify, webhooks
from funil.adapters.outgoing import Delivery, encode
from funil.destinations.models import DestinationKind

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True, slots=True)
class BaseUrls:
    """Where each service is (the real ones by default; the local stack's fakes otherwise)."""

    utmify: str = utmify.DEFAULT_BASE_URL
    tiktok: str = tiktok.DEFAULT_BASE_URL
    ga4: str = ga4.DEFAULT_BASE_URL


class Outbound:
    def __init__(
        self,
        client: Callable[[], httpx.Client],
        base_urls: BaseUrls,
        now: Callable[[], datetime],
        *,
        private_webhooks_ok: bool = False,
    ) -> None:
        self._client_factory = client
        self._refuse_webhook = None if private_webhooks_ok else webhooks.reaches_private_network
        self._client: httpx.Client | None = None
        self.base_urls = base_urls
        self.now = now

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def deliver(self, destination: Mapping[str, Any], secret: str, event_id: str, body: Mapping[str, Any]) -> Delivery:
        kind = DestinationKind(str(destination["kind"]))
        config: Mapping[str, Any] = destination.get("config") or {}
        if kind is DestinationKind.UTMIFY:
            return utmify.send_order(self.client, self.base_urls.utmify, secret, body)
        if kind is DestinationKind.TIKTOK:
            return tiktok.send_events(self.client, self.base_urls.tiktok, secret, body)
        if kind is DestinationKind.GA4:
            return ga4.send_events(self.client, self.base_urls.ga4, str(config["measurement_id"]), secret, body)
        return webhooks.send(
            self.client,
            str(config["url"]),
            secret,
            event_id=event_id,
            timestamp=clock.to_epoch_s(self.now()),
            body=encode(body),
            refuse=self._refuse_webhook,
        )
