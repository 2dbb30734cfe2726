"""The local stack under a burst: N requests at once, mixed over every route, counted by outcome.

    python bench/local_load.py [--requests 200] [--json]

Starts the local stack (the README's, default extensions) on a free port, prepares what the burst
needs (clicks, leads, pending sandbox payments), then releases every request at the same instant
from its own thread and connection:

- ``GET /go/demo`` clicks (a phone's User-Agent): each is one request and one write; its server
  PageView follows from the table's stream (ClickStreamFunction sends it to the fake Graph API);
- ``POST /tg/{bot}`` updates with the bot's secret header: ``/start <token>`` and the offer's PIX button;
- ``POST /_local/sandbox/pay/{payment}``: the payer pays, the sandbox sends its signed webhook through
  ``POST /pay/{gateway}/{secret}`` (some payments twice at once: a repeated webhook);
- hostile or wrong requests production also gets: an unsigned webhook, an unknown delivery page.

It counts answers ≥ 500, connections reset or refused, and tracebacks logged while the burst and the
queues' and the stream's consumers ran; then checks every payment ended paid with one Purchase, and
every click of the burst with one PageView, at the fake Graph API.
``tests/integration/test_local_load.py`` runs it and asserts the zeros.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
TOKEN_IN_PAGE = re.compile(r"start=([A-Za-z0-9_-]{22})")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class LoadReport:
    requests: int = 0
    seconds: float = 0.0
    by_route: dict[str, Counter[int]] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)  # "route status"
    connection_errors: list[str] = field(default_factory=list)  # "route ExceptionName"
    tracebacks: list[str] = field(default_factory=list)  # logger: first line
    payments: int = 0
    paid: int = 0
    purchases: Counter[str] = field(default_factory=Counter)  # payment id → Purchase events received
    click_tokens: list[str] = field(default_factory=list)  # the burst's clicks (their bridge pages' tokens)
    page_views: Counter[str] = field(default_factory=Counter)  # click token → PageView events received

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["by_route"] = {route: dict(counts) for route, counts in self.by_route.items()}
        data["purchases_per_payment"] = dict(Counter(self.purchases.values()))
        data["page_views_per_click"] = dict(Counter(self.page_views.values()))
        del data["purchases"], data["page_views"], data["click_tokens"]
        return data


class _TracebackCatcher(logging.Handler):
    """Every record logged with an exception (what would print a traceback), anywhere in the process."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.caught: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.exc_text or "Traceback" in record.getMessage():
            self.caught.append(f"{record.name}: {record.getMessage()[:200]}")


@contextmanager
def catching_tracebacks() -> Iterator[_TracebackCatcher]:
    catcher = _TracebackCatcher()
    loggers = [logging.getLogger(), logging.getLogger("funil")]  # the service's logger does not propagate
    for watched in loggers:
        watched.addHandler(catcher)
    try:
        yield catcher
    finally:
        for watched in loggers:
            watched.removeHandler(catcher)


@dataclass(frozen=True)
class Call:
    route: str  # a label for the report
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _update(update_id: int, user_id: int, **content: Any) -> bytes:
    user = {"id": user_id, "is_bot": False, "first_name": "Carga", "language_code": "pt-br"}
    chat = {"id": user_id, "type": "private", "first_name": "Carga"}
    now = int(time.time())
    if "text" in content:
        message = {"message_id": update_id, "date": now, "chat": chat, "from": user, "text": content["text"]}
        return json.dumps({"update_id": update_id, "message": message}).encode()
    query = {
        "id": f"cb{update_id}",
        "from": user,
        "chat_instance": "1",
        "data": content["data"],
        "message": {"message_id": update_id, "date": now, "chat": chat, "text": "Ofertas"},
    }
    return json.dumps({"update_id": update_id, "callback_query": query}).encode()


