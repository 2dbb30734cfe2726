"""Operational alerts through the real handlers: one notice when an incident opens, one when it resolves.

The failure sites are the real ones (the bot health schedule with the fake Bot API, a checkout with
the sandbox gateways, capi_sender with the fake Graph API, the gateway webhook); the notices are
read from the notifications queue on moto.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from funil import keys
from funil.clock import iso
from funil.messages import AlertNotice, EventKind

from local import aws
from local.fakes.sandbox import SandboxGateway
from local.handlers import LambdaContext, handler_globals, load_handler
from local.template import load
from tests.integration import test_capi_sender as capi_tests
from tests.integration import test_gateway_webhook as gateway_tests
from tests.integration.test_capi_sender import Capi, purchase
from tests.integration.test_gateway_webhook import PayEnv
from tests.unit.bot.telegram_harness import TgEnv, load_event
from tests.unit.conversions.factories import PIXEL, TENANT, message

MARIA, JOAO, ANA = 5550101, 5550102, 5550103

capi = capi_tests.capi  # the fixtures: capi_sender with the fake Graph API; the gateway webhook
pay = gateway_tests.pay


def take_notices(resources: aws.Resources) -> list[AlertNotice]:
    """The alert notices queued since the last call (received and deleted; sale copies are left out)."""
    sqs = boto3.client("sqs", region_name=aws.REGION)
    url = resources.queues["NotificationsQueue"]
    notices: list[AlertNotice] = []
    while True:
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if not received.get("Messages"):
            return notices
        for received_message in received["Messages"]:
            body = json.loads(received_message["Body"])
            if body.get("type") == "alert":
                notice = AlertNotice.model_validate(body)
                assert received_message["MessageAttributes"]["notice_id"]["StringValue"] == notice.notice_id
                notices.append(notice)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=received_message["ReceiptHandle"])


def summary(notices: list[AlertNotice]) -> list[tuple[str, str, str]]:
    return [(notice.kind.value, notice.subject, notice.state) for notice in notices]


def incident(table: Any, tenant: str, kind: str, subject: str) -> dict[str, Any]:
    item = table.get(*keys.incident(tenant, kind, subject), consistent=True)
    assert item is not None, (kind, subject)
    return dict(item)


def health_runner(
    monkeypatch: pytest.MonkeyPatch, clock: Callable[[], datetime] | None = None
) -> tuple[Callable[[], dict[str, Any]], Any]:
    """BotHealthFunction loaded once (its container), and a way to run its schedule."""
    monkeypatch.setenv("PUBLIC_BASE_URL", "")  # the bots' webhooks are left as they are
    function = load().functions["BotHealthFunction"]
    handler = load_handler(function, fresh=True)
    deps = handler_globals(handler)["DEPS"]
    if clock is not None:
        deps.incidents.now = deps.checks.error_watch.now = clock

    def run() -> dict[str, Any]:
        result: dict[str, Any] = handler(load_event("reconciler_schedule.json"), LambdaContext(function, "test"))
        return result

    return run, deps


# -- bots -------------------------------------------------------------------------------------------


def test_a_refused_bot_token_is_one_notice_until_it_works_again(tg: TgEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    run, _ = health_runner(monkeypatch)
    tg.fake.revoke_token(tg.bot()["token"])
    assert run()["outcomes"][tg.bot_a] == "token_invalid:telegram_401"
    [opened] = take_notices(tg.resources)
    assert (opened.tenant_id, opened.kind.value, opened.subject, opened.state) == (
        tg.tenant, "bot_token_refused", tg.bot_a, "open"
    )  # fmt: skip
    assert tg.bot()["token"] not in opened.model_dump_json()

    assert run()["outcomes"][tg.bot_a] == "token_invalid:telegram_401"  # still refused: the same incident
    assert take_notices(tg.resources) == []

    tg.fake.revoked.clear()
    assert run()["outcomes"][tg.bot_a] == "healthy"
    [resolved] = take_notices(tg.resources)
    assert (resolved.kind.value, resolved.state, resolved.incident_id) == (
        "bot_token_refused",
        "resolved",
        opened.incident_id,
    )
    assert run()["outcomes"][tg.bot_a] == "healthy"
    assert take_notices(tg.resources) == []
    stored = incident(tg.table, tg.tenant, "bot_token_refused", tg.bot_a)
    assert stored["state"] == "resolved" and "gsi2pk" not in stored


def test_a_failing_webhook_opens_an_incident_and_a_quiet_one_resolves_it(
    tg: TgEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, _ = health_runner(monkeypatch)
    token = tg.bot()["token"]
    tg.fake.webhook_failing(token, last_error_date=int(datetime.now(UTC).timestamp()) - 60, pending=3)
    run()
    assert summary(take_notices(tg.resources)) == [("bot_webhook_failing", tg.bot_a, "open")]
    old = int((datetime.now(UTC) - timedelta(hours=2)).timestamp())
    tg.fake.webhook_failing(token, last_error_date=old, pending=150)  # growing from 3: still failing
    run()
    assert take_notices(tg.resources) == []
    tg.fake.webhook_failing(token, last_error_date=old, pending=0)
    run()
    assert summary(take_notices(tg.resources)) == [("bot_webhook_failing", tg.bot_a, "resolved")]


def test_many_waiting_updates_alone_are_failing_only_when_growing(tg: TgEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    run, _ = health_runner(monkeypatch)
    tg.fake.webhook_failing(tg.bot()["token"], pending=500)
    run()  # no earlier count to compare with
    assert take_notices(tg.resources) == []
    tg.fake.webhook_failing(tg.bot()["token"], pending=500)
    run()  # as many as before: draining, not growing
    assert take_notices(tg.resources) == []
    tg.fake.webhook_failing(tg.bot()["token"], pending=900)
    run()
    assert summary(take_notices(tg.resources)) == [("bot_webhook_failing", tg.bot_a, "open")]


# -- gateways ---------------------------------------------------------------------------------------


def add_backup_gateway(tg: TgEnv) -> SandboxGateway:
    """A second sandbox account at priority 9, the checkout's HTTP client routing by host."""
    from funil.adapters.kms import Kms
    from funil.payments.gateway_items import Gateway

    backup = SandboxGateway(api_key="sandbox-backup-key")
    gateway = Gateway(
        gateway_id="gw_backup", tenant_id=tg.tenant, kind="sandbox", base_url="http://backup.test", priority=9
    )
    credentials = {"api_key": backup.api_key, "webhook_secret": backup.webhook_secret}
    tg.table.put(
        gateway.to_item(Kms(), tg.resources.keys["SecretsKey"], credentials, "gwUrl-backup-0123456789abcdef01234")
    )
    fakes = {"sandbox.test": tg.sandbox, "backup.test": backup}
    handler_globals(tg.handler)["DEPS"].payments.http = httpx.Client(
        transport=httpx.MockTransport(lambda request: fakes[request.url.host].handle(request))
    )
    return backup


