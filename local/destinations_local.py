"""The destinations' side of the local stack: fakes of UTMify, TikTok, GA4 and a seller's webhook
receiver over HTTP, what each received, and the demo's four destinations pointing at them.

``register(stack)`` (a local.server extension) mounts:

- the fakes, where DestinationsFunction reaches them (UTMIFY_BASE_URL, TIKTOK_BASE_URL, GA4_BASE_URL
  point here): ``POST /_local/utmify/api-credentials/orders``, ``POST /_local/tiktok/open_api/v1.3/
  event/track/``, ``POST /_local/ga4/mp/collect``, and the demo webhook's URL ``POST /_local/webhooks/receive``;
- the inspectors: ``GET /_local/utmify`` (the orders UTMify took), ``GET /_local/tiktok`` (the
  events), ``GET /_local/ga4`` (the events, each with its client_id), ``GET /_local/webhooks`` (the
  verified webhooks, with ``duplicates``); ``?payment=<payment id>`` keeps one payment's;
  ``POST /_local/<name>/faults`` ``{"times": 1, "status": 503}`` makes the next requests fail
  transiently; ``DELETE /_local/<name>`` forgets; ``GET /_local/destinations/deliveries``: the
  delivery records (``DESTOUT#…``) with status, attempts and reason.

The demo's destinations (``configure_demo``, called by local.demo) are written as the operator's
API writes them (secrets encrypted under their items' context): the API takes only ``https://``
webhook URLs to public names, and the local receiver is ``http://127.0.0.1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from local.capi_local import _items
from local.fakes.ga4 import FakeGa4
from local.fakes.recording import RecordingFake
from local.fakes.tiktok import FakeTikTok
from local.fakes.utmify import FakeUtmify
from local.fakes.webhook_receiver import FakeWebhookReceiver

if TYPE_CHECKING:
    from funil.adapters.dynamo import Table

    from local.server import LocalRequest, LocalResponse, LocalStack

DEMO_UTMIFY_TOKEN = "local-utmify-api-credential-0001"  # noqa: S105 - the local fakes' own
DEMO_TIKTOK_TOKEN = "local-tiktok-access-token-0001"  # noqa: S105
DEMO_TIKTOK_PIXEL = "CLOCALDEMOPIXEL01"
DEMO_GA4_ID = "G-LOCALDEMO1"
DEMO_GA4_SECRET = "local-ga4-api-secret-0001"  # noqa: S105
DEMO_WEBHOOK_SECRET = "local-webhook-signing-secret-0123456789abcdef"  # noqa: S105
PREFIX = {"utmify": "/_local/utmify", "tiktok": "/_local/tiktok", "ga4": "/_local/ga4", "webhooks": "/_local/webhooks"}
RECEIVE = {
    "utmify": "/api-credentials/orders",
    "tiktok": "/open_api/v1.3/event/track/",
    "ga4": "/mp/collect",
    "webhooks": "/receive",
}


class Destinations:
    """The stack's four fakes (``stack.destinations``)."""

    def __init__(self) -> None:
        self.utmify = FakeUtmify({DEMO_UTMIFY_TOKEN})
        self.tiktok = FakeTikTok({DEMO_TIKTOK_TOKEN}, {DEMO_TIKTOK_PIXEL})
        self.ga4 = FakeGa4({DEMO_GA4_ID: DEMO_GA4_SECRET})
        self.webhooks = FakeWebhookReceiver(DEMO_WEBHOOK_SECRET)

    def fakes(self) -> dict[str, RecordingFake]:
        return {"utmify": self.utmify, "tiktok": self.tiktok, "ga4": self.ga4, "webhooks": self.webhooks}


def _mentions(body: Any, payment_id: str) -> bool:
    """Whether a received body is about the payment (its id appears in it, as orderId, event ids…)."""
    import json

    return payment_id in json.dumps(body)


def _received(name: str, fake: RecordingFake, payment: str | None) -> Any:
    bodies = [body for body in fake.bodies() if payment is None or _mentions(body, payment)]
    if name == "tiktok":
        return [event for body in bodies for event in body["data"]]
    if name == "ga4":
        return [{**event, "client_id": body["client_id"]} for body in bodies for event in body["events"]]
    return bodies


