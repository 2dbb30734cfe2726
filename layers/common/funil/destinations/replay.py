"""Replay dead-lettered destination events once their cause is fixed (a renewed token, a fixed URL).

Moves messages from the destinations' dead-letter queue back to the destinations queue, each with
the destination its copy names (``destination_id``): the function then sends it to that destination
alone, re-claiming its ``dead`` record; destinations that took the event are never sent it again.
The shape of ``funil.conversions.replay`` (the same mover), with the destinations' queues, no
Meta-style age limit beyond what the DLQ keeps (14 days; each destination's builder decides what is
too old, e.g. UTMify's 7 days), and ``--destination`` to replay one destination's events.

    PYTHONPATH=layers/common python -m funil.destinations.replay [--dry-run] [--destination dst_…] \\
        [--reason auth_rejected] [--dlq-url URL] [--queue-url URL]
        # defaults: DESTINATIONS_DLQ_URL, DESTINATIONS_QUEUE_URL
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from funil import clock
from funil.conversions import replay as mover
from funil.conversions.replay import ReplayReport
from funil.destinations.sending import DESTINATION_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

MAX_AGE = timedelta(days=45)  # the longest any destination takes an event (UTMify's refunds)


def replay(
    sqs: SQSClient,
    dlq_url: str,
    queue_url: str,
    now: Callable[[], datetime] = clock.utc_now,
    *,
    destination_id: str | None = None,
    reason: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
) -> ReplayReport:
    return mover.replay(
        sqs,
        dlq_url,
        queue_url,
        now,
        reason=reason,
        dry_run=dry_run,
        limit=limit,
        max_age=MAX_AGE,
        carry=(DESTINATION_ATTRIBUTE,),
        where={DESTINATION_ATTRIBUTE: destination_id} if destination_id else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m funil.destinations.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dlq-url", default=os.environ.get("DESTINATIONS_DLQ_URL"))
    parser.add_argument("--queue-url", default=os.environ.get("DESTINATIONS_QUEUE_URL"))
    parser.add_argument("--destination", help="only this destination's events (e.g. dst_a1b2c3)")
    parser.add_argument("--reason", help="only events dead-lettered for this reason (e.g. auth_rejected)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--dry-run", action="store_true", help="report what would move, move nothing")
    args = parser.parse_args(argv)
    if not args.dlq_url or not args.queue_url:
        parser.error("--dlq-url and --queue-url (or DESTINATIONS_DLQ_URL, DESTINATIONS_QUEUE_URL) are required")
    import boto3

    report = replay(
        boto3.client("sqs"),
        args.dlq_url,
        args.queue_url,
        destination_id=args.destination,
        reason=args.reason,
        dry_run=args.dry_run,
        limit=args.limit,
    )
    sys.stdout.write(json.dumps(report.as_json(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
