"""A bot with leads, the broadcasts' sender on moto and the fake Bot API over HTTP, on a fake clock.

The fake clock moves only when the sender sleeps (its pace, a 429's retry_after), and the fake Bot
API stamps each call with it: the pace is asserted on the recorded times, not on the wall clock,
and a test is as fast as moto and the HTTP round trips allow.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import boto3

from local import aws
from local.fakes.telegram_api import FakeTelegramApi
from local.handlers import LambdaContext
from local.template import ROOT, load
from tests.conftest import load_event

BOT = "bot_bcast"
TENANT = "t_bcast"
TOKEN = "7000000042:TEST-fake-token-for-broadcast-tests-x"
FIRST_USER = 900_000_000


@dataclass
class FakeClock:
    """Seconds since an arbitrary start; moves only when someone sleeps."""

    at: float = 1_800_000_000.0
    slept: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += max(0.0, seconds)


def add_bot(table: Any, resources: aws.Resources, fake: FakeTelegramApi, *, tenant_id: str = TENANT) -> None:
    """The bot (its token KMS-encrypted as the API stores it) and two offers, written directly."""
    from funil import encryption, keys
    from funil.adapters.kms import Kms
    from funil.operator.models import Bot

    table.put(Bot(tenant_id=tenant_id, bot_id=BOT, username="BroadcastBot").to_item())
    ciphertext = encryption.encrypt_field(
        Kms(), resources.keys["SecretsKey"], keys.bot(BOT), encryption.BOT_TOKEN, TOKEN
    )
    table.update(f"BOT#{BOT}", "BOT", "SET token_ciphertext = :c", {":c": ciphertext})
    for offer_id, title, price in (("vip", "Grupo VIP", 4990), ("curso", "Curso", 9700)):
        table.put(
            {
                "pk": f"BOT#{BOT}",
                "sk": f"OFFER#{offer_id}",
                "type": "offer",
                "tenant_id": tenant_id,
                "bot_id": BOT,
                "offer_id": offer_id,
                "title": title,
                "price_cents": price,
                **keys.tenant_offer_index(tenant_id, BOT, offer_id),
            }
        )
    fake.register_bot(TOKEN, BOT)


def lead_item(user_id: int, index: int, *, bot_id: str = BOT, **extra: Any) -> dict[str, Any]:
    """A lead as ``/start`` leaves it (funil.bot.leads.plan_start), plus the broadcasts' attributes."""
    at = f"2026-11-{1 + index // 1000:02d}T10:{(index // 60) % 60:02d}:{index % 60:02d}.000Z"
    return {
        "pk": f"LEAD#{bot_id}#{user_id}",
        "sk": "LEAD",
        "type": "lead",
        "tenant_id": extra.pop("tenant_id", TENANT),
        "bot_id": bot_id,
        "telegram_user_id": user_id,
        "first_name": "Lead",
        "first_seen_at": at,
        "last_start_at": at,
        "starts": 1,
        "reachable": True,
        "attributed": False,
        "gsi1pk": f"BOTLEADS#{bot_id}",
        "gsi1sk": at,
        **extra,
    }


def write_leads(resources: aws.Resources, leads: Iterable[dict[str, Any]]) -> None:
    """Many leads fast: BatchWriteItem, 25 at a time."""
    from funil.adapters.dynamo import serialize

    client = boto3.client("dynamodb", region_name=aws.REGION)
    name = resources.tables["AppTable"]
    batch: list[dict[str, Any]] = []
    for lead in leads:
        batch.append({"PutRequest": {"Item": serialize(lead)}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={name: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={name: batch})


def load_sender(clock: FakeClock) -> Any:
    """functions/broadcasts/app.py loaded fresh (a new container), pacing on the fake clock."""
    spec = importlib.util.spec_from_file_location("funil_fn_broadcasts_test", ROOT / "functions/broadcasts/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.DEPS.monotonic = clock.time
    module.DEPS.sleep = clock.sleep
    return module


def context(remaining_seconds: float | None = None) -> LambdaContext:
    """The function's context; ``remaining_seconds`` left before Lambda's timeout (default: all of it)."""
    made = LambdaContext(load().functions["BroadcastsFunction"], "test")
    if remaining_seconds is not None:
        made._deadline = time.monotonic() + remaining_seconds
    return made


def sqs_event(*bodies: str) -> dict[str, Any]:
    template = load_event("sqs_broadcast.json")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = json.loads(json.dumps(template))
        record["messageId"] = f"m{index}-{abs(hash(body)) % 10**8}"
        record["receiptHandle"] = f"rh{index}"
        record["body"] = body
        records.append(record)
    return {"Records": records}


def take_queue(resources: aws.Resources) -> list[str]:
    """Every message on the broadcast queue now (received and deleted), delays included."""
    sqs = boto3.client("sqs", region_name=aws.REGION)
    url = resources.queues["BroadcastQueue"]
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def max_in_one_second(times: list[float]) -> int:
    """The most calls in any window of one second (closed at both ends: the strictest reading)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while ordered[start] < moment - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best
