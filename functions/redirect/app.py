"""GET /go/{slug}: record the ad click and hand the visitor to Telegram through the bridge page."""

from __future__ import annotations

import logging
from typing import Any

from funil import http, wiring
from funil.click.entry import serve_click
from funil.config import settings

log = logging.getLogger()
log.setLevel(logging.INFO)

DEPS = wiring.click(settings())


def lambda_handler(event: dict[str, Any], context: object) -> http.Response:
    try:
        return serve_click(event, DEPS)
    except Exception:
        log.exception("redirect failed")
        return http.response(500, "Erro interno. Tente novamente.")
