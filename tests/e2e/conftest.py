"""Browser end-to-end fixtures: the local stack and Debian's Chromium driven by Playwright.

One local stack (``local.server.start_stack``, moto-backed, demo seed) and one headless Chromium per
test module. ``bridge`` opens a fresh browser context per visit in which Meta's Pixel script and
Telegram are local stubs, and records what the page does: every request, the Pixel calls, console
messages, page errors, CSP violations and attempts to set ``window.__pwned``.

Playwright is used with Debian's ``/usr/bin/chromium`` only (``scripts/install-browser.sh``); it never
downloads a browser. The machine may have no internet: background networking is off and every
outside address the page may reach is answered (stubbed or refused at once) by a route.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote
from urllib.request import urlopen

import pytest

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = f"Debian's chromium is not installed at {CHROMIUM} (bash scripts/install-browser.sh)"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
ACTION_TIMEOUT_MS = 10_000
WAIT_SECONDS = 8.0

PIXEL_URL = "https://connect.facebook.net/en_US/fbevents.js"
TELEGRAM_STUB_HTML = "<!doctype html><title>Telegram stub</title><p>t.me stub</p>"

# Stands in for fbevents.js. Meta's snippet queues calls on fbq.queue until the script loads; the
# stub reports those, then every later call (fbq.callMethod), to Python through a binding that
# survives the page's navigation to Telegram. It defines nothing else. __SET_FBP__ becomes a
# statement setting _fbp as the real Pixel does on a first visit, or nothing.
_PIXEL_STUB = """(function(){
  var f = window.fbq;
  function rec(args){
    var call = Array.prototype.slice.call(args);
    (window.__fbqCalls = window.__fbqCalls || []).push(call);
    if (window.__fbqRecord) window.__fbqRecord(JSON.stringify(call));
  }
  if (f) {
    var q = f.queue || [];
    for (var i = 0; i < q.length; i++) rec(q[i]);
    f.queue = [];
    f.callMethod = function(){ rec(arguments); };
  }
  __SET_FBP__
})();"""

# Runs before any page script in every document (not subject to the page's CSP).
_RECORDER = """(function(){
  document.addEventListener('securitypolicyviolation', function(e){
    window.__cspRecord(JSON.stringify({directive: e.violatedDirective, blocked: e.blockedURI,
      sample: e.sample, source: e.sourceFile, line: e.lineNumber}));
  });
  var pwned;
  Object.defineProperty(window, '__pwned', {configurable: false,
    get: function(){ return pwned; },
    set: function(v){ pwned = v; window.__pwnedRecord(String(v)); }});
})();"""


# --- the local stack --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    """The local stack with the demo seed, its queue consumers running (a module may stop them)."""
    from local.server import start_stack

    running = start_stack(host="127.0.0.1", port=0)
    try:
        yield running
    finally:
        running.stop()


def get_json(stack: Any, path: str) -> Any:
    with urlopen(stack.base_url + path, timeout=10) as response:
        return json.loads(response.read())


def seed_data(stack: Any) -> dict[str, Any]:
    """The demo seed as ``/_local/seed`` shows it."""
    return dict(stack.seed.as_json())


def demo_bot_usernames(stack: Any) -> set[str]:
    return {bot["username"] for bot in seed_data(stack)["bots"]}


def items(stack: Any, prefix: str) -> list[dict[str, Any]]:
    return list(get_json(stack, "/_local/items?prefix=" + quote(prefix, safe="")))


def click_item(stack: Any, token: str) -> dict[str, Any] | None:
    matches = [item for item in items(stack, f"CLICK#{token}") if item.get("token") == token]
    assert len(matches) <= 1, matches
    return matches[0] if matches else None


def wait_for_click(stack: Any, token: str, ready: Callable[[dict[str, Any]], bool] = lambda _: True) -> dict[str, Any]:
    """The click item once ``ready`` holds (the beacon is asynchronous); fails after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        item = click_item(stack, token)
        if item is not None and ready(item):
            return item
        if time.monotonic() > deadline:
            raise AssertionError(f"click {token} not ready after {WAIT_SECONDS}s: {item}")
        time.sleep(0.05)


def queue_counts(stack: Any, logical_id: str = "ConversionsQueue") -> dict[str, int]:
    return dict(get_json(stack, "/_local/queues")[logical_id])


