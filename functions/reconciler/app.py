"""Scheduled: pending payments oldest first → ask the gateway, same transition (funil.payments.reconcile)."""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx
from funil.adapters.dynamo import Table
from funil.adapters.kms import CachedKms
from funil.adapters.sqs import Queue
from funil.clock import utc_now
from funil.config import settings
from funil.payments.ports import Deps
from funil.payments.reconcile import reconcile

log = logging.getLogger()
log.setLevel(logging.INFO)

_settings = settings()
DEPS = Deps(
    items=Table(_settings.table_name),
    secrets=CachedKms(),
    http=httpx.Client(timeout=5.0),
    conversions=Queue(_settings.conversions_queue_url),
    deliveries=Queue(os.environ.get("DELIVERY_QUEUE_URL", "")),
    now=utc_now,
)


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    budget = float(os.environ.get("RECONCILER_BUDGET_SECONDS", "240") or 240)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = min(budget, max(1.0, remaining() / 1000 - 15))
    return {"counts": reconcile(DEPS, budget_seconds=budget)}
