"""Woovi refunds through the deployed webhook handler: its refund webhooks name no charge.

``PIX_TRANSACTION_REFUND_SENT_CONFIRMED`` carries the refund and the Pix it gives back
(``originalTransaction.endToEndId``); the adapter asks the fake Woovi which charge that Pix paid
(``GET /api/v1/transaction/{endToEndId}``) and what was given back so far
(``GET /api/v1/charge/{id}/refund``), and the state machine decides partial or whole. The fake
signs each webhook with its RSA key, as Woovi does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.integration.test_gateway_webhook import drain
from tests.integration.test_gateway_webhook_kinds import World, world  # noqa: F401  (the fixture)
from tests.unit.payments.gateway_payloads import FIXTURES

SENT = "PIX_TRANSACTION_REFUND_SENT_CONFIRMED"
EVENTS = ("OPENPIX:TRANSACTION_REFUND_RECEIVED", SENT, "PIX_TRANSACTION_REFUND_RECEIVED_CONFIRMED")


def _paid(world: World, amount_cents: int) -> str:  # noqa: F811
    payment_id, _ = world.create_payment("gw_woovi", amount_cents)
    world.woovi.pay(payment_id)
    assert world.post("gw_woovi", *world.woovi.webhook(payment_id))[1]["results"] == ["confirmed"]
    return payment_id


def test_a_partial_refund_then_the_rest_is_partial_then_whole(world: World) -> None:  # noqa: F811
    payment_id = _paid(world, 2000)
    world.sent()
    world.woovi.refund(payment_id, 500)
    status, answer = world.post("gw_woovi", *world.woovi.webhook(payment_id, SENT))
    assert (status, answer["results"]) == (200, ["partially_refunded"])
    payment = world.payment(payment_id)
    assert (payment["status"], payment["refund_state"], payment["refunded_cents"]) == ("paid", "partial", 500)
    assert world.post("gw_woovi", *world.woovi.webhook(payment_id, SENT))[1]["results"] == ["unchanged:paid"]
    assert world.payment(payment_id)["refunded_cents"] == 500  # the same refund told again: still 500
    # The rest, in a second refund of 1500: 2000 given back in all, so the whole.
    world.woovi.refund(payment_id, 1500)
    status, answer = world.post("gw_woovi", *world.woovi.webhook(payment_id, SENT))
    assert (status, answer["results"]) == (200, ["refunded"])
    payment = world.payment(payment_id)
    assert (payment["status"], payment["refunded_cents"]) == ("refunded", 2000)
    assert "Refund" in world.sent()[0]


def test_each_refund_is_a_refund_event_worth_its_own_part(world: World) -> None:  # noqa: F811
    from funil.conversions.builder import commerce_data
    from funil.messages import ConversionMessage, EventKind

    payment_id = _paid(world, 2000)
    world.sent()
    world.woovi.refund(payment_id, 500)
    world.post("gw_woovi", *world.woovi.webhook(payment_id, SENT))
    world.post("gw_woovi", *world.woovi.webhook(payment_id, SENT))  # told again: no second event
    world.woovi.refund(payment_id, 1500)
    world.post("gw_woovi", *world.woovi.webhook(payment_id, SENT))
    world.post("gw_woovi", *world.woovi.webhook(payment_id, SENT))

    refunds = [
        ConversionMessage.model_validate(body)
        for body in drain(world.resources, "ConversionsQueue")
        if body["kind"] == "Refund"
    ]
    assert [message.event_id for message in refunds] == [f"refund_{payment_id}", f"refund_{payment_id}_2"]
    payment = world.payment(payment_id)
    values = [commerce_data(payment, EventKind.REFUND, message.refs.refund_step or 0) for message in refunds]
    assert [data["value"] for data in values if data] == [5.0, 15.0]
    assert payment["refund_steps_enqueued"] == 2


def test_the_deprecated_refund_event_refunds_the_charge_it_names(world: World) -> None:  # noqa: F811
    payment_id = _paid(world, 1990)
    world.woovi.refund(payment_id)
    status, answer = world.post("gw_woovi", *world.woovi.webhook(payment_id, "OPENPIX:TRANSACTION_REFUND_RECEIVED"))
    assert (status, answer["results"]) == (200, ["refunded"])
    assert world.payment(payment_id)["status"] == "refunded"


def test_woovi_unreachable_while_finding_the_charge_is_a_retry_and_changes_nothing(world: World) -> None:  # noqa: F811
    payment_id = _paid(world, 1990)
    world.woovi.refund(payment_id)
    body, headers = world.woovi.webhook(payment_id, SENT)
    world.woovi.fail(503, path="/api/v1/transaction/")
    assert world.post("gw_woovi", body, headers)[0] == 503  # Woovi retries the webhook
    assert world.payment(payment_id)["status"] == "paid"
    assert world.post("gw_woovi", body, headers)[1]["results"] == ["refunded"]


def test_the_documented_refund_of_a_pix_unknown_here_changes_nothing(world: World) -> None:  # noqa: F811
    payment_id = _paid(world, 1990)
    body = (FIXTURES / "woovi/webhook_refund_sent_confirmed.json").read_bytes()
    status, answer = world.post("gw_woovi", body, {"x-webhook-signature": world.woovi.sign(body)})
    assert (status, answer["results"]) == (200, [])  # Woovi knows no such Pix of this account
    forged = json.dumps(json.loads(body) | {"event": SENT}).encode()
    assert world.post("gw_woovi", forged, {"x-webhook-signature": world.woovi.sign(body)})[0] == 401
    assert world.payment(payment_id)["status"] == "paid"


ANY_VALUE = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats()
    | st.text(max_size=80)
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)
)
# What the adapter may ask Woovi while reading a refund webhook, and nothing else.
ASKED = re.compile(r"/api/v1/(transaction/[A-Za-z0-9]{1,64}|charge/[A-Za-z0-9:=_-]{1,200}/refund)")
HOSTILE_ID = st.text(max_size=80) | st.sampled_from(["../charge", "a/b", "%2F..", "E" + "1" * 63, "É" * 10, " ", ""])


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    event=st.sampled_from(EVENTS),
    field=st.sampled_from(["value", "time", "endToEndId", "status", "original", "charge", "originalEndToEndId"]),
    hostile=ANY_VALUE | HOSTILE_ID,
)
@example(event=SENT, field="originalEndToEndId", hostile="../charge")
@example(event=SENT, field="originalEndToEndId", hostile="a/b?c=1")
@example(event=SENT, field="originalEndToEndId", hostile="É" * 10)
@example(event=SENT, field="charge", hostile="../../webhook")
@example(event=SENT, field="value", hostile=-1990)
def test_a_signed_refund_webhook_with_a_hostile_value_never_breaks_the_handler(
    world: World,  # noqa: F811
    event: str,
    field: str,
    hostile: Any,
) -> None:
    """Signed by Woovi's key, yet any field may hold anything: no 5xx, no request to Woovi with it
    in the path, and the payment left as it was unless the answer says it moved."""
    state = vars(world)  # one paid payment for every example of this world
    if "refund_target" not in state:
        state["refund_target"] = _paid(world, 1990)
    payment_id = state["refund_target"]
    before = world.payment(payment_id)
    payload = json.loads(world.woovi.webhook(payment_id, event)[0])
    refund = payload.get("refundTransaction") or payload["pix"]
    if field == "original":
        payload["originalTransaction"] = hostile
    elif field == "charge":
        payload["charge"] = {"correlationID": hostile}
        refund.pop("charge", None)
    elif field == "originalEndToEndId" and "originalTransaction" in payload:
        payload["originalTransaction"]["endToEndId"] = hostile
    else:
        refund[field] = hostile
    body = json.dumps(payload).encode()
    sent = len(world.woovi.requests)
    status, answer = world.post("gw_woovi", body, {"x-webhook-signature": world.woovi.sign(body)})
    assert status < 500, (status, answer)
    asked = [request.url.raw_path.decode() for request in world.woovi.requests[sent:]]
    assert all(ASKED.fullmatch(path) for path in asked), asked
    if status >= 400 or not answer.get("results"):
        assert world.payment(payment_id) == before
