"""Settings read once per container from the environment (set by template.yaml), in one place.

Every function reads the same ``Settings``; nothing else in ``funil`` or ``functions`` reads the
environment (``funil.wiring`` hands each collaborator the values it needs). Plain dataclass on
purpose: this module is on the redirect's cold path, where pydantic's import cost would break the
budget in docs/architecture.md §8.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_TELEGRAM_API_BASE_URL = "https://api.telegram.org"
DEFAULT_META_GRAPH_BASE_URL = "https://graph.facebook.com"
DEFAULT_META_GRAPH_VERSION = "v26.0"


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    conversions_queue_url: str
    conversions_dlq_url: str
    delivery_queue_url: str
    ip_hash_secret_arn: str  # the Secrets Manager secret keying IP HMACs (its ARN; the key is read at run time)
    trusted_proxy_hops: int
    link_cache_seconds: float
    click_ttl_margin_days: int
    public_base_url: str  # the bridge and delivery pages' origin (event_source_url), no trailing slash
    bot_cache_seconds: float
    telegram_api_base_url: str
    meta_graph_base_url: str
    meta_graph_version: str
    capi_claim_lease_seconds: int
    delivery_claim_lease_seconds: int
    reconciler_budget_seconds: float
    health_budget_seconds: float
    secrets_key_id: str  # the KMS key the operator's API encrypts new secrets with
    export_bucket: str  # the daily export's S3 bucket (DailyExportFunction only)
    broadcast_queue_url: str = ""  # the broadcasts' queue (TimersFunction starts them, BroadcastsFunction resumes)
    http_api_id: str = ""  # the HttpApi sellers' domains are mapped to (the operator's API only)
    # Copies of the sale events for the other consumers (funil.adapters.sqs.FanOutQueue): the
    # destinations beyond Meta, and the seller's notifications. Empty: no copy is sent.
    destinations_queue_url: str = ""
    notifications_queue_url: str = ""
    # DestinationsFunction: its dead-letter queue, and where UTMify, TikTok and GA4 are (the local
    # stack points them at its fakes; funil.adapters.* hold the real ones as defaults).
    destinations_dlq_url: str = ""
    utmify_base_url: str = ""
    tiktok_base_url: str = ""
    ga4_base_url: str = ""
    # Outgoing webhooks to hosts that resolve to private addresses: only the local stack, whose
    # receiver is on 127.0.0.1 (deployed, a seller's URL must never reach our own network).
    webhooks_private_ok: bool = False


ENVIRONMENT = (
    "TABLE_NAME",
    "CONVERSIONS_QUEUE_URL",
    "CONVERSIONS_DLQ_URL",
    "DELIVERY_QUEUE_URL",
    "IP_HASH_SECRET_ARN",
    "TRUSTED_PROXY_HOPS",
    "LINK_CACHE_SECONDS",
    "CLICK_TTL_MARGIN_DAYS",
    "PUBLIC_BASE_URL",
    "BOT_CACHE_SECONDS",
    "TELEGRAM_API_BASE_URL",
    "META_GRAPH_BASE_URL",
    "META_GRAPH_VERSION",
    "CAPI_CLAIM_LEASE_SECONDS",
    "DELIVERY_CLAIM_LEASE_SECONDS",
    "RECONCILER_BUDGET_SECONDS",
    "HEALTH_BUDGET_SECONDS",
    "SECRETS_KEY_ID",
    "EXPORT_BUCKET",
    "BROADCAST_QUEUE_URL",
    "HTTP_API_ID",
    "DESTINATIONS_QUEUE_URL",
    "NOTIFICATIONS_QUEUE_URL",
    "DESTINATIONS_DLQ_URL",
    "UTMIFY_BASE_URL",
    "TIKTOK_BASE_URL",
    "GA4_BASE_URL",
    "WEBHOOKS_PRIVATE_OK",
)


def settings() -> Settings:
    """The settings for the environment as it is now (read once per distinct environment)."""
    return _settings(tuple(os.environ.get(name) for name in ENVIRONMENT))


def _int(env: dict[str, str | None], name: str, default: int) -> int:
    raw = env.get(name) or ""
    digits = raw.strip().lstrip("-")
    return int(raw) if digits.isascii() and digits.isdigit() else default


def _text(env: dict[str, str | None], name: str, default: str = "") -> str:
    return env.get(name) or default


@lru_cache(maxsize=4)
def _settings(values: tuple[str | None, ...]) -> Settings:
    env = dict(zip(ENVIRONMENT, values, strict=True))
    return Settings(
        table_name=_text(env, "TABLE_NAME", "funil"),
        conversions_queue_url=_text(env, "CONVERSIONS_QUEUE_URL"),
        conversions_dlq_url=_text(env, "CONVERSIONS_DLQ_URL"),
        delivery_queue_url=_text(env, "DELIVERY_QUEUE_URL"),
        ip_hash_secret_arn=_text(env, "IP_HASH_SECRET_ARN"),
        trusted_proxy_hops=max(0, _int(env, "TRUSTED_PROXY_HOPS", 0)),
        link_cache_seconds=float(_int(env, "LINK_CACHE_SECONDS", 30)),
        click_ttl_margin_days=max(0, _int(env, "CLICK_TTL_MARGIN_DAYS", 2)),
        public_base_url=_text(env, "PUBLIC_BASE_URL").rstrip("/"),
        bot_cache_seconds=float(_int(env, "BOT_CACHE_SECONDS", 30)),
        telegram_api_base_url=_text(env, "TELEGRAM_API_BASE_URL", DEFAULT_TELEGRAM_API_BASE_URL).rstrip("/"),
        meta_graph_base_url=_text(env, "META_GRAPH_BASE_URL", DEFAULT_META_GRAPH_BASE_URL).rstrip("/"),
        meta_graph_version=_text(env, "META_GRAPH_VERSION", DEFAULT_META_GRAPH_VERSION),
        capi_claim_lease_seconds=max(1, _int(env, "CAPI_CLAIM_LEASE_SECONDS", 90)),
        delivery_claim_lease_seconds=max(1, _int(env, "DELIVERY_CLAIM_LEASE_SECONDS", 60)),
        reconciler_budget_seconds=float(max(1, _int(env, "RECONCILER_BUDGET_SECONDS", 240))),
        health_budget_seconds=float(max(1, _int(env, "HEALTH_BUDGET_SECONDS", 240))),
        secrets_key_id=_text(env, "SECRETS_KEY_ID"),
        export_bucket=_text(env, "EXPORT_BUCKET"),
        broadcast_queue_url=_text(env, "BROADCAST_QUEUE_URL"),
        http_api_id=_text(env, "HTTP_API_ID"),
        destinations_queue_url=_text(env, "DESTINATIONS_QUEUE_URL"),
        notifications_queue_url=_text(env, "NOTIFICATIONS_QUEUE_URL"),
        destinations_dlq_url=_text(env, "DESTINATIONS_DLQ_URL"),
        utmify_base_url=_text(env, "UTMIFY_BASE_URL").rstrip("/"),
        tiktok_base_url=_text(env, "TIKTOK_BASE_URL").rstrip("/"),
        ga4_base_url=_text(env, "GA4_BASE_URL").rstrip("/"),
        webhooks_private_ok=_text(env, "WEBHOOKS_PRIVATE_OK") == "true",
    )
