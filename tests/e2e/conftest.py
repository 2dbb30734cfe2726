"""Browser end-to-end fixtures: the local stack and Debian's Chromium driven by Playwright.

One local stack (``local.server.start_stack``, moto-backed, demo seed) and one headless Chromium per
test module. ``bridge`` opens a fresh browser context per visit in which Meta's Pixel script and
Telegram are local stubs, and records what the page does: every request, the Pixel calls, console
messages, page errors, CSP violations and attempts to set ``window.__pwned``.

Playwright is used with Debian's ``/usr/bin/chromium`` only (``scripts/install-browser.sh``); it never
downloads a browser. The machine may have no internet: background networking is off and every
outside address the page may reach is answered (stubbed or refused at once) by a route.

Waits are for events, never for a time: Playwright's own (``expect_event``, ``wait_for_url``,
``wait_for_load_state``, ``wait_for_function``, locators), or, for a state outside the browser (the
stack's table, what its server answered), a poll that lets the browser run meanwhile. WAIT_SECONDS is
only a safety net for a test that would otherwise hang: generous, so a busy machine never reaches it.
"""

from __future__ import annotations

import json
import re
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
WAIT_SECONDS = 30.0  # a safety net, never a pause: every wait ends at its event
WAIT_MS = int(WAIT_SECONDS * 1000)
ACTION_TIMEOUT_MS = WAIT_MS
POLL_MS = 20  # how often a state outside the browser is looked at while the browser runs
BEACON_PATH = re.compile(r"/go/[^/?]+/c")

PIXEL_URL = "https://connect.facebook.net/en_US/fbevents.js"
TELEGRAM_STUB_HTML = "<!doctype html><title>Telegram stub</title><p>t.me stub</p>"

# Stands in for fbevents.js. Meta's snippet queues calls on fbq.queue until the script loads; the
# stub reports those, then every later call (fbq.callMethod), to Python through a binding that
# survives the page's navigation to Telegram. It defines nothing else. __SET_FBP__ becomes a
# statement setting _fbp as the real Pixel does on a first visit, or nothing. The page keeps its own
# list of the calls and the binding's promises (each settles once Python has recorded its call).
_PIXEL_STUB = """(function(){
  var f = window.fbq;
  function rec(args){
    var call = Array.prototype.slice.call(args);
    (window.__fbqCalls = window.__fbqCalls || []).push(call);
    if (window.__fbqRecord)
      (window.__fbqRecorded = window.__fbqRecorded || []).push(window.__fbqRecord(JSON.stringify(call)));
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
    with urlopen(stack.base_url + path, timeout=WAIT_SECONDS) as response:
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


@dataclass(frozen=True)
class Answer:
    """One answer of the stack's HTTP server: the request as the server read it, and what it sent."""

    method: str
    path: str
    request_body: bytes
    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes

    @property
    def request_id(self) -> str | None:
        """API Gateway's id of the request, in the headers of a function's answer."""
        return next((value for name, value in self.headers if name.lower() == "apigw-requestid"), None)

    def beacon_token(self) -> str | None:
        """The click token of a beacon (``POST /go/{slug}/c``), else None."""
        if self.method != "POST" or not BEACON_PATH.fullmatch(self.path):
            return None
        try:
            token = json.loads(self.request_body).get("token")
        except (ValueError, AttributeError):
            return None
        return token if isinstance(token, str) else None


def server_answers(stack: Any) -> list[Answer]:
    """Every answer the stack's HTTP server gives from the first call on, oldest first.

    The browser cannot always tell: the bridge page sends its beacon 60 ms before it navigates away,
    and when the answer comes later Chromium reports the beacon as aborted (no response event)
    although the request goes on and the server answers it; once away, Chromium no longer has the
    page's own body either. So the answers are recorded where they are given: ``stack.handle``, which
    the server calls for every request, is wrapped on this stack object once. An answer is recorded
    after the handler has returned and before it is sent, so whatever the handler writes is written
    by then, and the answer is there once the browser has it.
    """
    answers: list[Answer] | None = getattr(stack, "e2e_answers", None)
    if answers is None:
        recorded: list[Answer] = []
        handle = stack.handle

        def recording_handle(request: Any) -> Any:
            result = handle(request)
            status, headers, content = result
            recorded.append(
                Answer(
                    request.method, request.raw_path, bytes(request.body or b""), int(status), tuple(headers), content
                )
            )
            return result

        stack.handle = recording_handle
        stack.e2e_answers = answers = recorded
    return answers


