"""POST /tg/{bot_id}: one Telegram update (funil.bot.entry).

Glue only: the collaborators are built once per container — the table, KMS (decrypted secrets and
tokens cached in memory, never logged), the conversions and delivery queues, the payments core and
the Telegram adapter (one event loop, one HTTP client for every bot, one Bot per token).
"""

from __future__ import annotations

import logging
from typing import Any

from funil import http, wiring
from funil.bot.entry import handle_webhook
from funil.config import settings

log = logging.getLogger()
log.setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 256 * 1024

DEPS = wiring.bot(settings())


def lambda_handler(event: dict[str, Any], context: object) -> http.Response:
    bot_id = http.path_parameter(event, "bot_id") or ""
    try:
        status, payload = handle_webhook(
            DEPS, bot_id, http.header(event, SECRET_HEADER), http.body_bytes(event, limit=MAX_UPDATE_BYTES)
        )
    except Exception:
        log.exception("telegram webhook failed", extra={"bot_id": bot_id})
        return http.json_response(500, {"error": "internal error, retry"})
    return http.json_response(status, payload)