def test_a_failover_is_one_notice_and_the_gateway_charging_again_resolves_it(tg: TgEnv) -> None:
    add_backup_gateway(tg)
    tg.sandbox.down = True  # the first gateway answers 503
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "pix_created"
    assert summary(take_notices(tg.resources)) == [("gateway_failover", "gw_demo", "open")]
    assert tg.callback(JOAO, "b:grupo_vip")[1]["outcome"] == "pix_created"
    assert take_notices(tg.resources) == []  # the same incident

    tg.sandbox.down = False
    assert tg.callback(ANA, "b:grupo_vip")[1]["outcome"] == "pix_created"
    [resolved] = take_notices(tg.resources)
    assert (resolved.kind.value, resolved.subject, resolved.state) == ("gateway_failover", "gw_demo", "resolved")
    assert resolved.detail == "gateway gw_demo created a charge"


def test_no_gateway_taking_the_charge_is_failing_and_a_503_probe_is_no_recovery(
    tg: TgEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg.sandbox.down = True
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] != "pix_created"
    assert summary(take_notices(tg.resources)) == [("gateway_failing", "gw_demo", "open")]

    run, deps = health_runner(monkeypatch)
    deps.checks.gateways.http = httpx.Client(transport=httpx.MockTransport(tg.sandbox.handle))
    run()  # the probe gets a 503: an answer, but not a working gateway
    assert take_notices(tg.resources) == []
    assert incident(tg.table, tg.tenant, "gateway_failing", "gw_demo")["state"] == "open"

    tg.sandbox.down = False
    run()
    assert summary(take_notices(tg.resources)) == [("gateway_failing", "gw_demo", "resolved")]
    assert incident(tg.table, tg.tenant, "gateway_failing", "gw_demo")["resolve_detail"] == "the gateway answers again"