class Burst:
    """Prepares a mixed burst against a running stack and fires it."""

    def __init__(self, stack: Any, total: int) -> None:
        self.stack = stack
        self.total = total
        self.http = httpx.Client(base_url=stack.base_url, timeout=60)
        self.secrets = {bot_id: secret for bot_id, (_token, secret) in stack.telegram.credentials.items()}
        self.update_ids = iter(range(7_000_000, 8_000_000))
        self.payments: list[str] = []

    def _click(self, n: int) -> tuple[str, str]:
        page = self.http.get(f"/go/demo?fbclid=IwARload{n}&utm_source=load", headers={"user-agent": PHONE})
        token = TOKEN_IN_PAGE.search(page.text).group(1)  # type: ignore[union-attr]
        (click,) = self.http.get("/_local/items", params={"prefix": f"CLICK#{token}"}).json()
        return token, str(click["b"])  # the click item's bot (docs/data-model.md)

    def _telegram(self, bot_id: str, body: bytes, route: str) -> Call:
        headers = {"content-type": "application/json", SECRET_HEADER: self.secrets[bot_id]}
        return Call(route, "POST", f"/tg/{bot_id}", body, headers)

    def prepare(self) -> list[Call]:
        """Clicks and leads made one by one first; the burst's own calls, in a fixed interleaved order."""
        share = max(1, self.total // 20)  # the mix scales with the total: 20 shares
        clicks_to_start = [self._click(n) for n in range(2 * share)]
        buyers: list[tuple[str, int]] = []
        for n, (token, bot_id) in enumerate(clicks_to_start[:share]):
            user = 9_100_000 + n
            answer = self.http.post(
                f"/tg/{bot_id}",
                content=_update(next(self.update_ids), user, text=f"/start {token}"),
                headers={"content-type": "application/json", SECRET_HEADER: self.secrets[bot_id]},
            )
            answer.raise_for_status()
            buyers.append((bot_id, user))
        for n in range(3 * share):
            # A buyer with a Telegram id: a Purchase needs at least one match key (external_id).
            order = {"amount_cents": 1990, "offer_id": "grupo_vip", "telegram_user_id": 9_300_000 + n}
            created = self.http.post("/_local/sandbox/checkout", json=order)
            created.raise_for_status()
            self.payments.append(created.json()["payment_id"])
        sandbox = self.stack.sandbox.fake
        unsigned_path = httpx.URL(str(sandbox.webhook_url)).path

        kinds: list[list[Call]] = [
            [
                Call("GET /go/{slug}", "GET", f"/go/demo?fbclid=IwARburst{n}", headers={"user-agent": PHONE})
                for n in range(7 * share)  # a click is one request now: the beacons' share went to clicks
            ],
            [
                self._telegram(
                    bot_id,
                    _update(next(self.update_ids), 9_200_000 + n, text=f"/start {token}"),
                    "POST /tg/{bot_id} start",
                )
                for n, (token, bot_id) in enumerate(clicks_to_start)
            ],
            [
                self._telegram(
                    bot_id, _update(next(self.update_ids), user, data="b:grupo_vip"), "POST /tg/{bot_id} buy"
                )
                for bot_id, user in buyers
            ],
            [Call("POST /_local/sandbox/pay", "POST", f"/_local/sandbox/pay/{p}") for p in self.payments],
            [
                Call("POST /_local/sandbox/pay (again)", "POST", f"/_local/sandbox/pay/{p}")
                for p in self.payments[:share]
            ],
            [
                Call(
                    "POST /pay/{gateway}/{secret} unsigned",
                    "POST",
                    unsigned_path,
                    b'{"type":"charge.paid"}',
                    {"content-type": "application/json"},
                )
                for _ in range(share)
            ],
            [Call("GET /d/{token} unknown", "GET", f"/d/{'x' * 22}") for _ in range(share)],
        ]
        calls: list[Call] = []
        while any(kinds) and len(calls) < self.total:  # round robin: every kind spread over the burst
            for kind in kinds:
                if kind and len(calls) < self.total:
                    calls.append(kind.pop())
        while len(calls) < self.total:
            n = len(calls)
            calls.append(Call("GET /go/{slug}", "GET", f"/go/demo?fbclid=IwARfill{n}", headers={"user-agent": PHONE}))
        return calls

    def fire(self, calls: list[Call], report: LoadReport) -> None:
        """Every call from its own thread and connection, released together."""
        barrier = threading.Barrier(len(calls))
        lock = threading.Lock()

        def one(call: Call) -> None:
            with httpx.Client(base_url=self.stack.base_url, timeout=60) as client:
                barrier.wait()
                try:
                    answer = client.request(call.method, call.path, content=call.body, headers=call.headers)
                except httpx.TransportError as error:
                    with lock:
                        report.connection_errors.append(f"{call.route} {type(error).__name__}")
                    return
            with lock:
                report.by_route.setdefault(call.route, Counter())[answer.status_code] += 1
                if call.route == "GET /go/{slug}" and (found := TOKEN_IN_PAGE.search(answer.text)):
                    report.click_tokens.append(found.group(1))
                if answer.status_code >= 500:
                    report.server_errors.append(f"{call.route} {answer.status_code}")

        threads = [threading.Thread(target=one, args=(call,), daemon=True) for call in calls]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        report.seconds = time.monotonic() - started
        report.requests = len(calls)

    def settle(self, report: LoadReport) -> None:
        """After the queues and the stream drain: every payment paid, one Purchase each, one PageView a click."""
        report.payments = len(self.payments)
        for payment_id in self.payments:
            items = self.http.get("/_local/items", params={"prefix": f"PAYMENT#{payment_id}"}).json()
            if any(item["sk"] == "PAYMENT" and item["status"] == "paid" for item in items):
                report.paid += 1
            events = self.http.get("/_local/capi", params={"payment": payment_id}).json()
            report.purchases[payment_id] = sum(1 for event in events if event.get("event_name") == "Purchase")
        sent = Counter(event.get("event_id") for event in self.http.get("/_local/capi").json())
        for token in report.click_tokens:
            report.page_views[token] = sent[f"pv_{token}"]


def run_load(stack: Any, total: int = 200, drain_seconds: float = 60.0) -> LoadReport:
    """Fire ``total`` mixed requests at once at a running local stack; count what went wrong."""
    report = LoadReport()
    burst = Burst(stack, total)
    calls = burst.prepare()
    with catching_tracebacks() as catcher:
        burst.fire(calls, report)
        stack.drain(drain_seconds)
    report.tracebacks = catcher.caught
    burst.settle(report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from local.server import start_stack

    with start_stack(port=0) as stack:
        report = run_load(stack, args.requests)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
        return 0
    print(f"{report.requests} requests at once in {report.seconds:.2f} s")
    print(f"{'route':<40} statuses")
    for route, counts in sorted(report.by_route.items()):
        print(f"{route:<40} {dict(sorted(counts.items()))}")
    print(f"answers >= 500: {len(report.server_errors)}  connection errors: {len(report.connection_errors)}")
    print(f"tracebacks logged: {len(report.tracebacks)}")
    per_payment = dict(Counter(report.purchases.values()))
    print(f"payments paid: {report.paid}/{report.payments}; Purchases per payment: {per_payment}")
    per_click = dict(Counter(report.page_views.values()))
    print(f"clicks: {len(report.click_tokens)}; PageViews per click: {per_click}")
    for line in report.server_errors + report.connection_errors + report.tracebacks:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
