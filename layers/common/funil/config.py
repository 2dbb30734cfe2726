"""Settings read once per container from the environment (set by template.yaml).

Plain dataclass on purpose: this module is on the redirect's cold path, where pydantic's import
cost would break the budget in docs/architecture.md §8.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    conversions_queue_url: str
    ip_hash_secret: bytes
    trusted_proxy_hops: int
    link_cache_seconds: float
    click_ttl_margin_days: int


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip().lstrip("-").isdigit() else default


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        table_name=os.environ.get("TABLE_NAME", "funil"),
        conversions_queue_url=os.environ.get("CONVERSIONS_QUEUE_URL", ""),
        ip_hash_secret=os.environ.get("IP_HASH_SECRET", "").encode(),
        trusted_proxy_hops=max(0, _int("TRUSTED_PROXY_HOPS", 0)),
        link_cache_seconds=float(_int("LINK_CACHE_SECONDS", 30)),
        click_ttl_margin_days=max(0, _int("CLICK_TTL_MARGIN_DAYS", 2)),
    )
