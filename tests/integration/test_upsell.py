"""Upsell: after a sale is delivered, the buyer is offered the next offer; buying it is a sale of its own.

The demo's ``curso`` has the upsell ``mentoria``. The delivery consumer schedules it (a follow-up
due at once, ``funil.bot.offers_after``); the timers send it (``funil.bot.follow_ups``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from funil import keys

from tests.integration.test_follow_ups import bought, buttons, gateway_webhook, messages, newest, run_timers
from tests.integration.test_order_bump import built, deliver
from tests.unit.bot.telegram_harness import TgEnv

MARIA = 5550501
TOKEN = "TokUpsell0123456789abcde"


def bought_and_delivered(tg: TgEnv) -> dict[str, Any]:
    payment = bought(tg, "b:curso", user_id=MARIA, token=TOKEN)
    paid = tg.sandbox.pay(payment["payment_id"])
    assert gateway_webhook(tg)(paid, "charge.paid")["results"] == ["confirmed"]
    jobs = tg.drain("DeliveryQueue")
    assert deliver(tg, jobs) == {"batchItemFailures": []}
    return tg.payment(payment["payment_id"])


def soon() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=5)


def test_the_upsell_follows_the_delivery_and_its_purchase_keeps_the_click(tg: TgEnv) -> None:
    first = bought_and_delivered(tg)
    item = tg.table.get(*keys.follow_up(first["payment_id"]), consistent=True)
    assert item is not None and set(item["steps"]) == {"upsell"} and item["gsi2pk"].startswith("DUE#")
    before = len(messages(tg, MARIA))
    assert run_timers(tg, soon()) == {"follow_up_done": 1}
    [offer] = messages(tg, MARIA)[before:]
    assert "Mentoria em grupo" in offer["text"] and "R$ 197,00" in offer["text"] and "/parar" in offer["text"]
    assert buttons(offer) == ["b:mentoria"]
    assert run_timers(tg, soon() + timedelta(days=1)) == {}  # once

    # Bought (without its bump): a new payment, its own Purchase, the lead's click.
    assert tg.callback(MARIA, "b:mentoria")[1]["outcome"] == "bump_asked"
    assert tg.callback(MARIA, "bn:mentoria")[1]["outcome"] == "pix_created"
    upsell = newest(tg, MARIA)
    assert upsell["offer_id"] == "mentoria" and upsell["payment_id"] != first["payment_id"]
    tg.drain()
    paid = tg.sandbox.pay(upsell["payment_id"])
    assert gateway_webhook(tg)(paid, "charge.paid")["results"] == ["confirmed"]
    [purchase] = [message for message in tg.drain() if message["kind"] == "Purchase"]
    assert purchase["event_id"] == f"purchase_{upsell['payment_id']}"
    first_event = built(tg, {**purchase, "event_id": f"purchase_{first['payment_id']}",
                             "refs": {**purchase["refs"], "payment_id": first["payment_id"]}})  # fmt: skip
    upsell_event = built(tg, purchase)
    assert upsell_event["custom_data"]["value"] == 197.0 and first_event["custom_data"]["value"] == 97.0
    assert upsell_event["user_data"]["fbc"] == first_event["user_data"]["fbc"]
    assert upsell_event["user_data"]["fbc"] == tg.lead(MARIA)["attribution"]["fbc"]  # type: ignore[index]
    snapshot = tg.payment(upsell["payment_id"])["attribution"]
    assert snapshot == first["attribution"]  # the same click, the same utm and campaign
    assert snapshot["utm"]["utm_campaign"] == f"camp_{TOKEN[:4]}"


def test_a_repeated_delivery_does_not_offer_it_twice(tg: TgEnv) -> None:
    first = bought_and_delivered(tg)
    from funil.bot.offers_after import schedule_upsell

    assert schedule_upsell(tg.table, first, datetime.now(UTC)) is False
    assert run_timers(tg, soon()) == {"follow_up_done": 1}
    assert schedule_upsell(tg.table, first, datetime.now(UTC)) is False
    assert run_timers(tg, soon()) == {}


def test_no_upsell_for_a_refunded_sale_or_an_opted_out_buyer(tg: TgEnv) -> None:
    first = bought_and_delivered(tg)
    refunded = tg.sandbox.refund(first["payment_id"])
    assert gateway_webhook(tg)(refunded, "charge.refunded")["results"] == ["refunded"]
    assert run_timers(tg, soon()) == {"follow_up_done": 1}
    assert tg.table.get(*keys.follow_up(first["payment_id"]))["stopped"] == "payment_refunded"  # type: ignore[index]
    assert not any("Mentoria" in call["text"] for call in messages(tg, MARIA))


def test_no_upsell_after_parar(tg: TgEnv) -> None:
    first = bought_and_delivered(tg)
    tg.post(tg.message(MARIA, "/parar"))
    assert run_timers(tg, soon()) == {"follow_up_done": 1}
    assert tg.table.get(*keys.follow_up(first["payment_id"]))["stopped"] == "opted_out"  # type: ignore[index]
    assert not any("Mentoria" in call["text"] for call in messages(tg, MARIA))


def test_an_offer_without_upsell_schedules_nothing(tg: TgEnv) -> None:
    payment = bought(tg, "b:grupo_vip", user_id=MARIA, token=TOKEN)
    paid = tg.sandbox.pay(payment["payment_id"])
    gateway_webhook(tg)(paid, "charge.paid")
    assert deliver(tg, tg.drain("DeliveryQueue")) == {"batchItemFailures": []}
    item = tg.table.get(*keys.follow_up(payment["payment_id"]), consistent=True)
    assert item is not None and "upsell" not in item["steps"]  # the unpaid PIX's follow-ups only
