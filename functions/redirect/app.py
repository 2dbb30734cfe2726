"""GET /go/{slug}: record the ad click and hand the visitor to Telegram through the bridge page."""

from __future__ import annotations

import logging
from typing import Any

from funil import http
from funil.adapters.dynamo import Table
from funil.click.entry import ClickDeps, serve_click
from funil.click.storage import Clicks, Links
from funil.clock import utc_now
from funil.config import settings

log = logging.getLogger()
log.setLevel(logging.INFO)

_settings = settings()
_table = Table(_settings.table_name)
DEPS = ClickDeps(
    links=Links(_table, _settings.link_cache_seconds),
    clicks=Clicks(_table),
    settings=_settings,
    now=utc_now,
)


def lambda_handler(event: dict[str, Any], context: object) -> http.Response:
    try:
        return serve_click(event, DEPS)
    except Exception:
        log.exception("redirect failed")
        return http.response(500, "Erro interno. Tente novamente.")
