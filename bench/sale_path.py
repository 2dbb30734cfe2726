"""What one sale costs in AWS calls: the whole chain on the local stack, counted per Lambda function.

Runs N buyers through the chain a real one takes — click on ``/go/demo`` (its server PageView from the
table's stream), ``/start <token>``, the PIX offer, "buy", payment in the sandbox (its signed webhook through
``/pay/…``), delivery, the Conversions API events — on the Docker-free local stack (moto and the
fakes), and records per function: invocations, CPU in the invoking thread, DynamoDB calls with the
write/read units DynamoDB would bill (from the items' sizes, by DynamoDB's rules), SQS requests and
HTTP calls to the outside (Telegram, the gateway, Meta).

It prints a table per sale and the ``SALE_STEPS`` rows for ``bench/cost_model.py``. Durations are
not Lambda's (CPU here, network waits there): cost_model converts CPU and call counts to billed ms.

Usage: python bench/sale_path.py [--buyers 20]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common"), str(Path(__file__).parent)]

from click_item_size import item_size  # noqa: E402

UA = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
)
READ_OPS = {"GetItem", "BatchGetItem", "Query", "Scan"}


@dataclass
class FunctionTally:
    invocations: int = 0
    cpu_s: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)  # "dynamodb.PutItem", "telegram.sendPhoto", …
    wru: float = 0.0
    rru: float = 0.0


class Recorder:
    """Which function runs in this thread, and what it spends (handlers run in the invoking thread)."""

    def __init__(self) -> None:
        self.current = threading.local()
        self.step = "warm-up"  # the chain's step now running (set by the driver, which drains after each)
        self.tallies: dict[tuple[str, str], FunctionTally] = defaultdict(FunctionTally)
        self.lock = threading.Lock()

    def function(self) -> str | None:
        return getattr(self.current, "name", None)

    def exclude(self, cpu_s: float) -> None:
        """CPU spent by the emulated AWS service (moto, in this thread): not the function's."""
        name = self.function()
        if name is not None:
            with self.lock:
                self.tallies[self.step, name].cpu_s -= cpu_s

    def count(self, kind: str, wru: float = 0.0, rru: float = 0.0) -> None:
        name = self.function()
        if name is None:
            return
        with self.lock:
            tally = self.tallies[self.step, name]
            tally.calls[kind] += 1
            tally.wru += wru
            tally.rru += rru