def register(stack: LocalStack, fakes: Destinations | None = None) -> Destinations:
    from local.server import LocalResponse

    destinations = fakes or Destinations()

    def endpoint(prefix: str, fake: RecordingFake) -> Any:
        def serve(request: LocalRequest) -> LocalResponse:
            # The fake sees the service's own path, as under its real host.
            query = {name: values[0] for name, values in request.query.items() if values}
            url = "https://fake" + request.path.removeprefix(prefix) + ("?" + urlencode(query) if query else "")
            status, payload = fake.serve(request.method, url, request.headers, request.body)
            return LocalResponse.json(payload, status) if payload is not None else LocalResponse(status)

        return serve

    def inspector(name: str, fake: RecordingFake) -> Any:
        def received(request: LocalRequest) -> LocalResponse:
            payload = _received(name, fake, request.arg("payment"))
            if name == "webhooks":
                return LocalResponse.json({"received": payload, "duplicates": destinations.webhooks.duplicates})
            return LocalResponse.json(payload)

        return received

    def faults(fake: RecordingFake) -> Any:
        def add(request: LocalRequest) -> LocalResponse:
            try:
                spec = request.json() or {}
            except ValueError:
                return LocalResponse.json({"error": "body must be JSON"}, 400)
            times, status = spec.get("times", 1), spec.get("status", 503)
            if not isinstance(times, int) or not isinstance(status, int) or set(spec) - {"times", "status"}:
                return LocalResponse.json({"error": "fields: times (int), status (int)"}, 400)
            fake.fail_transiently(times, status)
            return LocalResponse.json({"failures_left": fake.failures_left}, 201)

        return add

    def reset(fake: RecordingFake) -> Any:
        def clear(_: LocalRequest) -> LocalResponse:
            fake.clear()
            return LocalResponse(204)

        return clear

    def deliveries(_: LocalRequest) -> LocalResponse:
        records = _items(stack.resources.tables["AppTable"], "DESTOUT#")
        return LocalResponse.json(sorted(records, key=lambda item: str(item.get("updated_at", ""))))

    for name, fake in destinations.fakes().items():
        stack.add_route("POST", PREFIX[name] + RECEIVE[name], endpoint(PREFIX[name], fake))
        stack.add_route("GET", PREFIX[name], inspector(name, fake))
        stack.add_route("POST", PREFIX[name] + "/faults", faults(fake))
        stack.add_route("DELETE", PREFIX[name], reset(fake))
    stack.add_route("GET", "/_local/destinations/deliveries", deliveries)
    stack.set_env("UTMIFY_BASE_URL", stack.base_url + PREFIX["utmify"])
    stack.set_env("TIKTOK_BASE_URL", stack.base_url + PREFIX["tiktok"])
    stack.set_env("GA4_BASE_URL", stack.base_url + PREFIX["ga4"])
    stack.set_env("WEBHOOKS_PRIVATE_OK", "true")  # the demo's webhook receiver is this stack, on 127.0.0.1
    stack.destinations = destinations
    return destinations


def demo_destinations(base_url: str) -> list[tuple[str, str, Mapping[str, Any], str]]:
    """(id, kind, config, secret) of the demo's four destinations."""
    return [
        ("dst_demo_utmify", "utmify", {"platform": "Funil", "test": True}, DEMO_UTMIFY_TOKEN),
        ("dst_demo_tiktok", "tiktok", {"pixel_code": DEMO_TIKTOK_PIXEL}, DEMO_TIKTOK_TOKEN),
        ("dst_demo_ga4", "ga4", {"measurement_id": DEMO_GA4_ID}, DEMO_GA4_SECRET),
        (
            "dst_demo_webhook",
            "webhook",
            {"url": base_url + PREFIX["webhooks"] + RECEIVE["webhooks"]},
            DEMO_WEBHOOK_SECRET,
        ),
    ]


def configure_demo(table: Table, key_id: str, tenant_id: str, base_url: str) -> list[dict[str, Any]]:
    """Write the demo's destinations as the operator's API stores them; what /_local/seed shows of them."""
    from funil.adapters.kms import Kms
    from funil.clock import utc_now
    from funil.destinations.models import DestinationKind
    from funil.operator.destinations import destination_item

    shown = []
    for destination_id, kind, config, secret in demo_destinations(base_url):
        table.put(
            destination_item(
                Kms(),
                key_id,
                tenant_id=tenant_id,
                destination_id=destination_id,
                kind=DestinationKind(kind),
                config=config,
                secret=secret,
                created_at=utc_now(),
            )
        )
        shown.append({"id": destination_id, "kind": kind, **({"signing_secret": secret} if kind == "webhook" else {})})
    return shown
