"""SQS conversions queue → Meta Conversions API, each event once (funil.conversions.sender).

Glue only: settings from the environment, the collaborators, and the batch response with
``batchItemFailures`` (the event source mapping has ReportBatchItemFailures).
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

from funil.adapters.dynamo import Table
from funil.adapters.kms import Kms
from funil.adapters.meta_graph import DEFAULT_BASE_URL, DEFAULT_VERSION, GraphClient
from funil.adapters.sqs import Queue, sqs_client
from funil.clock import utc_now
from funil.config import settings
from funil.conversions.sender import SenderDeps, SenderSettings, SqsRecord, process_batch
from funil.conversions.storage import EventRecords

log = logging.getLogger()
log.setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)

_settings = settings()
_table = Table(_settings.table_name)
_kms = Kms()
_tokens: dict[str, str] = {}  # ciphertext → token, this container only; never logged
_dead_letters = Queue(os.environ.get("CONVERSIONS_DLQ_URL", ""))
_queue_url = _settings.conversions_queue_url


def _access_token(ciphertext: str) -> str:
    if ciphertext not in _tokens:
        if len(_tokens) > 1000:
            _tokens.clear()
        _tokens[ciphertext] = _kms.decrypt(ciphertext)
    return _tokens[ciphertext]


def _dead_letter(body: str, attributes: dict[str, str] | Any) -> None:
    _dead_letters.send(body, dict(attributes))


def _delay_retry(receipt_handle: str, seconds: int) -> None:
    sqs_client().change_message_visibility(QueueUrl=_queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)


DEPS = SenderDeps(
    items=_table,
    deliveries=EventRecords(_table),
    graph=GraphClient(
        os.environ.get("META_GRAPH_BASE_URL") or DEFAULT_BASE_URL,
        os.environ.get("META_GRAPH_VERSION") or DEFAULT_VERSION,
    ),
    access_token=_access_token,
    dead_letter=_dead_letter,
    delay_retry=_delay_retry,
    now=utc_now,
    new_claim_id=lambda: uuid.uuid4().hex,
    settings=SenderSettings(
        public_base_url=os.environ.get("PUBLIC_BASE_URL", ""),
        lease_seconds=int(os.environ.get("CAPI_CLAIM_LEASE_SECONDS") or 90),
    ),
)


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    records = [SqsRecord.from_event(record) for record in event.get("Records") or []]
    report = process_batch(records, DEPS)
    log.info(
        "conversions batch: %d messages, %d to retry, graph requests %s",
        len(records),
        len(report.failures),
        report.graph_requests,
    )
    return report.response()
