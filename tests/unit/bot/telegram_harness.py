"""The Telegram webhook on moto with the fake Bot API over HTTP and the sandbox PIX gateway.

Used by tests/integration/test_telegram_*.py and bench/telegram_start.py: the real handler module
(loaded fresh), real-shaped updates wrapped in API Gateway v2 events (events/telegram_*.json).
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
from funil.click.fields import click_item_from_fields
from funil.clock import iso, to_epoch_s

from local import aws
from local.fakes.sandbox import SandboxGateway
from local.fakes.telegram_api import FakeTelegramApi
from local.handlers import LambdaContext, handler_globals, load_handler
from local.seed import Seed, seed_demo
from local.template import ROOT, load

RUN = "TelegramWebhookFunction"
GATEWAY_URL_SECRET = "gwUrl-telegram-tests-0123456789abcdef0123"


def load_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((ROOT / "events" / name).read_text()))


def user(user_id: int, first_name: str = "Maria", **extra: Any) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "pt-br", **extra}


@dataclass
class TgEnv:
    resources: aws.Resources
    table: Any
    seed: Seed
    fake: FakeTelegramApi
    sandbox: SandboxGateway
    handler: Any
    function: Any
    update_ids: Any = field(default_factory=lambda: itertools.count(800_000_001))

    # -- the seed --

    @property
    def tenant(self) -> str:
        return self.seed.tenant_id

    def bot(self, index: int = 0) -> dict[str, Any]:
        return self.seed.bots[index]

    @property
    def bot_a(self) -> str:
        return str(self.seed.bots[0]["id"])

    @property
    def bot_b(self) -> str:
        return str(self.seed.bots[1]["id"])

    def secret(self, bot_id: str) -> str:
        return str(next(bot["webhook_secret"] for bot in self.seed.bots if bot["id"] == bot_id))

    # -- requests --

    def post_raw(self, bot_id: str, body: str, secret: str | None) -> tuple[int, dict[str, Any]]:
        event = load_event("telegram_start.json")
        event["pathParameters"] = {"bot_id": bot_id}
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/tg/{bot_id}"
        headers = {k: v for k, v in event["headers"].items() if k != "x-telegram-bot-api-secret-token"}
        if secret is not None:
            headers["x-telegram-bot-api-secret-token"] = secret
        headers["content-length"] = str(len(body.encode()))
        event["headers"] = headers
        event["body"] = body
        answer = self.handler(event, LambdaContext(self.function, "test"))
        return answer["statusCode"], json.loads(answer["body"])

    def post(self, update: dict[str, Any], bot_id: str | None = None) -> tuple[int, dict[str, Any]]:
        bot_id = bot_id or self.bot_a
        update.setdefault("update_id", next(self.update_ids))
        return self.post_raw(bot_id, json.dumps(update, ensure_ascii=False), self.secret(bot_id))

    def message(self, user_id: int, text: str, *, bot_id: str | None = None, **profile: Any) -> dict[str, Any]:
        sender = user(user_id, **profile)
        chat = {"id": user_id, "type": "private", "first_name": sender["first_name"]}
        message = {"message_id": next(self.update_ids) % 100000, "from": sender, "chat": chat,
                   "date": int(datetime.now(UTC).timestamp()), "text": text}  # fmt: skip
        if text.startswith("/"):
            message["entities"] = [{"offset": 0, "length": len(text.split(maxsplit=1)[0]), "type": "bot_command"}]
        return {"update_id": next(self.update_ids), "message": message}

    def start(self, user_id: int, token: str | None = None, *, bot_id: str | None = None, **profile: Any) -> Any:
        text = f"/start {token}" if token else "/start"
        return self.post(self.message(user_id, text, **profile), bot_id)

    def callback(self, user_id: int, data: str, *, bot_id: str | None = None) -> tuple[int, dict[str, Any]]:
        chat = {"id": user_id, "type": "private", "first_name": "Maria"}
        update = {
            "update_id": next(self.update_ids),
            "callback_query": {
                "id": str(next(self.update_ids)),
                "from": user(user_id),
                "message": {"message_id": 1, "chat": chat, "date": int(datetime.now(UTC).timestamp()), "text": "x"},
                "chat_instance": str(user_id),
                "data": data,
            },
        }
        return self.post(update, bot_id)

    # -- clicks and state --

    def click(
        self,
        token: str,
        bot_id: str | None = None,
        *,
        tenant: str | None = None,
        clicked_at: datetime | None = None,
        window_days: int = 7,
        **fields: Any,
    ) -> dict[str, Any]:
        at = clicked_at or datetime.now(UTC) - timedelta(minutes=3)
        ends = at + timedelta(days=window_days)
        item = {
            "pk": f"CLICK#{token}", "sk": "CLICK", "type": "click", "token": token,
            "tenant_id": tenant or self.tenant, "link_slug": self.seed.link_slug, "bot_id": bot_id or self.bot_a,
            "pixel_id": self.seed.pixel_id, "clicked_at": iso(at), "clicked_at_ms": int(at.timestamp() * 1000),
            "attribution_ends_at": iso(ends), "expires_at": to_epoch_s(ends + timedelta(days=2)),
            "fbc": f"fb.1.{int(at.timestamp() * 1000)}.IwAR{token}", "fbp": "fb.1.1700000000000.1234567890",
            "ip": "2804:14c:1234:5678::1", "user_agent": "Mozilla/5.0 (Linux; Android 14) Instagram 300.0",
            "utm": {"utm_source": "facebook", "utm_campaign": f"camp_{token[:4]}"},
            "ad": {"campaign_id": "120200000000001", "ad_id": "120200000000003"},
            **fields,
        }  # fmt: skip
        self.table.put(click_item_from_fields(item))  # stored compact, as the redirect does
        return item

    def lead(self, user_id: int, bot_id: str | None = None) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.table.get(f"LEAD#{bot_id or self.bot_a}#{user_id}", "LEAD", consistent=True)
        return item

    def touches(self, user_id: int, bot_id: str | None = None) -> list[dict[str, Any]]:
        return list(
            self.table.query(
                "pk = :pk AND begins_with(sk, :t)", {":pk": f"LEAD#{bot_id or self.bot_a}#{user_id}", ":t": "TOUCH#"}
            )
        )

    def payment(self, payment_id: str) -> dict[str, Any]:
        item = self.table.get(f"PAYMENT#{payment_id}", "PAYMENT", consistent=True)
        assert item is not None
        return item

    def payments(self, user_id: int) -> list[dict[str, Any]]:
        client = boto3.client("dynamodb", region_name=aws.REGION)
        from funil.adapters.dynamo import deserialize

        items = [deserialize(i) for i in client.scan(TableName=self.resources.tables["AppTable"])["Items"]]
        return [i for i in items if i.get("sk") == "PAYMENT" and i.get("telegram_user_id") == user_id]

    def drain(self, logical_id: str = "ConversionsQueue") -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=aws.REGION)
        bodies: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(QueueUrl=self.resources.queues[logical_id], MaxNumberOfMessages=10)
            if not got.get("Messages"):
                return bodies
            for message in got["Messages"]:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.resources.queues[logical_id], ReceiptHandle=message["ReceiptHandle"])

    def sent(self, method: str, bot_id: str | None = None) -> list[dict[str, Any]]:
        return self.fake.sent(method, bot_id or self.bot_a)


def make_env(resources: aws.Resources, table: Any, fake: FakeTelegramApi, base_url: str) -> TgEnv:
    """Seed, gateway and the handler loaded fresh (TELEGRAM_API_BASE_URL must point at the fake)."""
    from funil.adapters.kms import Kms
    from funil.payments.gateway_items import Gateway

    seed = seed_demo(table, resources.keys["SecretsKey"])
    for bot in seed.bots:
        fake.register_bot(bot["token"], bot["id"], bot["username"])
    sandbox = SandboxGateway()
    gateway = Gateway(gateway_id="gw_demo", tenant_id=seed.tenant_id, kind="sandbox", base_url="http://sandbox.test")
    credentials = {"api_key": sandbox.api_key, "webhook_secret": sandbox.webhook_secret}
    table.put(gateway.to_item(Kms(), resources.keys["SecretsKey"], credentials, GATEWAY_URL_SECRET))
    function = load().functions[RUN]
    handler = load_handler(function, fresh=True)
    handler_globals(handler)["DEPS"].payments.http = httpx.Client(transport=httpx.MockTransport(sandbox.handle))
    return TgEnv(resources, table, seed, fake, sandbox, handler, function)
