"""SQS delivery queue → the buyer's product over Telegram, once per payment (funil.delivery.entry).

Glue only: settings from the environment, the collaborators, the batch response with
``batchItemFailures`` (the event source mapping has ReportBatchItemFailures). Bot tokens are
decrypted with KMS in memory only, cached per container, never logged.
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

from funil.adapters.dynamo import Table
from funil.adapters.kms import CachedKms
from funil.adapters.sqs import sqs_client
from funil.clock import iso, utc_now
from funil.config import settings
from funil.delivery.entry import DeliveryDeps, DeliverySettings, SqsRecord, process_batch
from funil.delivery.ports import AdapterDeliveryTelegram, BotClients

log = logging.getLogger()
log.setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token

_settings = settings()
_table = Table(_settings.table_name)
_queue_url = os.environ.get("DELIVERY_QUEUE_URL", "")
# Telegram through funil.adapters.telegram: the container's one loop, HTTP client and Bot per token.
_clients = BotClients(_table, CachedKms())


def _delay_retry(receipt_handle: str, seconds: int) -> None:
    sqs_client().change_message_visibility(QueueUrl=_queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)


def _mark_bot_token_invalid(bot_id: str) -> None:
    _clients.forget(bot_id)
    _table.update(
        f"BOT#{bot_id}",
        "BOT",
        "SET health = :health",
        {":health": {"status": "token_invalid", "reason": "telegram_401", "checked_at": iso(utc_now())}},
        condition="attribute_exists(pk)",
    )


DEPS = DeliveryDeps(
    items=_table,
    telegram=AdapterDeliveryTelegram(_clients),
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