def conversion_messages(stack: Any) -> list[dict[str, Any]]:
    """Bodies of the messages on the conversions queue, left on it.

    Meaningful once the queue's consumer is stopped (``stack.poller.stop()``). The stack runs moto
    in this process, so boto3 reaches the same queues. Messages are received with a visibility
    timeout of 0 until no new one appears.
    """
    import boto3

    from local import aws

    sqs = boto3.client("sqs", region_name=aws.REGION)
    url = stack.resources.queues["ConversionsQueue"]
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(20):
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        fresh = [message for message in received.get("Messages", []) if message["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen[message["MessageId"]] = json.loads(message["Body"])
    return list(seen.values())


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Visit:
    """One browser context on the bridge page, with everything it did recorded."""

    base_url: str
    context: Any
    page: Any
    requests: list[Any] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    fbq_calls: list[list[Any]] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[dict[str, Any]] = field(default_factory=list)
    pwned: list[str] = field(default_factory=list)
    pending: list[Any] = field(default_factory=list)  # requests left unanswered
    document: Any = None  # the bridge page's Response
    body: bytes = b""  # read at once: the page soon navigates away

    # Playwright takes Python functions as listeners, not builtins such as list.append.
    def record_request(self, request: Any) -> None:
        self.requests.append(request)

    def record_response(self, response: Any) -> None:
        self.responses.append(response)

    def open(self, path: str) -> Any:
        self.document = self.page.goto(self.base_url + path, wait_until="domcontentloaded")
        assert self.document is not None
        self.body = self.document.body()
        return self.document

    @property
    def html(self) -> str:
        return self.body.decode("utf-8")

    def wait_until(self, condition: Callable[[], Any], what: str, seconds: float = WAIT_SECONDS) -> Any:
        """Let the page run (Playwright dispatches events meanwhile) until ``condition`` is truthy."""
        deadline = time.monotonic() + seconds
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {seconds}s waiting for {what}")
            self.page.wait_for_timeout(25)

    def wait_for_telegram(self) -> str:
        self.page.wait_for_url("https://t.me/**", timeout=WAIT_SECONDS * 1000)
        return str(self.page.url)

    def beacon_requests(self) -> list[Any]:
        return [request for request in self.requests if request.method == "POST" and request.url.endswith("/c")]

    def beacon_statuses(self) -> list[int]:
        return [response.status for response in self.responses if response.request.method == "POST"]

    def app_link_attempts(self) -> list[str]:
        return [request.url for request in self.requests if request.url.startswith("tg:")]

    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"]

    def web_link_attempts(self) -> list[str]:
        return [request.url for request in self.requests if request.url.startswith("https://t.me/")]


@pytest.fixture
def bridge(stack: Any, browser: Any) -> Iterator[Callable[..., Visit]]:
    """bridge(user_agent, cookies=…, java_script=…, pixel=…, pixel_sets_fbp=…, block_telegram=…) → Visit.

    ``pixel`` is how Meta's script answers: "stub" (the recording stub), "blocked" (refused, as an
    ad blocker does) or "hanging" (never answers, as on a bad mobile network). t.me answers with a stub page; with ``block_telegram`` the navigation to it is recorded and
    aborted instead (net::ERR_ABORTED commits no error page), so the bridge page stays inspectable.
    A navigation left pending would not do: Chromium's page stops answering Playwright meanwhile.
    """
    visits: list[Visit] = []

    def open_context(
        user_agent: str,
        *,
        cookies: dict[str, str] | None = None,
        java_script: bool = True,
        pixel: str = "stub",
        pixel_sets_fbp: str | None = None,
        block_telegram: bool = False,
        locale: str = "pt-BR",
    ) -> Visit:
        context = browser.new_context(
            user_agent=user_agent, java_script_enabled=java_script, locale=locale, service_workers="block"
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
        if cookies:
            context.add_cookies(
                [{"name": name, "value": value, "url": stack.base_url} for name, value in cookies.items()]
            )
        visit = Visit(base_url=stack.base_url, context=context, page=None)
        visits.append(visit)

        context.expose_binding("__fbqRecord", lambda _source, call: visit.fbq_calls.append(json.loads(call)))
        context.expose_binding("__cspRecord", lambda _source, data: visit.csp_violations.append(json.loads(data)))
        context.expose_binding("__pwnedRecord", lambda _source, value: visit.pwned.append(value))
        context.add_init_script(_RECORDER)

        # Anything else outside the stack fails at once (recorded as a request all the same); the
        # later, more specific routes take precedence.
        context.route(
            lambda url: not url.startswith(stack.base_url + "/"), lambda route: route.abort("blockedbyclient")
        )
        set_fbp = f"document.cookie = '_fbp={pixel_sets_fbp}; path=/; max-age=7776000';" if pixel_sets_fbp else ""
        pixel_stub = _PIXEL_STUB.replace("__SET_FBP__", set_fbp)

        def meta(route: Any) -> None:
            if pixel == "blocked":
                route.abort("blockedbyclient")
            elif pixel == "hanging":
                visit.pending.append(route)
            else:
                route.fulfill(status=200, content_type="application/javascript", body=pixel_stub)

        context.route("https://connect.facebook.net/**", meta)

        def telegram(route: Any) -> None:
            if block_telegram:
                route.abort("aborted")
            else:
                route.fulfill(status=200, content_type="text/html", body=TELEGRAM_STUB_HTML)

        context.route("https://t.me/**", telegram)
        context.on("request", visit.record_request)
        context.on("response", visit.record_response)
        page = context.new_page()
        page.on("console", lambda message: visit.console.append((message.type, message.text)))
        page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
        visit.page = page
        return visit

    yield open_context
    for visit in visits:
        for route in visit.pending:
            route.abort()
        visit.context.close()