def test_money_on_a_voided_attempt_through_the_webhook_is_one_notice(pay: PayEnv) -> None:
    payment_id = pay.create_payment()
    # The buyer was shown another gateway's charge: this one's attempt was voided by routing.
    from funil.payments.storage import Payments

    attempt = {"gateway_id": "gw_sandbox", "outcome": "void_unverified", "at": iso(datetime.now(UTC))}
    Payments(pay.table).put_attempt(payment_id, 1, attempt)
    Payments(pay.table).put_attempt(payment_id, 2, {"gateway_id": "gw_hint", "outcome": "created", "at": attempt["at"]})
    pay.table.update(*keys.payment(payment_id), "SET gateway_id = :shown", {":shown": "gw_hint"})
    for _ in range(2):
        status, _ = pay.post(*pay.webhook(payment_id))
        assert status == 200
    assert pay.payment(payment_id)["status"] == "paid"  # the money is real: the sale stands
    [opened] = take_notices(pay.resources)
    assert (opened.tenant_id, opened.kind.value, opened.subject) == ("t1", "voided_attempt_paid", payment_id)
    assert "double payment" in opened.detail


# -- Conversions API ---------------------------------------------------------------------------------


def on_the_clock(capi: Capi) -> None:
    """The sender's incidents and error windows on the test's clock, as its records are."""
    capi.module.DEPS.alerts.now = capi.module.DEPS.error_watch.now = capi.clock


