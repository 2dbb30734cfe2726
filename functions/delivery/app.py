"""SQS delivery queue → the buyer's product over Telegram, once per payment (funil.delivery.service).

Glue only: settings from the environment, the collaborators, the batch response with
``batchItemFailures`` (the event source mapping has ReportBatchItemFailures). Bot tokens are
decrypted with KMS in memory only, cached per container, never logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable
from typing import Any

from funil.adapters.dynamo import Table
from funil.adapters.kms import Kms
from funil.adapters.sqs import sqs_client
from funil.clock import iso, utc_now
from funil.config import settings
from funil.delivery.service import DeliveryDeps, DeliverySettings, SqsRecord, process_batch
from funil.delivery.telegram_port import PtbDeliveryTelegram
from telegram import Bot
from telegram.request import HTTPXRequest

log = logging.getLogger()
log.setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

_settings = settings()
_table = Table(_settings.table_name)
_kms = Kms()
_queue_url = os.environ.get("DELIVERY_QUEUE_URL", "")
_api_base = (os.environ.get("TELEGRAM_API_BASE_URL") or "https://api.telegram.org").rstrip("/")

# One event loop and one HTTP client for every bot, for the container's life (a loop per
# invocation breaks kept-alive connections on the next call).
_loop = asyncio.new_event_loop()
_request = HTTPXRequest(connection_pool_size=8, connect_timeout=3.0, read_timeout=8.0, write_timeout=8.0)
_bots: dict[str, Bot] = {}  # bot id → Bot (token in memory only)


def _run(coroutine: Awaitable[Any]) -> Any:
    return _loop.run_until_complete(coroutine)


def _bot_for(bot_id: str) -> Bot:
    if bot_id not in _bots:
        item = _table.get(f"BOT#{bot_id}", "BOT") or {}
        ciphertext = item.get("token_ciphertext")
        if not ciphertext:
            raise RuntimeError(f"bot {bot_id} has no token")
        _bots[bot_id] = Bot(_kms.decrypt(str(ciphertext)), base_url=f"{_api_base}/bot", request=_request)
    return _bots[bot_id]


def _delay_retry(receipt_handle: str, seconds: int) -> None:
    sqs_client().change_message_visibility(QueueUrl=_queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)


def _mark_bot_token_invalid(bot_id: str) -> None:
    _bots.pop(bot_id, None)
    _table.update(
        f"BOT#{bot_id}",
        "BOT",
        "SET health = :health",
        {":health": {"status": "token_invalid", "reason": "telegram_401", "checked_at": iso(utc_now())}},
        condition="attribute_exists(pk)",
    )


DEPS = DeliveryDeps(
    items=_table,
    telegram=PtbDeliveryTelegram(_bot_for, _run),
    delay_retry=_delay_retry,
    now=utc_now,
    new_claim_id=lambda: uuid.uuid4().hex,
    mark_bot_token_invalid=_mark_bot_token_invalid,
    settings=DeliverySettings(
        public_base_url=os.environ.get("PUBLIC_BASE_URL", ""),
        lease_seconds=int(os.environ.get("DELIVERY_CLAIM_LEASE_SECONDS") or 60),
    ),
)


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    records = [SqsRecord.from_event(record) for record in event.get("Records") or []]
    report = process_batch(records, DEPS)
    log.info(
        "delivery batch: %d messages, %d to retry, outcomes %s",
        len(records),
        len(report.failures),
        sorted(report.outcomes.values()),
    )
    return report.response()
