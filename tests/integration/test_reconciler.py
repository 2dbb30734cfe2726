"""The reconciler over 1,000 pending payments in mixed states at the gateway (moto + sandbox fake)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from local import aws
from local.fakes.sandbox import SandboxGateway
from local.handlers import LambdaContext, handler_globals, load_handler
from local.template import load
from tests.conftest import load_event
from tests.integration.test_gateway_webhook import URL_SECRET, WEBHOOK_SECRET, drain, queue_count


@pytest.fixture
def world(aws_env: aws.Resources, table: Any) -> tuple[Any, SandboxGateway, Any]:
    from funil.adapters.kms import Kms
    from funil.payments.gateway_items import Gateway

    fake = SandboxGateway(webhook_secret=WEBHOOK_SECRET)
    gateway = Gateway(gateway_id="gw_sandbox", tenant_id="t1", kind="sandbox", base_url="http://sandbox.test")
    credentials = {"api_key": fake.api_key, "webhook_secret": fake.webhook_secret}
    table.put(gateway.to_item(Kms(), aws_env.keys["SecretsKey"], credentials, URL_SECRET))
    function = load().functions["ReconcilerFunction"]
    handler = load_handler(function, fresh=True)
    handler_globals(handler)["DEPS"].http = httpx.Client(transport=httpx.MockTransport(fake.handle))
    return handler, fake, function


def _payment(table: Any, fake: SandboxGateway, created: datetime, gateway_state: str | None, **extra: Any) -> str:
    from funil.clock import iso
    from funil.payments.models import Payment
    from funil.payments.storage import Payments

    payment = Payment.new(tenant_id="t1", amount_cents=1990, now=created, bot_id="bot1", **extra)
    if gateway_state is not None:
        charge_id = "ch_" + payment.payment_id[:20]
        fake.charges[charge_id] = {
            "id": charge_id,
            "reference": payment.payment_id,
            "status": gateway_state,
            "amount_cents": 1990,
            "currency": "BRL",
            "paid_at": iso(created + timedelta(minutes=1)) if gateway_state in ("paid", "refunded") else None,
        }
        payment = payment.model_copy(update={"gateway_id": "gw_sandbox", "gateway_charge_id": charge_id})
    Payments(table).create(payment)
    return payment.payment_id


def test_reconciler_over_1000_pending_payments(aws_env: aws.Resources, table: Any, world: Any) -> None:
    handler, fake, function = world
    now = datetime.now(UTC)
    rng = random.Random(3)
    plan = (
        ["paid"] * 250  # paid at the gateway, webhook lost
        + ["pending_live"] * 250  # still payable
        + ["pending_old"] * 250  # past expiry, unpaid: expired (and cancelled at the gateway)
        + ["canceled"] * 100
        + ["expired"] * 100
        + ["no_charge_old"] * 50  # charge creation never finished, past expiry
    )
    rng.shuffle(plan)
    expected: dict[str, str] = {}
    for index, kind in enumerate(plan):
        old = kind in ("pending_old", "no_charge_old") or (kind != "pending_live" and rng.random() < 0.5)
        created = now - (timedelta(hours=2, minutes=index % 50) if old else timedelta(minutes=index % 50))
        state = {"pending_live": "pending", "pending_old": "pending", "no_charge_old": None}.get(kind, kind)
        payment_id = _payment(table, fake, created, state)
        expected[payment_id] = {
            "paid": "paid",
            "pending_live": "pending",
            "pending_old": "expired",
            "canceled": "canceled",
            "expired": "expired",
            "no_charge_old": "expired",
        }[kind]
    answer = handler(load_event("reconciler_schedule.json"), LambdaContext(function, "test"))
    counts = answer["counts"]
    assert counts.get("confirmed") == 250 and counts.get("pending") == 250 and counts.get("canceled") == 100
    assert counts.get("expired") == 400 and "error" not in counts and "out_of_time" not in counts
    statuses = {pid: (table.get(f"PAYMENT#{pid}", "PAYMENT") or {}).get("status") for pid in expected}
    assert statuses == expected
    assert Counter(c["status"] for c in fake.charges.values())["canceled"] == 100 + 250  # old pending cancelled
    # Only the still-payable ones remain in the pending index.
    from funil.payments.storage import Payments

    assert sorted(item["payment_id"] for item in Payments(table).all_pending()) == sorted(
        pid for pid, status in expected.items() if status == "pending"
    )
    assert queue_count(aws_env, "ConversionsQueue") == 250 and queue_count(aws_env, "DeliveryQueue") == 250
    # A second run changes nothing and sends nothing more.
    again = handler(load_event("reconciler_schedule.json"), LambdaContext(function, "test"))["counts"]
    assert again == {"pending": 250}
    assert len(drain(aws_env, "ConversionsQueue")) == 250


def test_pending_index_is_oldest_first_across_shards(table: Any, world: Any) -> None:
    from funil.payments.storage import Payments

    _, fake, _ = world
    now = datetime.now(UTC)
    for minutes in random.Random(5).sample(range(200), 60):
        _payment(table, fake, now - timedelta(minutes=minutes), "pending")
    created = [item["created_at"] for item in Payments(table).all_pending(page_size=7)]
    assert len(created) == 60 and created == sorted(created)


def test_gateway_down_keeps_live_payments_pending_and_expires_old_ones(table: Any, world: Any) -> None:
    handler, fake, function = world
    now = datetime.now(UTC)
    live = _payment(table, fake, now - timedelta(minutes=5), "paid")
    old = _payment(table, fake, now - timedelta(hours=3), "pending")
    fake.down = True
    counts = handler(load_event("reconciler_schedule.json"), LambdaContext(function, "test"))["counts"]
    assert counts == {"gateway_error": 1, "expired": 1}
    assert (table.get(f"PAYMENT#{live}", "PAYMENT") or {})["status"] == "pending"
    assert (table.get(f"PAYMENT#{old}", "PAYMENT") or {})["status"] == "expired"
