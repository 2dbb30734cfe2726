"""Browser end-to-end fixtures: the local stack and Debian's Chromium driven by Playwright.

One local stack (``local.server.start_stack``, moto-backed, demo seed) and one headless Chromium per
test module. ``bridge`` opens a fresh browser context per visit in which Meta's Pixel script and
Telegram are local stubs, and records what the page does: every request, the Pixel calls and the
cookies the Pixel found, console messages, page errors, CSP violations and attempts to set
``window.__pwned``.

Playwright is used with Debian's ``/usr/bin/chromium`` only (``scripts/install-browser.sh``); it never
downloads a browser. The machine may have no internet: background networking is off and every
outside address the page may reach is answered (stubbed or refused at once) by a route.

Waits are for events, never for a time: Playwright's own (``expect_event``, ``wait_for_url``,
``wait_for_load_state``, ``wait_for_function``, locators), the stack's own (``stack.streams.drain``:
until the table's stream consumers have caught up), or, for a state outside the browser (the stack's
table, what its server answered), a poll that lets the browser run meanwhile. WAIT_SECONDS is only a
safety net for a test that would otherwise hang: generous, so a busy machine never reaches it.
"""

from __future__ import annotations

import gzip
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
WAIT_SECONDS = 30.0  # a safety net, never a pause: every wait ends at its event
WAIT_MS = int(WAIT_SECONDS * 1000)
ACTION_TIMEOUT_MS = WAIT_MS
POLL_MS = 20  # how often a state outside the browser is looked at while the browser runs

PIXEL_URL = "https://connect.facebook.net/en_US/fbevents.js"
TELEGRAM_STUB_HTML = "<!doctype html><title>Telegram stub</title><p>t.me stub</p>"

# Stands in for fbevents.js. Meta's snippet queues calls on fbq.queue until the script loads; the
# stub reports those, then every later call (fbq.callMethod), to Python through a binding that
# survives the page's navigation to Telegram. It defines nothing else. It also reports the _fbp and
# _fbc it finds in document.cookie (what the real Pixel reads and sends with its events), and
# __SET_FBP__ becomes a statement setting _fbp, or nothing: like the real Pixel, the stub sets _fbp
# only when there is none (it keeps an existing one). The page keeps its own list of the calls and
# the binding's promises (each settles once Python has recorded its call).
_PIXEL_STUB = """(function(){
  var f = window.fbq, jar = {};
  document.cookie.split(/;\\s*/).forEach(function(part){
    var at = part.indexOf('=');
    if (at > 0) jar[part.slice(0, at)] = part.slice(at + 1);
  });
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
  if (window.__pixelCookiesRecord)
    window.__pixelCookiesRecord(JSON.stringify({_fbp: jar._fbp || null, _fbc: jar._fbc || null}));
  if (!jar._fbp) { __SET_FBP__ }
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


def demo_bot_id(stack: Any, username: str) -> str:
    """The seed's id of the demo bot ``username`` (a click stores its bot as ``bot_id``)."""
    (bot_id,) = [bot["id"] for bot in seed_data(stack)["bots"] if bot["username"] == username]
    return str(bot_id)


def items(stack: Any, prefix: str) -> list[dict[str, Any]]:
    return list(get_json(stack, "/_local/items?prefix=" + quote(prefix, safe="")))


def click_item(stack: Any, token: str) -> dict[str, Any] | None:
    """The click stored for ``token`` under the long names Funil reads it by, or None.

    The item is stored compact (short attribute names, docs/data-model.md); ``click_fields`` gives
    the names back (``bot_id``, ``utm``, ``fbc`` built from the fbclid, ``visitor``…).
    """
    from funil.click.fields import click_fields

    matches = [item for item in items(stack, f"CLICK#{token}") if item["pk"] == f"CLICK#{token}"]
    assert len(matches) <= 1, matches
    return click_fields(matches[0], visitor=True) if matches else None


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

    @property
    def set_cookies(self) -> list[str]:
        """The ``Set-Cookie`` header values the server sent, in order."""
        return [value for name, value in self.headers if name.lower() == "set-cookie"]

    @property
    def text(self) -> str:
        """The body as the browser reads it: a gzip-encoded answer (the bridge page) decoded."""
        gzipped = any(name.lower() == "content-encoding" and value == "gzip" for name, value in self.headers)
        return (gzip.decompress(self.content) if gzipped else self.content).decode("utf-8")


def server_answers(stack: Any) -> list[Answer]:
    """Every answer the stack's HTTP server gives from the first call on, oldest first.

    The browser cannot always tell: once the bridge page has navigated to Telegram, Chromium no
    longer has the page's own body. So the answers are recorded where they are given:
    ``stack.handle``, which the server calls for every request, is wrapped on this stack object once.
    An answer is recorded after the handler has returned and before it is sent, so whatever the
    handler writes is written by then, and the answer is there once the browser has it.
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


def stored_click(stack: Any, token: str) -> dict[str, Any]:
    """The click stored for ``token`` (see ``click_item``), which must exist.

    No wait: the redirect stores the click (its one write) before it answers, so the click is there
    once the browser has the bridge page.
    """
    item = click_item(stack, token)
    assert item is not None, f"no click {token}"
    return item


def drain_click_stream(stack: Any) -> None:
    """Wait until the table's stream consumers have handled every record written so far.

    The click's server PageView is sent by ClickStreamFunction from the stored click (the table's
    stream, ``local.streams``), after the redirect has answered: once this returns, the fake Graph
    API has it. Unlike ``stack.drain``, this does not wait for the queues to empty, so it also works
    where ``stack.poller`` is stopped.
    """
    assert stack.streams.drain(WAIT_SECONDS), f"the table's stream consumers did not catch up in {WAIT_SECONDS}s"


def queue_counts(stack: Any, logical_id: str = "ConversionsQueue") -> dict[str, int]:
    return dict(get_json(stack, "/_local/queues")[logical_id])


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
    pixel_cookies: list[dict[str, str | None]] = field(default_factory=list)  # _fbp/_fbc the Pixel stub read
    pending: list[Any] = field(default_factory=list)  # requests left unanswered
    answers: list[Answer] = field(default_factory=list)  # the stack server's, shared (server_answers)
    document: Any = None  # the opened page's Response
    answer: Answer | None = None  # what the stack's server sent for it (see open)
    body: bytes = b""  # its body

    # Playwright takes Python functions as listeners, not builtins such as list.append.
    def record_request(self, request: Any) -> None:
        self.requests.append(request)

    def record_response(self, response: Any) -> None:
        self.responses.append(response)

    def open(self, path: str) -> Any:
        """Open a page of the stack's functions; ``answer`` and ``body`` are what the server sent for it.

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
        self.answer = answer
        self.body = answer.content
        return self.document

    @property
    def html(self) -> str:
        return self.answer.text

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

    def cookies(self) -> dict[str, dict[str, Any]]:
        """The browser's cookies for the stack's origin, by name (what a page there can read)."""
        return {cookie["name"]: cookie for cookie in self.context.cookies(self.base_url)}

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
    ad blocker does) or "hanging" (never answers, as on a bad mobile network). ``pixel_sets_fbp`` is
    the ``_fbp`` the stub sets when the page has none, as the real Pixel does on a first visit.
    t.me answers with a stub page; with ``block_telegram`` the navigation to it is recorded and
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
        context.expose_binding(
            "__pixelCookiesRecord", lambda _source, found: visit.pixel_cookies.append(json.loads(found))
        )
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
