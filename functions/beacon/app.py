"""POST /go/{slug}/c: the bridge page's beacon (browser _fbp/_fbc, server PageView)."""

from __future__ import annotations

import logging
from typing import Any

from funil import http
from funil.adapters.dynamo import Table
from funil.adapters.sqs import Queue
from funil.click.beacon import BeaconDeps, accept_beacon
from funil.click.storage import Clicks, Links
from funil.clock import utc_now
from funil.config import settings

log = logging.getLogger()
log.setLevel(logging.INFO)

_settings = settings()
_table = Table(_settings.table_name)
DEPS = BeaconDeps(
    links=Links(_table, _settings.link_cache_seconds),
    clicks=Clicks(_table),
    conversions=Queue(_settings.conversions_queue_url),
    now=utc_now,
)


def lambda_handler(event: dict[str, Any], context: object) -> http.Response:
    try:
        return accept_beacon(event, DEPS)
    except Exception:
        log.exception("beacon failed")
        return http.json_response(500, {"error": "internal error"})
