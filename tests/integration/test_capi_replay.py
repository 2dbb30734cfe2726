"""Replay of dead-lettered conversions (moto): fixed cause → sent once; older than 7 days → kept."""

# ruff: noqa: F811 - the capi fixture is imported from the sender tests

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
from funil.conversions.replay import main, replay
from funil.messages import EventKind

from local import aws
from tests.integration.test_capi_sender import Capi, _encrypt_token, capi  # noqa: F401 - the fixture
from tests.unit.conversions.factories import NOW, PAYMENT, message, payment_item, pixel_item


def _sqs() -> Any:
    return boto3.client("sqs", region_name=aws.REGION)


def _drain_queue(capi: Capi) -> list[dict[str, Any]]:
    answer = _sqs().receive_message(
        QueueUrl=capi.resources.queues["ConversionsQueue"], MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )
    return list(answer.get("Messages", []))


def test_dead_lettered_purchase_is_replayed_after_the_token_is_renewed(capi: Capi) -> None:
    capi.fake.fail_with_code(190, times=None)
    assert capi.send([message(EventKind.PURCHASE)]) == []
    assert capi.record(f"purchase_{PAYMENT}")["status"] == "dead"
    # The tenant renews the token; the fake accepts again.
    capi.fake.faults.clear()
    capi.table.put(pixel_item(access_token_ciphertext=_encrypt_token(capi.resources)))
    report = replay(
        _sqs(),
        capi.resources.queues["ConversionsDeadLetterQueue"],
        capi.resources.queues["ConversionsQueue"],
        capi.clock,
        reason="meta_error_190",
    )
    assert report.replayed == [f"purchase_{PAYMENT}"]
    moved = _drain_queue(capi)
    assert len(moved) == 1
    from local.poller import sqs_event

    event = sqs_event(moved, capi.resources.queue_arns["ConversionsQueue"])
    assert capi.invoke(event) == {"batchItemFailures": []}
    assert capi.fake.event_ids() == [f"purchase_{PAYMENT}"]
    record = capi.record(f"purchase_{PAYMENT}")
    assert (record["status"], record["attempts"]) == ("sent", 2)
    assert capi.fake.events()[0]["event_time"] == record["event_time"]


def test_only_events_within_seven_days_are_replayed(capi: Capi) -> None:
    sqs = _sqs()
    dlq = capi.resources.queues["ConversionsDeadLetterQueue"]
    fresh = message(EventKind.PURCHASE, occurred_at=NOW - timedelta(days=1))
    stale = message(EventKind.PURCHASE, payment_id="a" * 32, occurred_at=NOW - timedelta(days=8))
    for body in (fresh.model_dump_json(), stale.model_dump_json(), "not json"):
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    capi.table.put(payment_item("a" * 32))
    dry = replay(sqs, dlq, capi.resources.queues["ConversionsQueue"], capi.clock, dry_run=True)
    assert (dry.replayed, dry.too_old, dry.unparseable) == ([fresh.event_id], [stale.event_id], 1)
    assert _drain_queue(capi) == []  # a dry run moves nothing


def test_cli_moves_messages(capi: Capi, monkeypatch: Any, capsys: Any) -> None:
    sqs = _sqs()
    dlq = capi.resources.queues["ConversionsDeadLetterQueue"]
    sqs.send_message(QueueUrl=dlq, MessageBody=message(EventKind.PURCHASE, occurred_at=_now_real()).model_dump_json())
    monkeypatch.setenv("CONVERSIONS_DLQ_URL", dlq)
    assert main(["--queue-url", capi.resources.queues["ConversionsQueue"]]) == 0
    assert '"replayed": 1' in capsys.readouterr().out
    assert len(_drain_queue(capi)) == 1


def _now_real() -> Any:
    from funil.clock import utc_now

    return utc_now()