def _install(recorder: Recorder) -> None:
    from botocore.client import BaseClient

    from local.server import LocalStack

    real_call = BaseClient._make_api_call
    real_invoke = LocalStack.invoke_function
    real_send = httpx.Client.send
    real_async_send = httpx.AsyncClient.send

    def make_api_call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        if recorder.function() is None or service != "dynamodb":
            started = time.thread_time()
            result = real_call(self, operation, params)
            recorder.exclude(time.thread_time() - started)
            recorder.count(f"{service}.{operation}")
            return result

        def stored() -> dict[str, Any]:  # the item as DynamoDB holds it (not counted: the bench's own read)
            found = real_call(self, "GetItem", {"TableName": params["TableName"], "Key": params["Key"]})
            return dict(found.get("Item") or {})

        started = time.thread_time()
        before = stored() if operation == "DeleteItem" else None
        result = real_call(self, operation, params)
        touched = before if before is not None else stored() if operation == "UpdateItem" else None
        recorder.exclude(time.thread_time() - started)  # moto's work is DynamoDB's, not the function's
        wru, rru = _capacity(operation, params, result, touched)
        recorder.count(f"{service}.{operation}", wru, rru)
        return result

    def invoke_function(self: LocalStack, function: Any, event: dict[str, Any]) -> Any:
        outer = recorder.function()
        recorder.current.name = function.logical_id
        started = time.thread_time()
        try:
            return real_invoke(self, function, event)
        finally:
            with recorder.lock:
                tally = recorder.tallies[recorder.step, function.logical_id]
                tally.invocations += 1
                tally.cpu_s += time.thread_time() - started
            recorder.current.name = outer

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        recorder.count(_outside(request))
        return real_send(self, request, **kwargs)

    async def async_send(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        recorder.count(_outside(request))
        return await real_async_send(self, request, **kwargs)

    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
    LocalStack.invoke_function = invoke_function  # type: ignore[method-assign]
    httpx.Client.send = send  # type: ignore[method-assign]
    httpx.AsyncClient.send = async_send  # type: ignore[method-assign]


def _outside(request: httpx.Request) -> str:
    path = request.url.path
    telegram = re.search(r"/bot[^/]+/(\w+)$", path)
    if telegram:
        return f"telegram.{telegram.group(1)}"
    if "graph" in path or "/events" in path:
        return "meta.events"
    return "gateway." + request.method


def _capacity(
    operation: str, params: dict[str, Any], result: dict[str, Any], touched: dict[str, Any] | None
) -> tuple[float, float]:
    """Write/read units as DynamoDB bills them, from the sizes of the items involved."""
    if operation == "PutItem":
        return float(max(1, math.ceil(item_size(params["Item"]) / 1024))), 0.0
    if operation in ("UpdateItem", "DeleteItem"):
        # Billed on the larger of before and after: the item after an update, before a delete.
        return float(max(1, math.ceil(item_size(touched or {}) / 1024))), 0.0
    if operation == "TransactWriteItems":
        units = 0
        for action in params["TransactItems"]:
            item = next(iter(action.values())).get("Item") or {}
            units += max(1, math.ceil(item_size(item) / 1024))
        return float(2 * units), 0.0  # transactions cost twice
    if operation == "BatchWriteItem":
        units = sum(
            max(1, math.ceil(item_size(request.get("PutRequest", {}).get("Item", {})) / 1024))
            for requests in params["RequestItems"].values()
            for request in requests
        )
        return float(units), 0.0
    if operation in READ_OPS:
        items = result.get("Items") or ([result["Item"]] if "Item" in result else [])
        if operation == "BatchGetItem":
            items = [item for found in (result.get("Responses") or {}).values() for item in found]
        consistent = bool(params.get("ConsistentRead"))
        if operation == "BatchGetItem":
            units = sum(max(1, math.ceil(item_size(item) / 4096)) for item in items) or 1
        else:
            units = max(1, math.ceil(sum(item_size(item) for item in items) / 4096))
        return 0.0, float(units if consistent else units / 2)
    return 0.0, 0.0


STEPS = ("click", "start", "buy", "pay")


def _buy(client: httpx.Client, stack: Any, recorder: Recorder, buyer: int) -> str:
    """One buyer through the chain, step by step (queues drained after each); returns the payment id."""

    def step(name: str) -> None:
        stack.drain(30)
        recorder.step = name

    step("click")
    page = client.get(f"/go/demo?fbclid=IwAR0sale{buyer:05d}", headers={"user-agent": UA})
    token = re.search(r"start=([A-Za-z0-9_-]{22})", page.text).group(1)  # type: ignore[union-attr]
    click = client.get("/_local/items", params={"prefix": f"CLICK#{token}"}).json()[0]
    bot_id = click["b"]  # the click item's bot (docs/data-model.md)
    user = {"id": 500000 + buyer, "is_bot": False, "first_name": "Comprador", "language_code": "pt-br"}
    chat = {"id": user["id"], "type": "private", "first_name": "Comprador"}
    text = f"/start {token}"
    step("start")
    start = {"message": {"message_id": 1, "date": int(time.time()), "chat": chat, "from": user, "text": text}}
    client.post(f"/_local/telegram/{bot_id}/updates", json=start)
    calls = client.get(f"/_local/telegram/{bot_id}/calls", params={"chat": str(user["id"])}).json()
    buttons = [
        button["callback_data"]
        for call in calls
        for row in ((call["params"].get("reply_markup") or {}).get("inline_keyboard") or [])
        for button in row
        if str(button.get("callback_data", "")).startswith("b:")
    ]
    tap = {
        "callback_query": {
            "id": f"cb{buyer}",
            "from": user,
            "chat_instance": "1",
            "data": buttons[0],
            "message": {"message_id": 2, "date": int(time.time()), "chat": chat, "text": "ofertas"},
        }
    }
    step("buy")
    client.post(f"/_local/telegram/{bot_id}/updates", json=tap)
    pending = client.get(f"/_local/telegram/{bot_id}/pending", params={"chat": str(user["id"])}).json()
    payment_id = str(pending[0]["payment_id"])
    step("pay")
    client.post(f"/_local/sandbox/pay/{payment_id}", json={}).raise_for_status()
    step("done")
    return payment_id


AWS_SERVICES = ("dynamodb", "sqs", "kms")
HTTP_FUNCTIONS = {"RedirectFunction", "TelegramWebhookFunction", "GatewayWebhookFunction"}


def summary(recorder: Recorder, buyers: int) -> dict[str, dict[str, dict[str, float]]]:
    """Per step and function, per sale: what cost_model.py prices."""
    result: dict[str, dict[str, dict[str, float]]] = {}
    for (step_name, function), tally in sorted(recorder.tallies.items()):
        if step_name not in STEPS:
            continue
        aws = sum(count for kind, count in tally.calls.items() if kind.split(".")[0] in ("dynamodb", "sqs", "kms"))
        outside = sum(
            count for kind, count in tally.calls.items() if kind.split(".")[0] not in ("dynamodb", "sqs", "kms")
        )
        result.setdefault(step_name, {})[function] = {
            "invocations": tally.invocations / buyers,
            "cpu_ms": round(tally.cpu_s * 1000 / max(1, tally.invocations), 2),
            "wru": tally.wru / buyers,
            "rru": tally.rru / buyers,
            "sqs": sum(count for kind, count in tally.calls.items() if kind.startswith("sqs.")) / buyers,
            "aws_calls": aws / buyers,
            "outside_calls": outside / buyers,
            "api_requests": tally.invocations / buyers if function in HTTP_FUNCTIONS else 0.0,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buyers", type=int, default=20)
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("sale_path.json"))
    args = parser.parse_args(argv)

    import logging

    logging.disable(logging.WARNING)
    from local.server import start_stack

    recorder = Recorder()
    _install(recorder)
    stack = start_stack(port=0)
    try:
        with httpx.Client(base_url=stack.base_url, timeout=30) as client:
            _buy(client, stack, recorder, 0)  # every function's first (cold) invocation: not counted
            recorder.tallies.clear()
            payments = [_buy(client, stack, recorder, buyer) for buyer in range(1, args.buyers + 1)]
            stack.drain(30)
            statuses = Counter(
                item["status"]
                for item in client.get("/_local/items", params={"prefix": "PAYMENT#"}).json()
                if item.get("sk") == "PAYMENT" and item["payment_id"] in payments
            )
            events = Counter(
                event.get("event_name") for event in client.get("/_local/capi").json() if isinstance(event, dict)
            )
    finally:
        stack.stop()

    buyers = args.buyers
    print(f"{buyers} sales (after one warm-up sale); payments: {dict(statuses)}; at the fake Graph API: {dict(events)}")
    print("\n| step | function | invocations/sale | CPU ms/invocation | WRU/sale | RRU/sale | calls per sale |")
    print("|---|---|---:|---:|---:|---:|---|")
    for (step_name, function), tally in sorted(recorder.tallies.items(), key=lambda pair: STEPS.index(pair[0][0])):
        calls = ", ".join(f"{kind} {count / buyers:g}" for kind, count in sorted(tally.calls.items()))
        print(
            f"| {step_name} | {function} | {tally.invocations / buyers:g} | "
            f"{tally.cpu_s * 1000 / max(1, tally.invocations):.1f} | {tally.wru / buyers:g} | "
            f"{tally.rru / buyers:g} | {calls} |"
        )
    measured = {"buyers": buyers, "steps": summary(recorder, buyers)}
    args.json.write_text(json.dumps(measured, indent=1, sort_keys=True) + "\n")
    print(f"\nwritten: {args.json} (read by bench/cost_model.py)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