def run_until(
    page: Any,
    condition: Callable[[], Any],
    what: str,
    seconds: float = WAIT_SECONDS,
    state: Callable[[], Any] | None = None,
) -> Any:
    """``condition()`` once truthy, looked at every POLL_MS while Playwright dispatches the browser's
    events and runs the routes (the page stalls without them). For a state the browser cannot signal:
    the stack's table or answers. ``seconds`` is only a safety net; on it, ``state()`` is shown.
    """
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            shown = f"; now {state()!r}" if state is not None else ""
            raise AssertionError(f"timed out after {seconds}s waiting for {what}{shown}")
        page.wait_for_timeout(POLL_MS)  # the poll interval, not a pause: the loop ends at the state


def wait_for_click(stack: Any, visit: Visit, token: str) -> dict[str, Any]:
    """The click item once the stack has answered the page's beacon for ``token`` with 204.

    The beacon handler has then written everything it writes (the click's beacon fields, the server
    PageView on the conversions queue), so the item is final.
    """
    assert visit.wait_for_beacon_answer(token) == 204, visit.beacon_answers(token)
    item = click_item(stack, token)
    assert item is not None, f"no click {token}"
    return item


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
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=WAIT_MS
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
    answers: list[Answer] = field(default_factory=list)  # the stack server's, shared (server_answers)
    document: Any = None  # the opened page's Response
    body: bytes = b""  # its body (see open)

    # Playwright takes Python functions as listeners, not builtins such as list.append.
    def record_request(self, request: Any) -> None:
        self.requests.append(request)

    def record_response(self, response: Any) -> None:
        self.responses.append(response)

    def open(self, path: str) -> Any:
        """Open a page of the stack's functions; ``body`` is what the server sent for it.

        Not ``document.body()``: Chromium drops a document's body once the page has navigated away,
        which the bridge page may do before Python asks. The stack's server recorded its answer,
        known by the request id API Gateway puts in the response headers.
        """
        self.document = self.page.goto(self.base_url + path, wait_until="domcontentloaded")
        assert self.document is not None
        request_id = self.document.headers.get("apigw-requestid")
        assert request_id, self.document.headers
        (answer,) = [answer for answer in list(self.answers) if answer.request_id == request_id]
        assert answer.status == self.document.status, (answer.status, self.document.status)
        self.body = answer.content
        return self.document

    @property
    def html(self) -> str:
        return self.body.decode("utf-8")

    def wait_until(self, condition: Callable[[], Any], what: str, seconds: float = WAIT_SECONDS) -> Any:
        """``condition()`` once truthy, the page running meanwhile (see ``run_until``)."""
        return run_until(self.page, condition, what, seconds)

    def expect_request(self, predicate: Callable[[Any], bool]) -> Any:
        """``with visit.expect_request(predicate) as request:`` around what makes the page send it.

        Listening starts before the action, so the request cannot be missed; leaving the block
        waits for it (``request.value``).
        """
        return self.context.expect_event("request", predicate=predicate, timeout=WAIT_MS)

    def wait_for_telegram(self) -> str:
        self.page.wait_for_url("https://t.me/**", timeout=WAIT_MS)
        return str(self.page.url)

    def beacon_requests(self) -> list[Any]:
        return [request for request in self.requests if request.method == "POST" and request.url.endswith("/c")]

    def beacon_answers(self, token: str) -> list[int]:
        """The statuses the stack's server gave to beacons for ``token`` (see ``server_answers``)."""
        return [answer.status for answer in list(self.answers) if answer.beacon_token() == token]

    def wait_for_beacon_answer(self, token: str) -> int:
        """The status of the stack's first answer to a beacon for ``token``, waiting for it if need be."""
        return int(self.wait_until(lambda: self.beacon_answers(token), "the server's answer to the beacon")[0])

    def recorded_pixel_calls(self) -> list[list[Any]]:
        """The Pixel calls the current page made, as it lists them, once Python has recorded each of
        them in ``fbq_calls`` (each binding call settles its promise after its Python callback).
        """
        calls = self.page.evaluate("() => Promise.all(window.__fbqRecorded || []).then(() => window.__fbqCalls || [])")
        return list(calls)

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
        visit = Visit(base_url=stack.base_url, context=context, page=None, answers=server_answers(stack))
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
