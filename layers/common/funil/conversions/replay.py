"""Replay dead-lettered conversions once their cause is fixed (a renewed token, a restored item).

Moves messages from the conversions dead-letter queue back to the conversions queue, but only
events still inside Meta's 7-day window; older ones (and unparseable ones) stay in the dead-letter
queue, reported. The sender re-claims ``dead``/``invalid`` delivery records, so a replayed event is
sent once, with the event_time recorded on its first attempt.

    PYTHONPATH=layers/common python -m funil.conversions.replay [--dry-run] [--reason meta_error_190] \
        [--dlq-url URL] [--queue-url URL]     # defaults: CONVERSIONS_DLQ_URL, CONVERSIONS_QUEUE_URL
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from funil import clock
from funil.conversions.builder import MAX_EVENT_AGE
from funil.messages import ConversionMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

HOLD_SECONDS = 900  # messages left in the DLQ stay hidden for the rest of this run


@dataclass
class ReplayReport:
    replayed: list[str] = field(default_factory=list)  # event ids
    too_old: list[str] = field(default_factory=list)
    unparseable: int = 0
    filtered_out: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "replayed": len(self.replayed),
            "too_old": len(self.too_old),
            "unparseable": self.unparseable,
            "filtered_out": self.filtered_out,
            "replayed_event_ids": self.replayed,
            "too_old_event_ids": self.too_old,
        }


def replay(
    sqs: SQSClient,
    dlq_url: str,
    queue_url: str,
    now: Callable[[], datetime] = clock.utc_now,
    *,
    reason: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    max_age: timedelta = MAX_EVENT_AGE,
    carry: tuple[str, ...] = (),
    where: Mapping[str, str] | None = None,
) -> ReplayReport:
    """Move the DLQ's messages back to the queue. ``max_age``: older events stay (Meta's 7 days by
    default); ``carry``: message attributes kept on the way back (the destination a dead-lettered copy
    names); ``where``: only messages whose attributes have these values."""
    report = ReplayReport()
    while limit is None or len(report.replayed) < limit:
        answer = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=HOLD_SECONDS,
        )
        received = answer.get("Messages", [])
        if not received:
            break
        for item in received:
            body, handle = item["Body"], item["ReceiptHandle"]
            attributes: dict[str, Any] = dict(item.get("MessageAttributes") or {})
            wanted = {**(where or {}), **({"reason": reason} if reason else {})}
            if any((attributes.get(name) or {}).get("StringValue") != value for name, value in wanted.items()):
                report.filtered_out += 1
                continue
            try:
                message = ConversionMessage.model_validate_json(body)
            except ValidationError:
                report.unparseable += 1
                continue
            if now() - message.occurred_at > max_age:
                report.too_old.append(message.event_id)
                continue
            if limit is not None and len(report.replayed) >= limit:
                break
            report.replayed.append(message.event_id)
            if dry_run:
                continue
            sqs.send_message(
                QueueUrl=queue_url,
                MessageBody=body,
                MessageAttributes={
                    "kind": {"DataType": "String", "StringValue": message.kind.value},
                    "replayed_at": {"DataType": "String", "StringValue": clock.iso(now())},
                    **{
                        name: {"DataType": "String", "StringValue": attributes[name]["StringValue"]}
                        for name in carry
                        if (attributes.get(name) or {}).get("StringValue")
                    },
                },
            )
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=handle)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m funil.conversions.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dlq-url", default=os.environ.get("CONVERSIONS_DLQ_URL"))
    parser.add_argument("--queue-url", default=os.environ.get("CONVERSIONS_QUEUE_URL"))
    parser.add_argument("--reason", help="only messages dead-lettered for this reason (e.g. meta_error_190)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--dry-run", action="store_true", help="report what would move, move nothing")
    args = parser.parse_args(argv)
    if not args.dlq_url or not args.queue_url:
        parser.error("--dlq-url and --queue-url (or CONVERSIONS_DLQ_URL, CONVERSIONS_QUEUE_URL) are required")
    import boto3

    report = replay(
        boto3.client("sqs"), args.dlq_url, args.queue_url, reason=args.reason, dry_run=args.dry_run, limit=args.limit
    )
    sys.stdout.write(json.dumps(report.as_json(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
