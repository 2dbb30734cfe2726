"""functions/delivery against moto and the fake Bot API over HTTP (python-telegram-bot on the wire).

Every Bot API call the consumer makes is validated against the spec oracle (the telegram_api
fixture fails the test on any violation).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from local.fakes.telegram_api import FakeTelegramApi, RunningFake
from local.handlers import LambdaContext
from local.template import ROOT, load
from tests.conftest import load_event
from tests.telegram_fixtures import TOKEN_A, TOKEN_B, telegram_api, telegram_server

__all__ = ["telegram_api", "telegram_server"]

PAYMENT = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # events/sqs_delivery.json
BUYER = 555000111
VIP_CHAT = -1001987654321
PUBLIC = "https://funil.example"


@pytest.fixture
def bots(table: Any, seed: Any, aws_env: Any, telegram_api: FakeTelegramApi) -> dict[str, str]:
    """The demo bots get (fake) tokens, KMS-encrypted into their items as the admin stores them."""
    from funil import encryption, keys
    from funil.adapters.kms import Kms

    ids = [bot["id"] for bot in seed.bots]
    for bot_id, token in zip(ids, (TOKEN_A, TOKEN_B), strict=False):
        key_id = aws_env.keys["SecretsKey"]
        ciphertext = encryption.encrypt_field(Kms(), key_id, keys.bot(bot_id), encryption.BOT_TOKEN, token)
        table.update(f"BOT#{bot_id}", "BOT", "SET token_ciphertext = :c", {":c": ciphertext})
        telegram_api.register_bot(token, bot_id)
    return {ids[0]: TOKEN_A, ids[1]: TOKEN_B}


@pytest.fixture
def consumer(aws_env: Any, telegram_server: RunningFake, bots: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The handler module, loaded fresh (a new container) with the fake Bot API as Telegram."""
    import boto3

    url = boto3.client("sqs").create_queue(QueueName="DeliveryQueueForTests")["QueueUrl"]
    monkeypatch.setenv("DELIVERY_QUEUE_URL", aws_env.queues.get("DeliveryQueue", url))
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    spec = importlib.util.spec_from_file_location("funil_fn_delivery_test", ROOT / "functions/delivery/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.delays = []
    module.DEPS.delay_retry = lambda handle, seconds: module.delays.append((handle, seconds))
    yield module
    sys.modules.pop(spec.name, None)


def put_offer(table: Any, seed: Any, delivery: dict[str, Any], offer_id: str = "vip_mensal") -> None:
    table.put(
        {
            "pk": f"BOT#{seed.bots[0]['id']}",
            "sk": f"OFFER#{offer_id}",
            "type": "offer",
            "tenant_id": seed.tenant_id,
            "offer_id": offer_id,
            "title": "Grupo VIP — mensal",
            "price_cents": 4990,
            "delivery": delivery,
        }
    )


def put_payment(table: Any, seed: Any, payment_id: str = PAYMENT, buyer: int = BUYER, **changes: Any) -> None:
    item = {
        "pk": f"PAYMENT#{payment_id}",
        "sk": "PAYMENT",
        "type": "payment",
        "tenant_id": seed.tenant_id,
        "payment_id": payment_id,
        "bot_id": seed.bots[0]["id"],
        "telegram_user_id": buyer,
        "offer_id": "vip_mensal",
        "offer_name": "Grupo VIP — mensal",
        "amount_cents": 4990,
        "currency": "BRL",
        "status": "paid",
        "paid_at": "2026-11-22T18:05:00.000Z",
        "delivery_token": f"Tok{payment_id[:20]}xyz",
    }
    item.update(changes)
    table.put(item)


def sqs_event(*payment_ids: str) -> dict[str, Any]:
    template = load_event("sqs_delivery.json")["Records"][0]
    records = []
    for index, payment_id in enumerate(payment_ids):
        record = json.loads(json.dumps(template))
        record["messageId"] = f"m{index}-{payment_id[:8]}"
        record["receiptHandle"] = f"rh{index}"
        record["body"] = json.dumps({"version": 1, "payment_id": payment_id, "tenant_id": "t_demo"})
        records.append(record)
    return {"Records": records}


def run(consumer: Any, event: dict[str, Any]) -> dict[str, Any]:
    return consumer.lambda_handler(event, LambdaContext(load().functions["DeliveryFunction"], "test"))


MESSAGE = {"kind": "message", "text": "Aqui está o seu curso:", "url": "https://cursos.example/acesso/abc"}


def test_duplicate_messages_deliver_once(consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi) -> None:
    put_offer(table, seed, MESSAGE)
    put_payment(table, seed)
    event = load_event("sqs_delivery.json")  # the same payment twice in one batch
    assert run(consumer, event) == {"batchItemFailures": []}
    assert run(consumer, event) == {"batchItemFailures": []}  # and again, redelivered
    sent = telegram_api.sent("sendMessage")
    assert len(sent) == 1
    message = sent[0]
    assert message["chat_id"] == BUYER
    assert "Aqui está o seu curso:" in message["text"] and "https://cursos.example/acesso/abc" in message["text"]
    assert f"{PUBLIC}/d/Tok{PAYMENT[:20]}xyz" in message["text"]
    assert message["link_preview_options"] == {"is_disabled": True}
    assert message["reply_markup"] == {
        "inline_keyboard": [[{"text": "Acessar", "url": "https://cursos.example/acesso/abc"}]]
    }
    record = table.get(f"PAYMENT#{PAYMENT}", "DELIVERY")
    assert record["status"] == "delivered" and record["message_id"] == 1 and record["attempts"] == 1


def test_invite_link_per_buyer(consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi) -> None:
    put_offer(table, seed, {"kind": "invite_link", "chat_id": VIP_CHAT})
    put_payment(table, seed, "a" * 32, buyer=1001)
    put_payment(table, seed, "b" * 32, buyer=1002)
    assert run(consumer, sqs_event("a" * 32, "b" * 32, "a" * 32)) == {"batchItemFailures": []}
    created = telegram_api.sent("createChatInviteLink")
    assert len(created) == 2
    assert all(call["chat_id"] == VIP_CHAT and call["member_limit"] == 1 for call in created)
    assert all("creates_join_request" not in call for call in created)
    links = [
        call["result"]["invite_link"] for call in telegram_api.detailed() if call["method"] == "createChatInviteLink"
    ]
    assert len(set(links)) == 2  # never a link shared by buyers
    by_buyer = {call["chat_id"]: call["text"] for call in telegram_api.sent("sendMessage")}
    assert links[0] in by_buyer[1001] and links[0] not in by_buyer[1002]
    assert links[1] in by_buyer[1002]
    assert table.get(f"PAYMENT#{'a' * 32}", "DELIVERY")["invite_link"] == links[0]


def test_join_request_link_is_approved_only_for_the_buyer(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    from funil.delivery.join_requests import decide_join_request

    put_offer(table, seed, {"kind": "join_request", "chat_id": VIP_CHAT})
    put_payment(table, seed)
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}
    (created,) = [call for call in telegram_api.detailed() if call["method"] == "createChatInviteLink"]
    assert created["params"]["creates_join_request"] is True and "member_limit" not in created["params"]
    link = created["result"]

    def request(user: int, chat: int = VIP_CHAT, bot: str = seed.bots[0]["id"]) -> Any:
        update = {"chat": {"id": chat, "type": "supergroup", "title": "VIP"}, "from": {"id": user, "is_bot": False,
                  "first_name": "X"}, "user_chat_id": user, "date": 1795373000, "invite_link": link}  # fmt: skip
        return decide_join_request(table, bot, update, datetime.now(UTC))

    assert request(BUYER).approve is True
    assert request(424242).approve is False and request(424242).reason == "not_the_buyer"
    assert request(BUYER, chat=-100555).approve is False
    assert request(BUYER, bot=seed.bots[1]["id"]).approve is False
    assert decide_join_request(table, seed.bots[0]["id"], {"chat": {"id": VIP_CHAT}, "from": {"id": BUYER}},
                               datetime.now(UTC)).approve is False  # fmt: skip


def test_blocked_buyer_is_unreachable_and_acknowledged(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    put_offer(table, seed, MESSAGE)
    put_payment(table, seed)
    table.put({"pk": f"LEAD#{seed.bots[0]['id']}#{BUYER}", "sk": "LEAD", "tenant_id": seed.tenant_id})
    telegram_api.block(BUYER)
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}
    assert table.get(f"PAYMENT#{PAYMENT}", "DELIVERY")["status"] == "unreachable"
    lead = table.get(f"LEAD#{seed.bots[0]['id']}#{BUYER}", "LEAD")
    assert lead["reachable"] is False and lead["unreachable_reason"] == "blocked_bot"
    assert table.get(f"BOT#{seed.bots[0]['id']}", "BOT")["health"]["status"] == "healthy"  # never the bot's
    calls = len(telegram_api.recorded())
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}
    assert len(telegram_api.recorded()) == calls  # final: not retried


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_rate_limit_retries_after_retry_after_and_reuses_the_invite_link(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    put_offer(table, seed, {"kind": "invite_link", "chat_id": VIP_CHAT})
    put_payment(table, seed)
    telegram_api.rate_limit(7, method="sendMessage")
    event = sqs_event(PAYMENT)
    assert run(consumer, event) == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert consumer.delays == [("rh0", 7)]  # the message's visibility timeout = retry_after
    record = table.get(f"PAYMENT#{PAYMENT}", "DELIVERY")
    assert record["status"] == "retry" and record["claim_expires_at"] == 0
    assert run(consumer, event) == {"batchItemFailures": []}  # redelivered after the delay
    assert len(telegram_api.sent("createChatInviteLink")) == 1  # the first attempt's link, reused
    (message,) = telegram_api.sent("sendMessage")
    assert record["invite_link"] in message["text"]
    assert table.get(f"PAYMENT#{PAYMENT}", "DELIVERY")["status"] == "delivered"


def test_revoked_token_marks_the_bot_and_retries(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    put_offer(table, seed, MESSAGE)
    put_payment(table, seed)
    telegram_api.revoke_token(TOKEN_A)
    event = sqs_event(PAYMENT)
    assert run(consumer, event)["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
    assert table.get(f"BOT#{seed.bots[0]['id']}", "BOT")["health"]["status"] == "token_invalid"


@pytest.mark.parametrize("status", ["pending", "refunded", "expired"])
def test_unpaid_payments_are_not_delivered(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi, status: str
) -> None:
    put_offer(table, seed, MESSAGE)
    put_payment(table, seed, status=status)
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}
    assert telegram_api.recorded() == []


def test_unknown_payment_other_tenant_and_garbage_are_dropped(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    put_offer(table, seed, MESSAGE)
    put_payment(table, seed, tenant_id="t_other")
    event = sqs_event("c" * 32, PAYMENT)
    event["Records"].append({**event["Records"][0], "messageId": "garbage", "body": "not json"})
    assert run(consumer, event) == {"batchItemFailures": []}
    assert telegram_api.recorded() == []


def test_offer_without_delivery_is_recorded_undeliverable(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    put_payment(table, seed)
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}
    assert table.get(f"PAYMENT#{PAYMENT}", "DELIVERY")["status"] == "undeliverable"
    assert telegram_api.recorded() == []


def test_a_live_claim_of_another_consumer_is_retried_not_dropped(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    put_offer(table, seed, MESSAGE)
    put_payment(table, seed)
    table.put({"pk": f"PAYMENT#{PAYMENT}", "sk": "DELIVERY", "status": "in_progress", "claim_id": "other",
               "claim_expires_at": int(datetime.now(UTC).timestamp()) + 60})  # fmt: skip
    event = sqs_event(PAYMENT)
    assert run(consumer, event)["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
    assert telegram_api.recorded() == []


class _Sink:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send(self, body: str, attributes: dict[str, str] | None = None) -> str:
        self.bodies.append(body)
        return str(len(self.bodies))


def test_the_payments_cores_confirmation_feeds_the_consumer_and_the_page(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi, invoke: Any
) -> None:
    """Schema check across the seam: confirm() → delivery body → this consumer → /d/{token}."""
    from funil.payments.models import Payment
    from funil.payments.storage import Payments
    from funil.payments.transitions import confirm

    put_offer(table, seed, MESSAGE)
    now = datetime.now(UTC)
    payment = Payment.new(tenant_id=seed.tenant_id, amount_cents=4990, now=now, bot_id=seed.bots[0]["id"],
                          telegram_user_id=BUYER, offer_id="vip_mensal", offer_name="Grupo VIP — mensal",
                          pixel_id=seed.pixel_id)  # fmt: skip
    Payments(table).create(payment)
    conversions, deliveries = _Sink(), _Sink()
    confirm(table, payment.payment_id, now, conversions=conversions, deliveries=deliveries, now=now)
    confirm(table, payment.payment_id, now, conversions=conversions, deliveries=deliveries, now=now)  # a repeat
    assert len(deliveries.bodies) == 1
    event = sqs_event(payment.payment_id)
    event["Records"][0]["body"] = deliveries.bodies[0]
    assert run(consumer, event) == {"batchItemFailures": []}
    (message,) = telegram_api.sent("sendMessage")
    token = Payments(table).get(payment.payment_id)["delivery_token"]
    assert f"{PUBLIC}/d/{token}" in message["text"]

    request = load_event("delivery_page_get.json")
    request["pathParameters"]["token"] = token
    page = invoke("DeliveryPageFunction", request)
    assert page["statusCode"] == 200 and f"purchase_{payment.payment_id}" in page["body"]
    assert "https://cursos.example/acesso/abc" in page["body"]  # delivered: the access is on the page


# -- a refund takes the access back ------------------------------------------------------------------


def refund_and_redeliver(consumer: Any, table: Any, payment_id: str = PAYMENT) -> dict[str, Any]:
    """paid → refunded through the payments core, then the delivery queue's message for the payment."""
    from funil.payments.transitions import delivery_body, refund

    now = datetime.now(UTC)
    outcome = refund(table, payment_id, conversions=_Sink(), deliveries=_Sink(), now=now)
    assert outcome.status == "refunded"
    event = sqs_event(payment_id)
    event["Records"][0]["body"] = delivery_body(outcome.payment)
    return run(consumer, event)


def join_request(table: Any, seed: Any, link: dict[str, Any], user: int = BUYER) -> Any:
    from funil.delivery.join_requests import decide_join_request

    update = {"chat": {"id": VIP_CHAT, "type": "supergroup", "title": "VIP"}, "from": {"id": user, "is_bot": False,
              "first_name": "X"}, "user_chat_id": user, "date": 1795373000, "invite_link": link}  # fmt: skip
    return decide_join_request(table, seed.bots[0]["id"], update, datetime.now(UTC))


def created_link(telegram_api: FakeTelegramApi) -> dict[str, Any]:
    (created,) = [call for call in telegram_api.detailed() if call["method"] == "createChatInviteLink"]
    return dict(created["result"])


def test_refund_revokes_the_unused_invite_link_once(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    put_offer(table, seed, {"kind": "invite_link", "chat_id": VIP_CHAT})
    put_payment(table, seed)
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}
    link = created_link(telegram_api)["invite_link"]

    assert refund_and_redeliver(consumer, table) == {"batchItemFailures": []}
    (revoked,) = telegram_api.sent("revokeChatInviteLink")
    assert revoked["chat_id"] == VIP_CHAT and revoked["invite_link"] == link
    record = table.get(f"PAYMENT#{PAYMENT}", "DELIVERY")
    assert record["access_revoke"] == "revoked" and record["access_revoked_at"]

    calls = len(telegram_api.recorded())
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}  # redelivered: nothing repeated
    assert len(telegram_api.recorded()) == calls
    assert len(telegram_api.sent("sendMessage")) == 1  # and the product is never sent again


def test_refund_declines_the_buyers_join_request_even_before_the_revocation_runs(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    from funil.payments.transitions import refund

    put_offer(table, seed, {"kind": "join_request", "chat_id": VIP_CHAT})
    put_payment(table, seed)
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}
    link = created_link(telegram_api)
    refund(table, PAYMENT, conversions=_Sink(), deliveries=_Sink(), now=datetime.now(UTC))
    assert (join_request(table, seed, link).approve, join_request(table, seed, link).reason) == (
        False,
        "payment_not_paid",
    )

    event = sqs_event(PAYMENT)
    assert run(consumer, event) == {"batchItemFailures": []}
    (revoked,) = telegram_api.sent("revokeChatInviteLink")
    assert revoked["invite_link"] == link["invite_link"]
    decision = join_request(table, seed, link)
    assert (decision.approve, decision.reason) == (False, "revoked")


def test_refund_after_the_buyer_joined_does_not_revoke(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    put_offer(table, seed, {"kind": "join_request", "chat_id": VIP_CHAT})
    put_payment(table, seed)
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}
    link = created_link(telegram_api)
    assert join_request(table, seed, link).approve is True  # the buyer joined through it

    assert refund_and_redeliver(consumer, table) == {"batchItemFailures": []}
    assert telegram_api.sent("revokeChatInviteLink") == []
    assert table.get(f"PAYMENT#{PAYMENT}", "DELIVERY")["access_revoke"] == "already_used"
    assert join_request(table, seed, link).approve is False  # a second request is not approved


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_refund_revocation_is_retried_when_telegram_rate_limits(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    put_offer(table, seed, {"kind": "invite_link", "chat_id": VIP_CHAT})
    put_payment(table, seed)
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}
    telegram_api.rate_limit(5, method="revokeChatInviteLink")
    failed = refund_and_redeliver(consumer, table)
    assert len(failed["batchItemFailures"]) == 1 and consumer.delays == [("rh0", 5)]
    assert "access_revoked_at" not in table.get(f"PAYMENT#{PAYMENT}", "DELIVERY")
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}  # redelivered after the delay
    assert table.get(f"PAYMENT#{PAYMENT}", "DELIVERY")["access_revoke"] == "revoked"


def test_refund_of_a_message_delivery_has_nothing_to_revoke(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    put_offer(table, seed, MESSAGE)
    put_payment(table, seed)
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}
    calls = len(telegram_api.recorded())
    assert refund_and_redeliver(consumer, table) == {"batchItemFailures": []}
    assert len(telegram_api.recorded()) == calls


def test_refund_while_the_delivery_is_in_progress_waits_for_it_then_revokes(
    consumer: Any, table: Any, seed: Any, telegram_api: FakeTelegramApi
) -> None:
    from funil.delivery.storage import DeliveryRecords

    put_offer(table, seed, {"kind": "invite_link", "chat_id": VIP_CHAT})
    put_payment(table, seed)
    payment = table.get(f"PAYMENT#{PAYMENT}", "PAYMENT")
    records = DeliveryRecords(table)
    claim = records.claim(payment, "other-consumer", datetime.now(UTC))  # another consumer, mid-delivery
    assert not hasattr(claim, "final")

    failed = refund_and_redeliver(consumer, table)
    assert len(failed["batchItemFailures"]) == 1  # retried, not skipped: the link is about to exist
    assert telegram_api.sent("revokeChatInviteLink") == []

    records.release(PAYMENT, "other-consumer", "test", datetime.now(UTC))  # that consumer is done
    records.keep_invite_link(PAYMENT, "other-consumer", "https://t.me/+InProgress01", VIP_CHAT)
    assert run(consumer, sqs_event(PAYMENT)) == {"batchItemFailures": []}
    (revoked,) = telegram_api.sent("revokeChatInviteLink")
    assert revoked["invite_link"] == "https://t.me/+InProgress01"
