"""A broadcast to 2,000 leads through functions/broadcasts' real handler, against Telegram's limits.

AWS is moto in-process (the template's table and queues); Telegram is the fake Bot API over real
HTTP with its flood control on (``enforce_rate_limits``: 429 beyond 30 messages a second per bot or
one a second per chat, as Telegram answers). The sender runs on the real clock: its real pace, its
real sleeps. The handler runs with a Lambda context of ``--timeout`` seconds, so a long broadcast
also exercises the stop-and-resume path (the message put back on the queue, the next run from the
checkpoint) as Lambda would.

Prints: the total time, the messages a second, the most calls in any one-second window of the bot
(the fake's own timestamps), the 429s Telegram (the fake) answered, the people sent to twice (must
be 0) and the runs it took. moto answers each write in milliseconds of CPU in this process, so on
a slow machine the figure can sit below the pace; the pace itself is the window column.

Usage: python bench/broadcast.py [--leads 2000] [--blocked 25] [--timeout 900] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "common"), str(ROOT)]


def measure(leads: int, blocked: int, timeout: float) -> dict[str, Any]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # one line per run and per page otherwise
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from moto import mock_aws

    from local import aws
    from local.fakes.telegram_api import FakeTelegramApi, serve_http
    from local.template import load

    aws.use_fake_credentials()
    aws.serialise_moto()
    with mock_aws():
        template = load()
        resources = aws.provision(template)
        os.environ.update(aws.function_environment(template, resources))
        fake = FakeTelegramApi()
        fake.enforce_rate_limits()
        with serve_http(fake) as running:
            os.environ["TELEGRAM_API_BASE_URL"] = running.base_url
            return _run(resources, fake, leads, blocked, timeout)


def _run(resources: Any, fake: Any, leads: int, blocked: int, timeout: float) -> dict[str, Any]:
    from funil import keys
    from funil.adapters.dynamo import Table
    from funil.broadcasts import manage
    from funil.broadcasts.models import BroadcastCreate
    from funil.clock import utc_now

    from tests.integration.broadcast_world import (
        BOT,
        FIRST_USER,
        TENANT,
        add_bot,
        context,
        lead_item,
        load_sender,
        max_in_one_second,
        sqs_event,
        take_queue,
        write_leads,
    )

    table = Table(resources.tables["AppTable"])
    add_bot(table, resources, fake)
    users = [FIRST_USER + index for index in range(leads)]
    write_leads(resources, (lead_item(user, index) for index, user in enumerate(users)))
    for user in users[:: max(1, leads // blocked)][:blocked]:
        fake.block(user, bot=BOT)

    real_clock = SimpleNamespace(time=time.monotonic, sleep=time.sleep)  # the sender's own: nothing faked
    sender = load_sender(real_clock)  # type: ignore[arg-type]
    request = BroadcastCreate.model_validate(
        {"bot_id": BOT, "text": "<b>Natal</b>: 20% off", "offer_ids": ["vip"], "segment": {"kind": "all"}}
    )
    broadcast_id = manage.create_broadcast(table, TENANT, request, utc_now())["id"]
    from funil.adapters.sqs import Queue

    item = table.get(*keys.broadcast(broadcast_id))
    manage.start_due(table, Queue(resources.queues["BroadcastQueue"]), item, utc_now())
    bodies, runs = take_queue(resources), 0
    started = time.monotonic()
    while bodies:
        remaining = timeout if timeout else None
        sender.lambda_handler(sqs_event(*bodies), context(remaining))
        runs += 1
        bodies = take_queue(resources)
    elapsed = time.monotonic() - started
    calls = [call for call in fake.detailed(BOT) if call["method"] == "sendMessage"]
    accepted = [call for call in calls if call["ok"]]
    per_person = Counter(int(call["params"]["chat_id"]) for call in accepted)
    done = table.get(*keys.broadcast(broadcast_id), consistent=True) or {}
    return {
        "leads": leads,
        "runs": runs,
        "seconds": round(elapsed, 2),
        "messages_per_second": round(len(accepted) / elapsed, 2) if elapsed else None,
        "max_in_one_second": max_in_one_second([call["at"] for call in calls]),
        "rate_limited_429": sum(1 for call in calls if call["status"] == 429),
        "sent_twice": sum(1 for seen in per_person.values() if seen > 1),
        "status": done.get("status"),
        "counts": done.get("counts"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--blocked", type=int, default=25, help="leads who blocked the bot (403 on the send)")
    parser.add_argument("--timeout", type=float, default=900, help="the Lambda timeout each run gets (s)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.leads, args.blocked, args.timeout)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['leads']} leads in {result['runs']} run(s): {result['seconds']} s, "
        f"{result['messages_per_second']} messages/s; at most {result['max_in_one_second']} calls in any "
        f"1-s window (Telegram: ~30); 429s: {result['rate_limited_429']}; sent twice: {result['sent_twice']}"
    )
    print(f"status {result['status']}, counts {result['counts']}")


if __name__ == "__main__":
    main()
