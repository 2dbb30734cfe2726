"""POST /tg/{bot_id}: one Telegram update (funil.bot.entry).

Glue only: the collaborators are built once per container (funil.wiring) — the table, KMS
(decrypted secrets and tokens cached in memory, never logged), the conversions and delivery queues,
the payments core and the Telegram adapter (one event loop, one HTTP client for every bot, one Bot
per token).
"""

from __future__ import annotations

from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)

import logging
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from funil import api, http, wiring
from funil.bot.entry import handle_webhook
from funil.config import settings
from funil.observability import logger, metrics

logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 256 * 1024

DEPS = wiring.bot(settings())
app = api.resolver("TelegramWebhook")


@app.post("/tg/<bot_id>")
def update(bot_id: str) -> Response[str]:
    event = app.current_event.raw_event
    logger.append_keys(bot_id=bot_id)
    status, payload = handle_webhook(
        DEPS, bot_id, http.header(event, SECRET_HEADER), http.body_bytes(event, limit=MAX_UPDATE_BYTES)
    )
    return api.json_answer(status, payload)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


cold_start.done()
