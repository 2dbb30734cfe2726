"""Order bump: one PIX for an offer and its add-on, then two sales (two Purchases, two deliveries).

The demo's unlisted ``mentoria`` (R$ 197,00) has the bump ``checklist`` (R$ 14,90). Through the
Telegram webhook (the question, the charge), the gateway's signed webhook (the confirmation), the
conversions sender's own loading and building (the Purchases), the delivery consumer (the products).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from funil.conversions.builder import BuildSettings, BuildStatus, build_event
from funil.conversions.sender import SourceLoader
from funil.messages import ConversionMessage
from funil.payments import transitions

from local.handlers import LambdaContext, load_handler
from local.template import load
from tests.integration.test_follow_ups import gateway_webhook, messages, newest
from tests.unit.bot.telegram_harness import TgEnv

MARIA = 5550401
TOKEN = "TokBump0123456789abcdefg"
MAIN, BUMP = 19700, 1490


def built(tg: TgEnv, message: dict[str, Any]) -> dict[str, Any]:
    """The Meta event the conversions sender would send for a queued message."""
    parsed = ConversionMessage.model_validate(message)
    now = datetime.now(UTC)
    [sources] = SourceLoader(tg.table).load([parsed], now)
    result = build_event(parsed, sources, BuildSettings(public_base_url="https://funil.example"), now)
    assert result.status is BuildStatus.READY, result.reason
    assert result.event is not None
    return result.event


def deliver(tg: TgEnv, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """The delivery consumer (DeliveryFunction, loaded fresh) on an SQS batch of those jobs."""
    from tests.integration.test_delivery_consumer import sqs_event

    function = load().functions["DeliveryFunction"]
    handler = load_handler(function, fresh=True)
    event = sqs_event(*(job["payment_id"] for job in jobs))
    return dict(handler(event, LambdaContext(function, "test")))


def asked(tg: TgEnv) -> None:
    tg.click(TOKEN)
    tg.start(MARIA, TOKEN)
    status, body = tg.callback(MARIA, "b:mentoria")
    assert (status, body["outcome"]) == (200, "bump_asked")


def test_the_bump_is_asked_before_the_pix(tg: TgEnv) -> None:
    asked(tg)
    assert tg.payments(MARIA) == [] and tg.sent("sendPhoto") == []
    question = messages(tg, MARIA)[-1]
    assert "Adicionar <b>Checklist de bônus</b> por R$ 14,90?" in question["text"]
    assert "R$ 211,90" in question["text"]
    rows = question["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in rows] == ["bb:mentoria", "bn:mentoria"]


def test_no_is_the_offer_alone(tg: TgEnv) -> None:
    asked(tg)
    assert tg.callback(MARIA, "bn:mentoria")[1]["outcome"] == "pix_created"
    [payment] = tg.payments(MARIA)
    assert payment["amount_cents"] == MAIN and "bump_payment_id" not in payment
    # A second tap of the offer shows the same charge: no second question.
    assert tg.callback(MARIA, "b:mentoria")[1]["outcome"] == "pix_reused"
    assert len(tg.sent("sendPhoto")) == 2 and len(tg.sandbox.charges) == 1


def test_yes_is_one_charge_for_both_then_two_sales_with_the_leads_attribution(tg: TgEnv) -> None:
    asked(tg)
    assert tg.callback(MARIA, "bb:mentoria")[1]["outcome"] == "pix_bundle_created"
    main = newest(tg, MARIA)
    [part] = [payment for payment in tg.payments(MARIA) if payment.get("bundle_of")]
    # One charge, of the sum; the bump is a payment of its own that the gateway never sees.
    [charge] = tg.sandbox.charges.values()
    assert charge["amount_cents"] == MAIN + BUMP == main["amount_cents"]
    assert (main["bump_payment_id"], main["bump_offer_id"], main["bump_amount_cents"]) == (
        part["payment_id"],
        "checklist",
        BUMP,
    )
    assert (part["bundle_of"], part["offer_id"], part["amount_cents"], part["status"]) == (
        main["payment_id"],
        "checklist",
        BUMP,
        "pending",
    )
    assert part["attribution"] == main["attribution"] and part["attribution"]["fbc"]
    assert main["gsi2pk"].startswith("PENDING#") and "gsi2pk" not in part  # the reconciler never reads it
    assert "gateway_id" not in part and "brcode" not in part
    [photo] = tg.sent("sendPhoto")
    assert "Mentoria em grupo + Checklist de bônus" in photo["caption"] and "R$ 211,90" in photo["caption"]
    assert [message["event_id"] for message in tg.drain() if message["kind"] != "Lead"] == [f"ic_{main['payment_id']}"]

    # Paid: the gateway's signed webhook confirms the main; the part follows it.
    paid = tg.sandbox.pay(main["payment_id"])
    assert gateway_webhook(tg)(paid, "charge.paid")["results"] == ["confirmed"]
    main, part = tg.payment(main["payment_id"]), tg.payment(part["payment_id"])
    assert main["status"] == part["status"] == "paid" and part["paid_at"] == main["paid_at"]
    assert part["delivery_token"] != main["delivery_token"]
    purchases = {message["event_id"]: message for message in tg.drain()}
    assert set(purchases) == {f"purchase_{main['payment_id']}", f"purchase_{part['payment_id']}"}
    lead = tg.lead(MARIA)
    assert lead is not None
    events = {payment_id: built(tg, purchases[f"purchase_{payment_id}"]) for payment_id in purchases_of(main, part)}
    main_event, part_event = events[main["payment_id"]], events[part["payment_id"]]
    assert (main_event["custom_data"]["value"], part_event["custom_data"]["value"]) == (197.0, 14.9)
    assert (main_event["custom_data"]["content_ids"], part_event["custom_data"]["content_ids"]) == (
        ["mentoria"],
        ["checklist"],
    )
    assert main_event["event_id"] != part_event["event_id"]
    for built_event in (main_event, part_event):
        assert built_event["user_data"]["fbc"] == lead["attribution"]["fbc"]
        assert built_event["event_name"] == "Purchase"

    # Two deliveries: each offer's own message.
    jobs = tg.drain("DeliveryQueue")
    assert sorted(job["payment_id"] for job in jobs) == sorted([main["payment_id"], part["payment_id"]])
    assert deliver(tg, jobs) == {"batchItemFailures": []}
    delivered = [call["text"] for call in messages(tg, MARIA) if "Pagamento confirmado" in call["text"]]
    assert len(delivered) == 2
    assert any("agenda dos encontros" in text for text in delivered)
    assert any("checklist" in text for text in delivered)

    # A repeated webhook hands nothing on twice.
    assert gateway_webhook(tg)(paid, "charge.paid")["results"] == ["unchanged:paid"]
    assert tg.drain() == [] and tg.drain("DeliveryQueue") == []

    # Refunded in full: both are given back, each with its own Refund.
    refunded = tg.sandbox.refund(main["payment_id"])
    assert gateway_webhook(tg)(refunded, "charge.refunded")["results"] == ["refunded"]
    assert tg.payment(main["payment_id"])["status"] == tg.payment(part["payment_id"])["status"] == "refunded"
    refunds = {message["event_id"] for message in tg.drain() if message["kind"] == "Refund"}
    assert refunds == {f"refund_{main['payment_id']}", f"refund_{part['payment_id']}"}


def purchases_of(*payments: dict[str, Any]) -> list[str]:
    return [str(payment["payment_id"]) for payment in payments]


def test_the_bumps_part_expires_and_is_cancelled_with_its_main(tg: TgEnv) -> None:
    asked(tg)
    tg.callback(MARIA, "bb:mentoria")
    main = newest(tg, MARIA)
    now = datetime.now(UTC)
    assert transitions.mark_expired(tg.table, main["payment_id"], now).changed
    assert tg.payment(main["bump_payment_id"])["status"] == "expired"
    # Paid late: the part is paid with it.
    paid = tg.sandbox.pay(main["payment_id"])
    assert gateway_webhook(tg)(paid, "charge.paid")["results"] == ["confirmed"]
    assert tg.payment(main["bump_payment_id"])["status"] == "paid"


def test_a_gateway_failure_cancels_both(tg: TgEnv) -> None:
    asked(tg)
    tg.sandbox.down = True
    assert tg.callback(MARIA, "bb:mentoria")[1]["outcome"] == "pix_failed"
    statuses = sorted(payment["status"] for payment in tg.payments(MARIA))
    assert statuses == ["canceled", "canceled"]


def test_a_partial_refund_leaves_the_part_paid(tg: TgEnv) -> None:
    asked(tg)
    tg.callback(MARIA, "bb:mentoria")
    main = newest(tg, MARIA)
    paid = tg.sandbox.pay(main["payment_id"])
    gateway_webhook(tg)(paid, "charge.paid")
    now = datetime.now(UTC)
    transitions.partial_refund(
        tg.table, main["payment_id"], 1000, conversions=_Null(), deliveries=_Null(), now=now, reason="refund"
    )
    assert tg.payment(main["payment_id"])["refund_state"] == "partial"
    assert tg.payment(main["bump_payment_id"])["status"] == "paid"
    assert json.dumps(tg.payment(main["bump_payment_id"])).count("refund") == 0


class _Null:
    def send(self, body: str, attributes: dict[str, str] | None = None) -> None:
        del body, attributes


def test_stars_carry_no_bump(tg: TgEnv) -> None:
    tg.table.update(f"BOT#{tg.bot_a}", "OFFER#mentoria", "SET stars_price = :s", {":s": 900})
    handler_deps_forget(tg)
    tg.click(TOKEN)
    tg.start(MARIA, TOKEN)
    assert tg.callback(MARIA, "s:mentoria")[1]["outcome"] == "stars_created"
    [payment] = tg.payments(MARIA)
    assert payment["amount_cents"] == 900 and "bump_payment_id" not in payment


def handler_deps_forget(tg: TgEnv) -> None:
    from local.handlers import handler_globals

    handler_globals(tg.handler)["DEPS"].forget_bot(tg.bot_a)
