"""Checkout through the webhook: PIX (QR, copy button, verify, reuse) and Telegram Stars, on moto."""

from __future__ import annotations

from typing import Any

from funil.payments.brcode import parse as parse_brcode

from local.handlers import handler_globals
from tests.unit.bot.telegram_harness import TgEnv

MARIA, JOAO = 5550001, 5550002


def started(tg: TgEnv, user_id: int = MARIA, token: str | None = "TokBuy01234567890123456") -> None:
    if token:
        tg.click(token)
    tg.start(user_id, token)
    tg.drain()


def test_buy_pix_creates_the_payment_with_the_snapshot_and_sends_the_qr(tg: TgEnv) -> None:
    started(tg)
    status, body = tg.callback(MARIA, "b:grupo_vip")
    assert (status, body["outcome"]) == (200, "pix_created")
    [payment] = tg.payments(MARIA)
    lead = tg.lead(MARIA)
    assert payment["status"] == "pending" and payment["method"] == "pix"
    assert (payment["amount_cents"], payment["currency"], payment["offer_id"]) == (1990, "BRL", "grupo_vip")
    # The snapshot, written with the payment: the lead's click, its first click's campaign and since when
    # it is a lead (what the funnel's counters read).
    first_touch = {
        name: lead["first_touch"][name]
        for name in ("click_token", "clicked_at", "link_slug", "utm", "ad")
        if lead["first_touch"].get(name)
    }
    assert payment["attribution"] == {
        **lead["attribution"],
        "first_touch": first_touch,
        "lead_since": lead["first_seen_at"],
    }
    assert payment["pixel_id"] == tg.seed.pixel_id and payment["bot_id"] == tg.bot_a
    assert payment["gateway_id"] == "gw_demo" and payment["gsi1pk"].startswith("GWCHARGE#gw_demo#")
    parsed = parse_brcode(payment["brcode"])
    assert parsed.amount_cents == 1990
    [photo] = tg.sent("sendPhoto")
    assert photo["chat_id"] == MARIA and payment["brcode"] in photo["caption"]
    uploaded = tg.fake.file(photo["photo"]["file_index"])
    assert uploaded is not None and uploaded.data.startswith(b"\x89PNG")
    rows = photo["reply_markup"]["inline_keyboard"]
    assert rows[0][0]["copy_text"] == {"text": payment["brcode"]}
    assert rows[1][0]["callback_data"] == f"c:{payment['payment_id']}"
    assert len(tg.sent("answerCallbackQuery")) == 1
    [checkout] = tg.drain()
    assert checkout["kind"] == "InitiateCheckout" and checkout["event_id"] == f"ic_{payment['payment_id']}"
    charge = tg.table.get(f"LEAD#{tg.bot_a}#{MARIA}", "CHARGE#grupo_vip")
    assert charge["payment_id"] == payment["payment_id"]


def test_second_buy_reuses_the_pending_charge(tg: TgEnv) -> None:
    started(tg)
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "pix_created"
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "pix_reused"
    [payment] = tg.payments(MARIA)
    first, second = tg.sent("sendPhoto")
    assert first["caption"] == second["caption"]
    assert len(tg.sandbox.charges) == 1
    assert [event["kind"] for event in tg.drain()] == ["InitiateCheckout"]
    # another offer is another charge
    assert tg.callback(MARIA, "b:curso")[1]["outcome"] == "pix_created"
    assert len(tg.payments(MARIA)) == 2
    del payment


def test_buy_after_expiry_or_payment_creates_a_new_charge(tg: TgEnv) -> None:
    started(tg)
    tg.callback(MARIA, "b:grupo_vip")
    [payment] = tg.payments(MARIA)
    tg.table.update(f"PAYMENT#{payment['payment_id']}", "PAYMENT", "SET charge_expires_at = :t",
                    {":t": "2020-01-01T00:00:00.000Z"})  # fmt: skip
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "pix_created"
    assert len(tg.payments(MARIA)) == 2


def test_organic_lead_buys_with_no_click_in_its_snapshot(tg: TgEnv) -> None:
    started(tg, token=None)
    assert tg.callback(MARIA, "b:curso")[1]["outcome"] == "pix_created"
    [payment] = tg.payments(MARIA)
    assert payment["attribution"] == {"lead_since": tg.lead(MARIA)["first_seen_at"]}
    assert payment["pixel_id"] == tg.seed.pixel_id


def test_buy_without_a_start_creates_the_lead_first(tg: TgEnv) -> None:
    assert tg.callback(JOAO, "b:curso")[1]["outcome"] == "pix_created"
    assert tg.lead(JOAO)["attributed"] is False