def test_an_invalid_pixel_token_is_one_notice_and_a_sent_event_resolves_it(
    capi: Capi, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_the_clock(capi)
    capi.fake.fail_with_code(190, times=None)
    assert capi.send([purchase()]) == []
    assert summary(take_notices(capi.resources)) == [("capi_token_invalid", PIXEL, "open")]
    capi.clock.advance(seconds=120)
    assert capi.send([message(EventKind.INITIATE_CHECKOUT)]) == []  # refused again: no second notice
    assert take_notices(capi.resources) == []  # nor a dead-letter incident: the token's says it

    run, _ = health_runner(monkeypatch, capi.clock)
    run()
    assert take_notices(capi.resources) == []  # nothing sent since it opened: still open
    capi.fake.faults.clear()
    capi.clock.advance(seconds=120)
    assert capi.send([message(EventKind.LEAD)]) == []
    assert capi.record(message(EventKind.LEAD).event_id)["status"] == "sent"
    run()
    assert summary(take_notices(capi.resources)) == [("capi_token_invalid", PIXEL, "resolved")]


def test_the_error_rate_opens_one_incident_past_the_threshold(capi: Capi, monkeypatch: pytest.MonkeyPatch) -> None:
    from local.fakes.meta_graph import Fault

    on_the_clock(capi)
    start = datetime.fromtimestamp((int(capi.clock().timestamp()) // 900 + 1) * 900 + 1, tz=UTC)
    capi.clock.advance(seconds=(start - capi.clock()).total_seconds())
    for attempt in range(1, 6):
        capi.fake.fail(Fault(status=503, code=None, is_transient=False))
        capi.send([purchase()], receive_count=attempt)
        notices = take_notices(capi.resources)
        if attempt < 5:
            assert notices == [], attempt  # fewer than 5 failures: no incident yet
        else:
            assert summary(notices) == [("capi_errors", PIXEL, "open")]
        capi.clock.advance(seconds=100)  # past the claim's lease
    window = capi.table.get(*keys.capi_window(TENANT, PIXEL, iso(start - timedelta(seconds=1))))
    assert window is not None and (window["sent"], window["failed"]) == (0, 5)
    capi.fake.faults.clear()
    assert capi.send([purchase()], receive_count=6) == []  # 1 sent of 6: still above the threshold
    run, _ = health_runner(monkeypatch, capi.clock)
    run()
    assert take_notices(capi.resources) == []
    capi.clock.advance(seconds=1800)  # two windows later: nothing failed, nothing sent
    run()
    assert take_notices(capi.resources) == []  # no evidence of recovery yet
    assert capi.send([message(EventKind.LEAD)]) == []
    run()
    assert summary(take_notices(capi.resources)) == [("capi_errors", PIXEL, "resolved")]


# -- the incidents themselves ------------------------------------------------------------------------


def test_two_opens_at_once_make_one_incident_and_one_notice(aws_env: aws.Resources, table: Any) -> None:
    from funil import wiring
    from funil.config import settings
    from funil.messages import AlertKind

    incidents = wiring.incidents(settings())
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def open_it() -> None:
        barrier.wait()
        results.append(incidents.open("t1", AlertKind.GATEWAY_FAILING, "gw_x", "down"))

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert summary(take_notices(aws_env)) == [("gateway_failing", "gw_x", "open")]
    assert incidents.resolve("t1", AlertKind.GATEWAY_FAILING, "gw_x") is True
    assert incidents.resolve("t1", AlertKind.GATEWAY_FAILING, "gw_x") is False
    assert summary(take_notices(aws_env)) == [("gateway_failing", "gw_x", "resolved")]
    assert incidents.open("t1", AlertKind.GATEWAY_FAILING, "gw_x") is True  # a new incident
    [again] = take_notices(aws_env)
    assert again.state == "open"


def test_an_alert_that_cannot_be_written_is_dropped_not_raised(aws_env: aws.Resources) -> None:
    from funil.alerts.incidents import Incidents
    from funil.messages import AlertKind

    class Broken:
        def put(self, item: Any, condition: str | None = None) -> None:
            raise RuntimeError("table unavailable")

    incidents = Incidents(Broken(), None)  # type: ignore[arg-type]
    assert incidents.open("t1", AlertKind.CAPI_ERRORS, "px") is False


def test_a_dead_letter_incident_resolves_once_the_queue_is_empty(capi: Capi, monkeypatch: pytest.MonkeyPatch) -> None:
    on_the_clock(capi)
    capi.fake.fail_with_code(100)  # one bad event: dead-lettered for a replay
    assert capi.send([purchase()]) == []
    assert summary(take_notices(capi.resources)) == [("dead_letters", "conversions", "open")]
    run, _ = health_runner(monkeypatch)
    run()
    assert take_notices(capi.resources) == []
    sqs = boto3.client("sqs", region_name=aws.REGION)
    sqs.purge_queue(QueueUrl=capi.resources.queues["ConversionsDeadLetterQueue"])
    run()
    assert summary(take_notices(capi.resources)) == [("dead_letters", "conversions", "resolved")]


def test_a_destinations_dead_letter_is_one_incident_resolved_once_its_queue_is_empty(
    aws_env: aws.Resources, table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.destinations_world import TIKTOK_PIXEL, build_world, destination_item

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://funil.example.com")
    world = build_world(aws_env, table)
    revoked = destination_item(aws_env, "dst_tiktok", "tiktok", {"pixel_code": TIKTOK_PIXEL}, "revoked-token-000")
    world.table.put(revoked)
    assert world.send([message(EventKind.PURCHASE)]) == []  # TikTok refuses the token: dead-lettered
    assert world.send([message(EventKind.INITIATE_CHECKOUT)]) == []  # again: the same incident
    [opened] = take_notices(aws_env)
    assert (opened.kind, opened.subject, opened.state) == ("dead_letters", "destinations", "open")
    assert "tiktok dst_tiktok: auth_rejected" in opened.detail and "revoked-token" not in opened.detail
    run, _ = health_runner(monkeypatch)
    run()
    assert take_notices(aws_env) == []  # still waiting in the queue
    sqs = boto3.client("sqs", region_name=aws.REGION)
    sqs.purge_queue(QueueUrl=aws_env.queues["DestinationsDeadLetterQueue"])  # replayed, or dropped on purpose
    run()
    assert summary(take_notices(aws_env)) == [("dead_letters", "destinations", "resolved")]


def test_incidents_of_a_removed_gateway_pixel_or_bot_resolve_on_the_schedule(
    aws_env: aws.Resources, table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from funil import wiring
    from funil.config import settings
    from funil.messages import AlertKind

    incidents = wiring.incidents(settings())
    for kind, subject in [
        (AlertKind.GATEWAY_FAILING, "gw_gone"),
        (AlertKind.CAPI_ERRORS, "px_gone"),
        (AlertKind.BOT_TOKEN_REFUSED, "bot_gone"),
    ]:
        assert incidents.open("t1", kind, subject)
    take_notices(aws_env)
    run, _ = health_runner(monkeypatch)
    run()
    resolved = take_notices(aws_env)
    assert sorted(summary(resolved)) == [
        ("bot_token_refused", "bot_gone", "resolved"),
        ("capi_errors", "px_gone", "resolved"),
        ("gateway_failing", "gw_gone", "resolved"),
    ]
    assert {notice.detail.split(" was ")[0] for notice in resolved} == {"the bot", "the pixel", "the gateway"}
    run()
    assert take_notices(aws_env) == []


def emitted_metrics(stdout: str) -> list[tuple[str, dict[str, str]]]:
    """The EMF metrics printed (name, dimensions) as CloudWatch reads them from the function's output."""
    found = []
    for line in stdout.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: document[name] for group in directive["Dimensions"] for name in group}
            found.extend((metric["Name"], dimensions) for metric in directive["Metrics"])
    return found


def test_an_opened_incident_and_a_failing_bot_are_the_alarms_metrics(
    tg: TgEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = health_runner(monkeypatch)
    tg.fake.revoke_token(tg.bot()["token"])
    capsys.readouterr()
    run()
    metrics = emitted_metrics(capsys.readouterr().out)
    assert ("Incidents", {"service": "funil"}) in metrics  # IncidentsAlarm's
    assert any(name == "Incidents" and dims.get("kind") == "bot_token_refused" for name, dims in metrics)
    assert ("BotHealthFailures", {"service": "funil"}) in metrics
    run()  # still refused: the bot still fails, no incident opens
    metrics = emitted_metrics(capsys.readouterr().out)
    assert [name for name, _ in metrics].count("Incidents") == 0
    assert ("BotHealthFailures", {"service": "funil"}) in metrics


def test_a_healthy_checkout_reads_the_gateway_incidents_once_and_writes_none(
    tg: TgEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.client import BaseClient

    calls: list[tuple[str, dict[str, Any]]] = []
    original = BaseClient._make_api_call

    def recording(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        calls.append((operation, params))
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    assert tg.callback(MARIA, "b:grupo_vip")[1]["outcome"] == "pix_created"
    touching = [(operation, params) for operation, params in calls if "INCIDENT#" in json.dumps(params, default=str)]
    assert [operation for operation, _ in touching] == ["Query"]
    assert touching[0][1].get("ConsistentRead") in (None, False)  # eventually consistent: half a read unit
    assert take_notices(tg.resources) == []
