"""The Meta side of the local stack: the fake Graph API over HTTP and what it received.

``register(stack)`` (a local.server extension) mounts:

- ``POST /_local/graph/{version}/{dataset}/events``: the fake Conversions API (local/fakes/meta_graph.py);
  capi_sender reaches it because META_GRAPH_BASE_URL points at ``<stack>/_local/graph``;
- ``GET /_local/capi``: the events Meta "received", each exactly as sent (``?pixel=<dataset id>``,
  ``?payment=<payment id>``: its InitiateCheckout, Purchase, Refund; ``?token=<click token>``: the
  click's PageView, the Lead it attributed and its payments' events);
- ``GET /_local/capi/deliveries``: the delivery records (``CAPI#…``) with status, attempts, match quality;
- ``GET /_local/capi/requests``: one line per Graph request (pixel, events, injected fault);
- ``POST /_local/capi/faults``: inject a fault, JSON like ``{"status": 500, "code": 2, "is_transient": true}``,
  ``{"code": 190, "status": 400, "is_transient": false}``, ``{"timeout": true}``, with ``times`` (default 1);
- ``DELETE /_local/capi``: forget events, requests and faults;
- ``GET /_local/graph/{version}/act_{id}`` and ``…/act_{id}/insights``: the fake Marketing API the
  spend import and ``POST /api/v1/ad-accounts`` read (the demo's ad account, ``act_1234567890``:
  ``local.fakes.meta_graph.DEMO_AD_ACCOUNT_ID``, readable with any token of Meta's shape);
- ``GET /_local/graph/requests``: one line per Marketing API read (kind, account, parameters, fault).

Valid access tokens: the demo pixel's (``local.seed.DEMO_PIXEL_ACCESS_TOKEN``) and any token of
Meta's shape (``EAA`` then at least 16 letters, digits, ``_`` or ``-``), so a pixel added through
the operator's API (``funil pixels add … --token EAA…``) passes its test event; any other token is
refused as Meta refuses a bad one (code 190, so the API answers 422 on ``access_token``).
It sets PUBLIC_BASE_URL to the stack's URL so event_source_url names the local bridge page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3

from local import aws
from local.fakes.meta_graph import FakeMetaGraph, Fault, demo_ad_account
from local.seed import DEMO_PIXEL_ACCESS_TOKEN

if TYPE_CHECKING:
    from local.server import LocalRequest, LocalResponse, LocalStack

LOCAL_ACCESS_TOKEN = DEMO_PIXEL_ACCESS_TOKEN
META_TOKEN_SHAPE = re.compile(r"EAA[A-Za-z0-9_-]{16,1000}")
GRAPH_PREFIX = "/_local/graph"
FAULT_FIELDS = {"status", "code", "subcode", "message", "is_transient", "timeout", "times", "event_id"}


def _items(table_name: str, prefix: str) -> list[dict[str, Any]]:
    from funil.adapters.dynamo import deserialize

    client = boto3.client("dynamodb", region_name=aws.REGION)
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table_name):
        items.extend(deserialize(item) for item in page.get("Items", []) if item["pk"]["S"].startswith(prefix))
    return items


def _deliveries(table_name: str) -> list[dict[str, Any]]:
    return sorted(_items(table_name, "CAPI#"), key=lambda item: str(item.get("updated_at", "")))


def _payment_events(payment_id: str) -> Callable[[str], bool]:
    """A payment's events: ic_<id>, purchase_<id>, refund_<id>…"""
    return lambda event_id: event_id.endswith(f"_{payment_id}")