def test_unknown_offer_is_answered(tg: TgEnv) -> None:
    started(tg)
    assert tg.callback(MARIA, "b:nope")[1]["outcome"] == "callback_unknown"
    assert tg.payments(MARIA) == []
    assert tg.sent("answerCallbackQuery")[0]["text"]


def test_verify_button_confirms_through_the_state_machine(tg: TgEnv) -> None:
    started(tg)
    tg.callback(MARIA, "b:grupo_vip")
    tg.drain()
    [payment] = tg.payments(MARIA)
    payment_id = payment["payment_id"]
    assert tg.callback(MARIA, f"c:{payment_id}")[1]["outcome"] == "check_pending"
    assert tg.payment(payment_id)["status"] == "pending"
    tg.sandbox.pay(payment_id)  # the buyer paid; the webhook has not arrived
    assert tg.callback(MARIA, f"c:{payment_id}")[1]["outcome"] == "check_paid"
    paid = tg.payment(payment_id)
    assert paid["status"] == "paid" and paid["delivery_token"]
    assert [event["event_id"] for event in tg.drain()] == [f"purchase_{payment_id}"]
    assert tg.drain("DeliveryQueue") == [{"version": 1, "payment_id": payment_id, "tenant_id": tg.tenant}]
    assert tg.callback(MARIA, f"c:{payment_id}")[1]["outcome"] == "check_paid"  # no second hand-on
    assert tg.drain() == [] and tg.drain("DeliveryQueue") == []
    answers = tg.sent("answerCallbackQuery")
    assert "Ainda não" in answers[1]["text"] and "confirmado" in answers[2]["text"]


def test_verify_someone_elses_payment_reveals_nothing(tg: TgEnv) -> None:
    started(tg)
    tg.callback(MARIA, "b:grupo_vip")
    [payment] = tg.payments(MARIA)
    tg.sandbox.pay(payment["payment_id"])
    assert tg.callback(JOAO, f"c:{payment['payment_id']}")[1]["outcome"] == "check_unknown"
    assert tg.payment(payment["payment_id"])["status"] == "pending"
    assert tg.callback(MARIA, f"c:{payment['payment_id']}", bot_id=tg.bot_b)[1]["outcome"] == "check_unknown"


def test_gateway_down_no_charge_no_ic(tg: TgEnv) -> None:
    started(tg)
    tg.sandbox.down = True
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "pix_failed"
    [payment] = tg.payments(MARIA)
    assert payment["status"] == "canceled"
    assert tg.drain() == []
    assert "Não foi possível" in tg.sent("sendMessage")[-1]["text"]
    tg.sandbox.down = False
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "pix_created"


def test_blocked_buyer_during_checkout(tg: TgEnv) -> None:
    started(tg)
    tg.fake.block(MARIA, bot=tg.bot_a, times=None)
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "user_unreachable"
    assert tg.lead(MARIA)["reachable"] is False
    assert tg.table.get(f"BOT#{tg.bot_a}", "BOT")["health"]["status"] == "healthy"


# -- Telegram Stars -----------------------------------------------------------------------------


def stars_update(tg: TgEnv, kind: str, payload: str, amount: int, user_id: int = MARIA, **extra: Any) -> Any:
    sender = {"id": user_id, "is_bot": False, "first_name": "Maria"}
    if kind == "pre_checkout_query":
        return {"pre_checkout_query": {"id": "pcq" + payload[-6:], "from": sender, "currency": "XTR",
                                       "total_amount": amount, "invoice_payload": payload}}  # fmt: skip
    return {
        "message": {
            "message_id": 99, "from": sender, "chat": {"id": user_id, "type": "private"}, "date": 1795372260,
            kind: {"currency": "XTR", "total_amount": amount, "invoice_payload": payload,
                   "telegram_payment_charge_id": extra.get("charge_id", "stxCharge0001"),
                   "provider_payment_charge_id": ""},
        }
    }  # fmt: skip


