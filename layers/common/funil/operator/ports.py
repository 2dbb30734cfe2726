"""What the operator's logic is given: the table, KMS, and the outside world it checks input against."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from funil.ports import Items, Pages, Secrets

if TYPE_CHECKING:
    from funil.adapters.dynamo import Write
    from funil.adapters.meta_graph import GraphClient
    from funil.adapters.telegram import TelegramClient
    from funil.alerts.incidents import Incidents
    from funil.domains.manage import DomainServices
    from funil.payments.ports import Deps as PaymentDeps


class Store(Items, Pages, Protocol):
    """The application table with what configuration needs beyond the hot paths: pages, deletes, transactions."""

    def delete(self, pk: str, sk: str, condition: str | None = None) -> None: ...

    def transact_write(self, writes: Sequence[Write]) -> None: ...


@dataclass
class OperatorDeps:
    items: Store
    secrets: Secrets
    key_id: str  # the KMS key new secrets are encrypted with
    telegram: Callable[[str], TelegramClient]  # a bot's Bot API client, by token
    payments: PaymentDeps  # gateway adapters and our webhook URL for them
    graph: GraphClient  # Meta's Conversions API (a pixel's test event)
    public_base_url: str  # the stack's public origin: webhook URLs, tracking links
    now: Callable[[], datetime]
    domains: DomainServices | None = None  # ACM and the API's custom domains (None: no HTTP_API_ID)
    incidents: Incidents | None = None  # operational alerts (docs/alerts.md); None: no notices are sent
