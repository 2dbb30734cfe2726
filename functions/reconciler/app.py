"""Scheduled: pending payments oldest first → ask the gateway, same transition (funil.payments.reconcile)."""

from __future__ import annotations

import logging
from typing import Any

from funil import wiring
from funil.config import settings
from funil.payments.reconcile import reconcile

log = logging.getLogger()
log.setLevel(logging.INFO)

SETTINGS = settings()
DEPS = wiring.payments(SETTINGS)


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    budget = SETTINGS.reconciler_budget_seconds
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = min(budget, max(1.0, remaining() / 1000 - 15))
    return {"counts": reconcile(DEPS, budget_seconds=budget)}
