"""POST /pay/{gateway_id}/{secret} through the real handler on moto, with the sandbox gateway's fake.

Each case asserts the exact status code and the table/queue state afterwards.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from local import aws
from local.fakes.sandbox import SandboxGateway
from local.handlers import LambdaContext, handler_globals, load_handler
from local.template import load
from tests.conftest import load_event

RUN = "GatewayWebhookFunction"
URL_SECRET = "wUrl-3f9c1b7e5d2a4c6e8f0a1b3c5d7e9f1a2b4c"
OTHER_URL_SECRET = "oUrl-8e6c4a2f0d1b3e5c7a9f2d4b6e8c0a1f3d5b"
WEBHOOK_SECRET = "whsec-tenant-one-0123456789abcdef0123456789"
OTHER_WEBHOOK_SECRET = "whsec-tenant-two-fedcba9876543210fedcba98"


def queue_count(resources: aws.Resources, logical_id: str) -> int:
    sqs = boto3.client("sqs", region_name=aws.REGION)
    attributes = sqs.get_queue_attributes(
        QueueUrl=resources.queues[logical_id],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def drain(resources: aws.Resources, logical_id: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=aws.REGION)
    bodies: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=resources.queues[logical_id], MaxNumberOfMessages=10)
        messages = got.get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=resources.queues[logical_id], ReceiptHandle=message["ReceiptHandle"])


@dataclass
class PayEnv:
    resources: aws.Resources
    table: Any
    fake: SandboxGateway
    other: SandboxGateway
    handler: Any
    function: Any
    payments: list[str] = field(default_factory=list)

    def adapter(self, gateway_id: str = "gw_sandbox") -> Any:
        item = self.table.get(f"GATEWAY#{gateway_id}", "GATEWAY")
        return handler_globals(self.handler)["DEPS"].adapter(item)

    def create_payment(
        self, amount_cents: int = 1990, gateway_id: str = "gw_sandbox", record_charge: bool = True
    ) -> str:
        from funil.payments.gateways.base import ChargeRequest
        from funil.payments.models import Payment
        from funil.payments.storage import Payments

        tenant = "t2" if gateway_id == "gw_other" else "t1"
        payment = Payment.new(
            tenant_id=tenant, amount_cents=amount_cents, now=datetime.now(UTC), bot_id="bot1", telegram_user_id=42
        )
        charge = self.adapter(gateway_id).create_charge(
            ChargeRequest(payment_id=payment.payment_id, amount_cents=amount_cents, description="VIP")
        )
        if record_charge:
            payment = payment.model_copy(
                update={
                    "gateway_id": gateway_id,
                    "gateway_charge_id": charge.gateway_charge_id,
                    "brcode": charge.brcode,
                }
            )
        Payments(self.table).create(payment)
        return payment.payment_id

    def payment(self, payment_id: str) -> dict[str, Any]:
        item = self.table.get(f"PAYMENT#{payment_id}", "PAYMENT", consistent=True)
        assert item is not None
        return item

    def post(
        self, headers: dict[str, str], body: bytes, gateway_id: str = "gw_sandbox", secret: str = URL_SECRET
    ) -> tuple[int, dict[str, Any]]:
        event = load_event("gateway_webhook_post.json")
        event["pathParameters"] = {"gateway_id": gateway_id, "secret": secret}
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/pay/{gateway_id}/{secret}"
        event["headers"] = {**{k: v for k, v in event["headers"].items() if k != "sandbox-signature"}, **headers}
        event["body"] = body.decode()
        answer = self.handler(event, LambdaContext(self.function, "test"))
        return answer["statusCode"], json.loads(answer["body"])

    def webhook(self, payment_id: str, event_type: str = "charge.paid", **changes: Any) -> tuple[dict[str, str], bytes]:
        charge = dict(self.fake.find(payment_id) or {})
        charge.update({"status": {"charge.paid": "paid", "charge.refunded": "refunded"}.get(event_type, "pending")})
        charge.setdefault("paid_at", None)
        if charge["status"] == "paid" and not charge["paid_at"]:
            charge["paid_at"] = "2026-11-22T18:35:00.000Z"
        charge.update(changes.pop("data", {}))
        return self.fake.signed_webhook(charge, event_type, **changes)

    def webhooks_stored(self) -> int:
        client = boto3.client("dynamodb", region_name=aws.REGION)
        items = client.scan(TableName=self.resources.tables["AppTable"])["Items"]
        return sum(1 for item in items if item["sk"]["S"] == "WEBHOOK")


@pytest.fixture
def pay(aws_env: aws.Resources, table: Any) -> PayEnv:
    from funil.adapters.kms import Kms
    from funil.payments.gateway_items import Gateway

    fake = SandboxGateway(webhook_secret=WEBHOOK_SECRET)
    other = SandboxGateway(webhook_secret=OTHER_WEBHOOK_SECRET, api_key="other-api-key")
    kms, key = Kms(), aws_env.keys["SecretsKey"]
    for gateway_id, tenant, gateway_fake, url_secret, options in (
        ("gw_sandbox", "t1", fake, URL_SECRET, {}),
        ("gw_other", "t2", other, OTHER_URL_SECRET, {}),
        ("gw_hint", "t1", fake, URL_SECRET, {"webhook_mode": "hint"}),
    ):
        gateway = Gateway(
            gateway_id=gateway_id, tenant_id=tenant, kind="sandbox", base_url="http://sandbox.test", options=options
        )
        credentials = {"api_key": gateway_fake.api_key, "webhook_secret": gateway_fake.webhook_secret}
        table.put(gateway.to_item(kms, key, credentials, url_secret))
    function = load().functions[RUN]
    handler = load_handler(function, fresh=True)

    def route(request: httpx.Request) -> httpx.Response:
        return (other if request.headers.get("authorization") == f"Bearer {other.api_key}" else fake).handle(request)

    handler_globals(handler)["DEPS"].http = httpx.Client(transport=httpx.MockTransport(route))
    return PayEnv(aws_env, table, fake, other, handler, function)


def test_good_webhook_confirms_and_hands_on(pay: PayEnv) -> None:
    payment_id = pay.create_payment()
    status, body = pay.post(*pay.webhook(payment_id))
    assert (status, body["results"]) == (200, ["confirmed"])
    payment = pay.payment(payment_id)
    assert payment["status"] == "paid"
    assert payment["paid_at"] == "2026-11-22T18:35:00.000Z"
    assert payment["gsi2pk"] == f"DELIVERY#{payment['delivery_token']}"
    assert payment["purchase_enqueued_at"] and payment["delivery_enqueued_at"]
    [purchase] = drain(pay.resources, "ConversionsQueue")
    assert purchase["kind"] == "Purchase" and purchase["event_id"] == f"purchase_{payment_id}"
    assert purchase["occurred_at"].startswith("2026-11-22T18:35:00") and purchase["tenant_id"] == "t1"
    assert drain(pay.resources, "DeliveryQueue") == [{"version": 1, "payment_id": payment_id, "tenant_id": "t1"}]
    assert pay.webhooks_stored() == 1


def test_stored_webhook_is_redacted(pay: PayEnv) -> None:
    payment_id = pay.create_payment()
    headers, body = pay.webhook(payment_id, data={"payer": {"name": "Ana", "document": "12345678909"}})
    pay.post({**headers, "authorization": "Bearer secret-token"}, body)
    client = boto3.client("dynamodb", region_name=aws.REGION)
    [stored] = [
        i for i in client.scan(TableName=pay.resources.tables["AppTable"])["Items"] if i["sk"]["S"] == "WEBHOOK"
    ]
    text = json.dumps(stored)
    assert "12345678909" not in text and "secret-token" not in text and "[redacted]" in text


def test_forged_signature_is_refused(pay: PayEnv) -> None:
    payment_id = pay.create_payment()
    assert pay.post(*pay.webhook(payment_id, secret="not-the-secret"))[0] == 401
    headers, body = pay.webhook(payment_id)
    assert pay.post(headers, body.replace(b"1990", b"1991"))[0] == 401  # body changed after signing
    assert pay.payment(payment_id)["status"] == "pending"
    assert queue_count(pay.resources, "ConversionsQueue") == queue_count(pay.resources, "DeliveryQueue") == 0
    assert pay.webhooks_stored() == 2  # stored before verification, for support


def test_replay_of_an_old_signature_is_refused(pay: PayEnv) -> None:
    payment_id = pay.create_payment()
    status, _ = pay.post(*pay.webhook(payment_id, timestamp=int(time.time()) - 600))
    assert status == 401
    assert pay.payment(payment_id)["status"] == "pending"


@pytest.mark.parametrize("stamp", ["\u00b2", "1" * 5000, "-5", " 17", "", "１７"])
def test_a_malformed_signature_timestamp_is_refused_not_a_crash(pay: PayEnv, stamp: str) -> None:
    payment_id = pay.create_payment()
    headers, body = pay.webhook(payment_id)
    headers["sandbox-signature"] = f"t={stamp},v1=" + headers["sandbox-signature"].split("v1=", 1)[1]
    assert pay.post(headers, body)[0] == 401
    assert pay.payment(payment_id)["status"] == "pending"


def test_wrong_url_secret_and_unknown_gateway_read_nothing_further(pay: PayEnv) -> None:
    payment_id = pay.create_payment()
    headers, body = pay.webhook(payment_id)
    unknown = pay.post(headers, body, gateway_id="gw_nope")
    assert unknown == (404, {"error": "not found"})
    # A wrong secret is not told apart from an unknown gateway (same status, same body).
    assert pay.post(headers, body, secret=URL_SECRET[:-1] + "x") == unknown
    assert pay.post(headers, body, secret=OTHER_URL_SECRET) == unknown
    assert pay.post(headers, body, gateway_id="../GATEWAY")[0] == 404  # refused by the route itself
    assert pay.webhooks_stored() == 0
    assert pay.payment(payment_id)["status"] == "pending"


def test_other_tenants_payment_is_not_touched(pay: PayEnv) -> None:
    victim = pay.create_payment()  # tenant t1
    charge = dict(pay.fake.find(victim) or {}, status="paid", paid_at="2026-11-22T18:35:00.000Z")
    headers, body = pay.other.signed_webhook(charge, "charge.paid")  # validly signed by t2's gateway
    status, answer = pay.post(headers, body, gateway_id="gw_other", secret=OTHER_URL_SECRET)
    assert (status, answer["results"]) == (200, ["unknown"])
    assert pay.payment(victim)["status"] == "pending"
    assert queue_count(pay.resources, "ConversionsQueue") == 0


def test_wrong_amount_flags_and_does_not_confirm(pay: PayEnv) -> None:
    payment_id = pay.create_payment(amount_cents=1990)
    status, answer = pay.post(*pay.webhook(payment_id, data={"amount_cents": 199}))
    assert (status, answer["results"]) == (200, ["flagged"])
    payment = pay.payment(payment_id)
    assert payment["status"] == "pending" and payment["flag"] == "amount_mismatch:199:BRL"
    _, answer = pay.post(*pay.webhook(payment_id, data={"currency": "USD"}))
    assert answer["results"] == ["flagged"] and pay.payment(payment_id)["status"] == "pending"
    assert queue_count(pay.resources, "ConversionsQueue") == queue_count(pay.resources, "DeliveryQueue") == 0


def test_duplicate_three_times_confirms_once(pay: PayEnv) -> None:
    payment_id = pay.create_payment()
    headers, body = pay.webhook(payment_id)
    results = [pay.post(headers, body) for _ in range(3)]
    assert [status for status, _ in results] == [200, 200, 200]
    assert [answer["results"] for _, answer in results] == [["confirmed"], ["unchanged:paid"], ["unchanged:paid"]]
    assert queue_count(pay.resources, "ConversionsQueue") == 1
    assert queue_count(pay.resources, "DeliveryQueue") == 1


def test_repeat_sends_what_a_crashed_confirmation_did_not(pay: PayEnv) -> None:
    from funil.payments import transitions

    payment_id = pay.create_payment()
    transitions.mark_paid(pay.table, payment_id, datetime.now(UTC), datetime.now(UTC))  # crash before sending
    status, answer = pay.post(*pay.webhook(payment_id))
    assert (status, answer["results"]) == (200, ["unchanged:paid"])
    assert queue_count(pay.resources, "ConversionsQueue") == queue_count(pay.resources, "DeliveryQueue") == 1


def test_out_of_order_paid_before_the_charge_was_recorded(pay: PayEnv) -> None:
    payment_id = pay.create_payment(record_charge=False)  # the webhook beats the charge id's write
    status, answer = pay.post(*pay.webhook(payment_id))
    assert (status, answer["results"]) == (200, ["confirmed"])
    assert pay.payment(payment_id)["status"] == "paid"
    status, answer = pay.post(*pay.webhook(payment_id, event_type="charge.pending"))  # a stale pending after
    assert (status, answer["results"]) == (200, ["noop"])
    assert pay.payment(payment_id)["status"] == "paid"


def test_unknown_payment_answers_200(pay: PayEnv) -> None:
    charge = {"id": "ch_unknown", "reference": "ab" * 16, "status": "paid", "amount_cents": 1990, "currency": "BRL"}
    status, answer = pay.post(*pay.fake.signed_webhook(charge, "charge.paid"))
    assert (status, answer["results"]) == (200, ["unknown"])


def test_refund_moves_paid_to_refunded_and_sends_refund(pay: PayEnv) -> None:
    payment_id = pay.create_payment()
    pay.post(*pay.webhook(payment_id))
    status, answer = pay.post(*pay.webhook(payment_id, event_type="charge.refunded"))
    assert (status, answer["results"]) == (200, ["refunded"])
    assert pay.payment(payment_id)["status"] == "refunded"
    kinds = sorted(message["kind"] for message in drain(pay.resources, "ConversionsQueue"))
    assert kinds == ["Purchase", "Refund"]
    # The delivery, then the payment again so the consumer revokes the buyer's unused invite link.
    assert [job["payment_id"] for job in drain(pay.resources, "DeliveryQueue")] == [payment_id, payment_id]
    assert pay.payment(payment_id)["revoke_enqueued_at"]

    status, answer = pay.post(*pay.webhook(payment_id, event_type="charge.refunded"))  # repeated: nothing new
    assert (status, answer["results"]) == (200, ["unchanged:refunded"])
    assert queue_count(pay.resources, "ConversionsQueue") == queue_count(pay.resources, "DeliveryQueue") == 0


def test_unsigned_gateway_is_reread_and_gateway_down_means_retry(pay: PayEnv) -> None:
    payment_id = pay.create_payment(gateway_id="gw_hint")
    charge_id = pay.payment(payment_id)["gateway_charge_id"]
    # A hint that lies (says paid) while the charge is still pending at the gateway: nothing happens.
    hint = json.dumps({"type": "charge.paid", "data": {"id": charge_id, "status": "paid", "amount_cents": 1990}})
    status, answer = pay.post({}, hint.encode(), gateway_id="gw_hint")
    assert (status, answer["results"]) == (200, ["noop"])
    assert pay.payment(payment_id)["status"] == "pending"
    pay.fake.pay(charge_id)
    pay.fake.down = True
    status, _ = pay.post({}, hint.encode(), gateway_id="gw_hint")
    assert status == 503
    assert pay.payment(payment_id)["status"] == "pending"
    pay.fake.down, pay.fake.timeout = False, True
    assert pay.post({}, hint.encode(), gateway_id="gw_hint")[0] == 503
    pay.fake.timeout = False
    status, answer = pay.post({}, hint.encode(), gateway_id="gw_hint")
    assert (status, answer["results"]) == (200, ["confirmed"])
    assert pay.payment(payment_id)["status"] == "paid"


def test_concurrent_duplicates_confirm_once(pay: PayEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto's in-memory backend is not thread-safe (it can read an item while another thread writes
    # it); one AWS call at a time there, as DynamoDB itself serialises writes to an item. The
    # threads still interleave between calls: read, conditional write, send.
    from botocore.client import BaseClient

    moto_lock = threading.Lock()
    original = BaseClient._make_api_call

    def one_at_a_time(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        with moto_lock:
            return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", one_at_a_time)
    payment_id = pay.create_payment()
    headers, body = pay.webhook(payment_id)
    answers: list[tuple[int, dict[str, Any]]] = []
    barrier = threading.Barrier(8)

    def deliver() -> None:
        barrier.wait()
        answers.append(pay.post(headers, body))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200] * 8
    assert sum(answer["results"] == ["confirmed"] for _, answer in answers) == 1
    assert pay.payment(payment_id)["status"] == "paid"
    purchases = drain(pay.resources, "ConversionsQueue")
    assert purchases and {message["event_id"] for message in purchases} == {f"purchase_{payment_id}"}


def test_unreadable_body(pay: PayEnv) -> None:
    from local.fakes.sandbox import sign

    body = b"not json"
    assert pay.post({"sandbox-signature": sign(WEBHOOK_SECRET, body, int(time.time()))}, body)[0] == 401


def test_paid_after_expiry_is_still_confirmed(pay: PayEnv) -> None:
    from funil.payments import transitions

    payment_id = pay.create_payment()
    transitions.mark_expired(pay.table, payment_id, datetime.now(UTC) + timedelta(hours=2))
    assert pay.payment(payment_id)["status"] == "expired"
    assert pay.post(*pay.webhook(payment_id))[1]["results"] == ["confirmed"]
    assert pay.payment(payment_id)["status"] == "paid"