def _click_events(table_name: str, token: str) -> Callable[[str], bool]:
    """A click's events: its PageView, the Lead of the start it attributed, its payments' events."""
    wanted = {f"pv_{token}"}
    for touch in _items(table_name, "LEAD#"):
        if touch.get("type") == "touch" and str(touch.get("sk", "")).endswith(f"#{token}"):
            wanted.add(f"lead_{touch['bot_id']}_{touch['telegram_user_id']}")
    payments = {
        str(item["payment_id"])
        for item in _items(table_name, "PAYMENT#")
        if item.get("sk") == "PAYMENT" and (item.get("attribution") or {}).get("click_token") == token
    }
    return lambda event_id: event_id in wanted or any(event_id.endswith(f"_{p}") for p in payments)


def register(stack: LocalStack, fake: FakeMetaGraph | None = None) -> FakeMetaGraph:
    from local.server import LocalResponse

    graph = fake or FakeMetaGraph(access_tokens={LOCAL_ACCESS_TOKEN}, token_pattern=META_TOKEN_SHAPE)

    def events_endpoint(request: LocalRequest) -> LocalResponse:
        status, payload, timed_out = graph.serve(request.method, request.path, request.headers, request.body)
        if timed_out:
            time.sleep(graph.timeout_sleep_seconds)  # longer than the sender waits
        return LocalResponse.json(payload, status)

    def marketing_endpoint(request: LocalRequest) -> LocalResponse:
        params = {name: values[0] for name, values in request.query.items() if values}
        status, payload, timed_out = graph.serve_get(request.path, params, request.headers, stack.base_url)
        if timed_out:
            time.sleep(graph.timeout_sleep_seconds)
        return LocalResponse.json(payload, status)

    def marketing_requests(_: LocalRequest) -> LocalResponse:
        return LocalResponse.json(list(graph.marketing_requests))

    def received(request: LocalRequest) -> LocalResponse:
        events = graph.events(request.arg("pixel"))
        payment, token = request.arg("payment"), request.arg("token")
        if payment:
            events = [event for event in events if _payment_events(payment)(str(event.get("event_id")))]
        if token:
            belongs = _click_events(stack.resources.tables["AppTable"], token)
            events = [event for event in events if belongs(str(event.get("event_id")))]
        return LocalResponse.json(events)

    def deliveries(_: LocalRequest) -> LocalResponse:
        return LocalResponse.json(_deliveries(stack.resources.tables["AppTable"]))

    def requests(_: LocalRequest) -> LocalResponse:
        return LocalResponse.json(list(graph.requests))

    def add_fault(request: LocalRequest) -> LocalResponse:
        try:
            spec = request.json() or {}
        except ValueError:
            return LocalResponse.json({"error": "body must be JSON"}, 400)
        if not isinstance(spec, dict) or set(spec) - FAULT_FIELDS:
            return LocalResponse.json({"error": f"fields: {sorted(FAULT_FIELDS)}"}, 400)
        fault = Fault(**spec)
        graph.fail(fault)
        return LocalResponse.json({"faults": len(graph.faults)}, 201)

    def reset(_: LocalRequest) -> LocalResponse:
        graph.clear()
        return LocalResponse(204)

    stack.add_route("POST", GRAPH_PREFIX + "/{version}/{pixel}/events", events_endpoint)
    stack.add_route("GET", GRAPH_PREFIX + "/requests", marketing_requests)
    stack.add_route("GET", GRAPH_PREFIX + "/{version}/{account}", marketing_endpoint)
    stack.add_route("GET", GRAPH_PREFIX + "/{version}/{account}/insights", marketing_endpoint)
    if demo_ad_account().account_id not in graph.ad_accounts:
        graph.add_ad_account(demo_ad_account())
    stack.add_route("GET", "/_local/capi", received)
    stack.add_route("DELETE", "/_local/capi", reset)
    stack.add_route("GET", "/_local/capi/deliveries", deliveries)
    stack.add_route("GET", "/_local/capi/requests", requests)
    stack.add_route("POST", "/_local/capi/faults", add_fault)
    stack.set_env("META_GRAPH_BASE_URL", stack.base_url + GRAPH_PREFIX)
    stack.set_env("PUBLIC_BASE_URL", stack.base_url)
    stack.graph = graph
    return graph