def test_stars_flow(tg: TgEnv) -> None:
    started(tg)
    assert tg.callback(MARIA, "s:grupo_vip")[1]["outcome"] == "stars_created"
    [payment] = tg.payments(MARIA)
    payment_id = payment["payment_id"]
    assert (payment["method"], payment["currency"], payment["amount_cents"]) == ("stars", "XTR", 150)
    assert (payment["fiat_amount_cents"], payment["fiat_currency"]) == (1990, "BRL")
    assert {
        name: value for name, value in payment["attribution"].items() if name not in ("first_touch", "lead_since")
    } == tg.lead(MARIA)["attribution"]
    [invoice] = tg.sent("sendInvoice")
    assert invoice["currency"] == "XTR" and invoice["prices"] == [{"label": "Grupo VIP (30 dias)", "amount": 150}]
    assert invoice["payload"] == f"p:{payment_id}"
    assert [event["kind"] for event in tg.drain()] == ["InitiateCheckout"]
    # a second tap shows the same invoice
    assert tg.callback(MARIA, "s:grupo_vip")[1]["outcome"] == "stars_reused"
    assert len(tg.payments(MARIA)) == 1
    # pre-checkout: wrong amount refused, right one accepted
    assert tg.post(stars_update(tg, "pre_checkout_query", f"p:{payment_id}", 149))[1]["outcome"] == (
        "pre_checkout_refused_amount_mismatch"
    )
    assert tg.post(stars_update(tg, "pre_checkout_query", f"p:{payment_id}", 150))[1]["outcome"] == "pre_checkout_ok"
    answers = tg.sent("answerPreCheckoutQuery")
    assert [answer["ok"] for answer in answers] == [False, True] and answers[0]["error_message"]
    # successful_payment confirms once, keyed by telegram_payment_charge_id
    update = stars_update(tg, "successful_payment", f"p:{payment_id}", 150)
    assert tg.post(update)[1]["outcome"] == "stars_confirmed"
    paid = tg.payment(payment_id)
    assert paid["status"] == "paid" and paid["telegram_payment_charge_id"] == "stxCharge0001"
    assert paid["gsi1pk"] == "STARS#stxCharge0001"
    assert [event["event_id"] for event in tg.drain()] == [f"purchase_{payment_id}"]
    assert tg.drain("DeliveryQueue") == [{"version": 1, "payment_id": payment_id, "tenant_id": tg.tenant}]
    assert tg.post(stars_update(tg, "successful_payment", f"p:{payment_id}", 150))[1]["outcome"] == (
        "stars_unchanged:paid"
    )
    assert tg.drain() == [] and tg.drain("DeliveryQueue") == []
    # after payment the pre-checkout of that invoice is refused
    assert tg.post(stars_update(tg, "pre_checkout_query", f"p:{payment_id}", 150))[1]["outcome"] == (
        "pre_checkout_refused_status_paid"
    )


def test_stars_refund_by_support_and_by_telegram(tg: TgEnv) -> None:
    from funil.adapters.telegram import TelegramClient
    from funil.bot.checkout import refund_stars

    started(tg)
    tg.callback(MARIA, "s:grupo_vip")
    [payment] = tg.payments(MARIA)
    payment_id = payment["payment_id"]
    tg.post(stars_update(tg, "successful_payment", f"p:{payment_id}", 150))
    tg.drain()
    deps = handler_globals(tg.handler)["DEPS"]
    bot = deps.bot(tg.bot_a)
    assert refund_stars(deps, bot, TelegramClient(tg.bot()["token"]), payment_id) == "refund_refunded"
    assert tg.sent("refundStarPayment") == [{"user_id": MARIA, "telegram_payment_charge_id": "stxCharge0001"}]
    assert tg.payment(payment_id)["status"] == "refunded"
    assert [event["event_id"] for event in tg.drain()] == [f"refund_{payment_id}"]
    # Telegram then reports the refund: nothing more happens
    update = stars_update(tg, "refunded_payment", f"p:{payment_id}", 150)
    assert tg.post(update)[1]["outcome"] == "refund_unchanged:refunded"
    assert tg.drain() == []


def test_stars_someone_elses_invoice_is_refused(tg: TgEnv) -> None:
    started(tg)
    tg.callback(MARIA, "s:grupo_vip")
    [payment] = tg.payments(MARIA)
    payload = f"p:{payment['payment_id']}"
    assert tg.post(stars_update(tg, "pre_checkout_query", payload, 150, JOAO))[1]["outcome"] == (
        "pre_checkout_refused_unknown_payment"
    )
    assert tg.post(stars_update(tg, "pre_checkout_query", "p:nothex", 150))[1]["outcome"] == (
        "pre_checkout_refused_unknown_payment"
    )
    assert tg.post(stars_update(tg, "successful_payment", payload, 150, JOAO))[1]["outcome"].startswith(
        "stars_unmatched"
    )
    assert tg.payment(payment["payment_id"])["status"] == "pending"


def test_offer_without_stars_price(tg: TgEnv) -> None:
    started(tg)
    assert tg.callback(MARIA, "s:curso")[1]["outcome"] == "stars_unavailable"
    assert tg.payments(MARIA) == []


def test_paysupport(tg: TgEnv) -> None:
    assert tg.post(tg.message(MARIA, "/paysupport"))[1]["outcome"] == "paysupport"
    assert "reembolsados" in tg.sent("sendMessage")[0]["text"]
