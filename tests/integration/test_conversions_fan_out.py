"""The conversions queue's producers copy sale events to the destinations' and notifications' queues."""

from __future__ import annotations

import json
from typing import Any

from local import aws
from tests.conftest import queue_messages


def _kinds(resources: aws.Resources, logical_id: str) -> list[str]:
    return sorted(message["kind"] for message in queue_messages(resources, logical_id))


def test_each_consumer_gets_the_kinds_it_reads(aws_env: aws.Resources) -> None:
    from funil import wiring
    from funil.config import settings

    conversions = wiring.payments(settings()).conversions
    for kind in ("Lead", "InitiateCheckout", "Purchase", "Refund"):
        conversions.send(json.dumps({"kind": kind}), {"kind": kind})

    assert _kinds(aws_env, "ConversionsQueue") == ["InitiateCheckout", "Lead", "Purchase", "Refund"]
    assert _kinds(aws_env, "DestinationsQueue") == ["InitiateCheckout", "Purchase", "Refund"]
    assert _kinds(aws_env, "NotificationsQueue") == ["Purchase", "Refund"]


def test_a_batch_reports_the_positions_a_copy_queue_refused(aws_env: aws.Resources, monkeypatch: Any) -> None:
    from funil import wiring
    from funil.adapters.sqs import FanOutQueue
    from funil.config import settings

    conversions = wiring.payments(settings()).conversions
    assert isinstance(conversions, FanOutQueue)
    destinations = conversions.copies[0][0]
    monkeypatch.setattr(destinations, "send_batch", lambda messages: [len(messages) - 1])
    messages = [(json.dumps({"kind": kind}), {"kind": kind}) for kind in ("Lead", "Purchase", "Lead", "Refund")]

    assert conversions.send_batch(messages) == [3]  # the Refund: the last copy the destinations refused


def test_without_copy_queues_the_producer_sends_to_the_conversions_queue_alone(
    aws_env: aws.Resources, monkeypatch: Any
) -> None:
    from funil import wiring
    from funil.adapters.sqs import Queue
    from funil.config import settings

    monkeypatch.delenv("DESTINATIONS_QUEUE_URL")
    monkeypatch.delenv("NOTIFICATIONS_QUEUE_URL")
    conversions = wiring.payments(settings()).conversions

    assert type(conversions) is Queue
