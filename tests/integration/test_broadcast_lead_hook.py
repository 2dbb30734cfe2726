"""A confirmed payment tells its lead what it bought (``bought_offer_ids``, ``last_paid_at``): the
broadcasts' never_bought / bought_offer segments read them. Through ``transitions.confirm`` (what the
gateway webhook, the reconciler and Stars' successful_payment call) on moto with the real queues."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from funil.adapters.sqs import Queue
from funil.broadcasts.runs import matches
from funil.clock import iso
from funil.payments import transitions

from local import aws

BOT, USER, TENANT = "bot_loja", 555000111, "t_loja"
PAID_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def pending_payment(table: Any, payment_id: str, offer_id: str, *, lead_ref: str | None, tenant: str = TENANT) -> None:
    table.put(
        {
            "pk": f"PAYMENT#{payment_id}",
            "sk": "PAYMENT",
            "type": "payment",
            "tenant_id": tenant,
            "payment_id": payment_id,
            "bot_id": BOT,
            "telegram_user_id": USER,
            "offer_id": offer_id,
            "amount_cents": 4990,
            "currency": "BRL",
            "status": "pending",
            "created_at": "2026-12-01T11:50:00.000Z",
            **({"lead_ref": lead_ref} if lead_ref else {}),
        }
    )


def confirm(resources: aws.Resources, table: Any, payment_id: str) -> None:
    transitions.confirm(
        table,
        payment_id,
        PAID_AT,
        conversions=Queue(resources.queues["ConversionsQueue"]),
        deliveries=Queue(resources.queues["DeliveryQueue"]),
        now=PAID_AT,
    )


def test_each_paid_offer_joins_the_leads_bought_offers_once(aws_env: aws.Resources, table: Any) -> None:
    lead = {"pk": f"LEAD#{BOT}#{USER}", "sk": "LEAD", "type": "lead", "tenant_id": TENANT, "bot_id": BOT}
    table.put(lead)
    assert matches({"kind": "never_bought"}, lead)
    pending_payment(table, "p1", "vip", lead_ref=lead["pk"])
    pending_payment(table, "p2", "curso", lead_ref=lead["pk"])
    confirm(aws_env, table, "p1")
    confirm(aws_env, table, "p1")  # a duplicate webhook
    confirm(aws_env, table, "p2")
    stored = table.get(lead["pk"], "LEAD")
    assert sorted(stored["bought_offer_ids"]) == ["curso", "vip"]
    assert stored["last_paid_at"] == iso(PAID_AT)
    assert matches({"kind": "bought_offer", "offer_id": "vip"}, stored)
    assert not matches({"kind": "never_bought"}, stored)


def test_a_missing_lead_is_not_created_and_another_tenants_lead_is_not_touched(
    aws_env: aws.Resources, table: Any
) -> None:
    theirs = {"pk": f"LEAD#{BOT}#{USER}", "sk": "LEAD", "type": "lead", "tenant_id": "t_outra", "bot_id": BOT}
    table.put(theirs)
    pending_payment(table, "p3", "vip", lead_ref=theirs["pk"])
    pending_payment(table, "p4", "vip", lead_ref=f"LEAD#{BOT}#999")
    pending_payment(table, "p5", "vip", lead_ref=None)
    for payment_id in ("p3", "p4", "p5"):
        confirm(aws_env, table, payment_id)
        assert table.get(f"PAYMENT#{payment_id}", "PAYMENT")["status"] == "paid"
    assert table.get(theirs["pk"], "LEAD") == theirs
    assert table.get(f"LEAD#{BOT}#999", "LEAD") is None
