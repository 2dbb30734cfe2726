"""Payments and gateways as stored (docs/data-model.md patterns 13–17, 19, 21).

Lookups of payments live in ``records`` (re-exported here), their state changes in ``transitions``.
A tenant's gateways are
``GATEWAY#<gateway>`` / ``GATEWAY`` items: credentials (API keys, client secrets, the sandbox's
webhook signing secret) are one JSON object encrypted with KMS (bound to the gateway's item and
``credentials_ciphertext`` by ``funil.encryption``), decrypted in memory only into
``GatewayConfig.credentials`` (never logged, not in repr). The secret of the webhook URL
``/pay/{gateway_id}/{secret}`` is compared by its SHA-256 (``url_secret_sha256``, all the webhook
route reads); the secret itself travels inside the encrypted credentials (``webhook_url_secret``),
read back only to give the gateway our URL (``webhook_url``: on each charge, or at setup).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from funil import encryption
from funil.payments.gateways.base import GatewayConfig
from funil.payments.records import Payments as Payments  # noqa: PLC0414 - re-exported: its importers predate the split
from funil.ports import Secrets

__all__ = [
    "URL_SECRET_CREDENTIAL",
    "Payments",
    "load_config",
    "secret_hash",
    "url_secret_matches",
    "webhook_url",
]


# -- gateways ---------------------------------------------------------------------------------------

URL_SECRET_CREDENTIAL = "webhook_url_secret"  # noqa: S105 - the credentials' key, not a secret


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


_DUMMY_HASH = secret_hash("no such gateway")


def url_secret_matches(item: dict[str, Any] | None, secret: str) -> bool:
    """Constant-time comparison of the URL secret's hash (also spent when the gateway is unknown)."""
    stored = str((item or {}).get("url_secret_sha256") or _DUMMY_HASH)
    return hmac.compare_digest(stored, secret_hash(secret)) and item is not None


def load_config(item: dict[str, Any], secrets: Secrets) -> GatewayConfig:
    ciphertext = item.get(encryption.GATEWAY_CREDENTIALS)
    credentials: dict[str, str] = {}
    if ciphertext:
        credentials = json.loads(encryption.gateway_credentials(secrets, str(item["gateway_id"]), str(ciphertext)))
    url_secret = credentials.pop(URL_SECRET_CREDENTIAL, None)
    return GatewayConfig(
        gateway_id=str(item["gateway_id"]),
        tenant_id=str(item["tenant_id"]),
        kind=str(item["kind"]),
        base_url=str(item.get("base_url") or ""),
        credentials=credentials,
        options=dict(item.get("options") or {}),
        webhook_url_secret=url_secret,
    )


def webhook_url(public_base_url: str, config: GatewayConfig) -> str | None:
    """Our webhook route for this gateway, ``<public base URL>/pay/<gateway_id>/<URL secret>``; None
    when either part is unknown (no ``PUBLIC_BASE_URL``, or a gateway stored before its secret was kept)."""
    secret = config.webhook_url_secret
    if not public_base_url or not secret:
        return None
    return f"{public_base_url.rstrip('/')}/pay/{config.gateway_id}/{secret}"
