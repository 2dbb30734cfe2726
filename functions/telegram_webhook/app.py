"""POST /tg/{bot_id}: one Telegram update (funil.bot.entry).

Glue only: the collaborators are built once per container — the table, KMS (decrypted secrets and
tokens cached in memory, never logged), the conversions and delivery queues, the payments core and
the Telegram adapter (one event loop, one HTTP client for every bot, one Bot per token).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx
from funil import http
from funil.adapters.dynamo import Table
from funil.adapters.kms import CachedKms
from funil.adapters.sqs import Queue
from funil.adapters.telegram import TelegramClient
from funil.bot.entry import handle_webhook
from funil.bot.ports import BotDeps
from funil.clock import utc_now
from funil.config import settings
from funil.payments.brcode import qr_png
from funil.payments.ports import Deps as PaymentDeps

log = logging.getLogger()
log.setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 256 * 1024

_settings = settings()
_table = Table(_settings.table_name)
_kms = CachedKms()
_conversions = Queue(_settings.conversions_queue_url)
DEPS = BotDeps(
    table=_table,
    secrets=_kms,
    telegram=TelegramClient,
    conversions=_conversions,
    payments=PaymentDeps(
        items=_table,
        secrets=_kms,
        http=httpx.Client(timeout=5.0),
        conversions=_conversions,
        deliveries=Queue(os.environ.get("DELIVERY_QUEUE_URL", "")),
        now=utc_now,
    ),
    qr_png=qr_png,
    now=utc_now,
    bot_cache_seconds=float(os.environ.get("BOT_CACHE_SECONDS") or 30),
)


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
