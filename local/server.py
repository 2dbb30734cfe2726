"""The Docker-free local stack: template.yaml's HttpApi routes, SQS consumers and schedules, on moto.

Everything runs in one process inside one ``moto.mock_aws()``, started before any handler module is
imported so module-level boto3 clients talk to moto. Handlers get the events AWS would give them
(local.apigw, local.poller); fakes of the outside world mount extra routes with ``add_route``.

    stack = start_stack(port=0)      # background threads
    httpx.get(stack.base_url + "/go/demo")
    stack.drain(); stack.stop()
"""

from __future__ import annotations

import base64
import html
import importlib
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

import boto3
from moto import mock_aws

from local import aws
from local.apigw import (
    INTERNAL_ERROR,
    NOT_FOUND,
    ClientRequest,
    HttpResult,
    build_event,
    compile_path,
    gateway_headers,
    specificity,
    to_http,
)
from local.handlers import Handler, LambdaContext, ensure_layer_on_path, load_handler
from local.poller import Consumer, SqsPoller
from local.scheduler import Scheduler, scheduled_event
from local.streams import StreamPoller, stream_consumer
from local.template import Function, Template, load

__all__ = ["LocalRequest", "LocalResponse", "LocalStack", "scheduled_event", "start_stack"]

log = logging.getLogger("local")

MAX_BODY_BYTES = 10 * 1024 * 1024  # HTTP API's payload limit


@dataclass
class LocalRequest:
    """A request to a local-only route (fakes, introspection): plain HTTP, no API Gateway event."""

    method: str
    path: str
    path_params: dict[str, str]
    query: dict[str, list[str]]
    headers: dict[str, str]  # lowercase names, repeated headers comma-joined
    body: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class LocalResponse:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> LocalResponse:
        body = json.dumps(payload, default=_json_default, ensure_ascii=False)
        return cls(status, body, {"content-type": "application/json"})

    @classmethod
    def html(cls, body: str, status: int = 200) -> LocalResponse:
        return cls(status, body, {"content-type": "text/html; charset=utf-8"})

    @classmethod
    def text(cls, body: str, status: int = 200) -> LocalResponse:
        return cls(status, body, {"content-type": "text/plain; charset=utf-8"})

    def to_http(self) -> HttpResult:
        body = self.body.encode() if isinstance(self.body, str) else self.body
        return self.status, list(self.headers.items()), body


LocalHandler = Callable[[LocalRequest], LocalResponse]
Extension = Callable[["LocalStack"], None]


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


@dataclass(frozen=True)
class _Route:
    method: str  # "ANY" matches every method
    path: str
    pattern: re.Pattern[str]
    target: LocalHandler | Function

    def match(self, method: str, raw_path: str) -> dict[str, str] | None:
        if self.method not in {"ANY", method}:
            return None
        found = self.pattern.match(raw_path)
        return found.groupdict() if found else None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


class LocalStack:
    """The running stack. Build it with ``start_stack``."""

    def __init__(
        self, template: Template, resources: aws.Resources, seed: Any, mock: Any, schedule_speed: float | None = 1.0
    ) -> None:
        self.template = template
        self.resources = resources
        self.seed = seed
        # The fakes of the outside world, once their extensions mount them (local.telegram_local,
        # local.capi_local, local.sandbox_local); None when a stack is started without one.
        self.telegram: Any = None
        self.graph: Any = None
        self.sandbox: Any = None
        self.destinations: Any = None  # local.destinations_local: UTMify, TikTok, GA4, webhook receiver
        self.functions: dict[str, Function] = {}
        self.base_url = ""
        self.port = 0
        self.poller = SqsPoller(self.invoke_function)
        self.streams = StreamPoller(self.invoke_function)  # DynamoDB stream triggers
        # None: schedules run only on request (tests that must not see a background run)
        self.scheduler = Scheduler(self.invoke_function, schedule_speed or 1.0)
        self._schedules_run_themselves = schedule_speed is not None
        self._mock = mock
        self._saved_env: dict[str, str | None] = {}
        self._local_routes: list[_Route] = []
        self._function_routes: list[_Route] = []
        self._handlers: dict[str, Handler] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._registry_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._on_stop: list[Callable[[], None]] = []
        self._stopped = False

    # -- extension points -------------------------------------------------------------------------

    def add_route(self, method: str, path_pattern: str, handler: LocalHandler) -> None:
        """Serve ``METHOD /path/{param}`` (``ANY`` for every method) before the template's routes."""
        method = method.upper()
        self._local_routes.append(_Route(method, path_pattern, compile_path(path_pattern), handler))

    def add_function(self, function: Function) -> None:
        """Run a function as the template would: its HttpApi routes, SQS and stream triggers, schedules."""
        self.functions[function.logical_id] = function
        self._locks.setdefault(function.logical_id, threading.Lock())
        for route in function.routes:
            self._function_routes.append(_Route(route.method, route.path, route.pattern(), function))
        self._function_routes.sort(key=lambda route: specificity(route.path))
        for trigger in function.queues:
            url = self.resources.queues[trigger.queue]
            self.poller.add(Consumer(function, trigger, url, self.resources.queue_arns[trigger.queue]))
        for stream in function.streams:
            self.streams.add(stream_consumer(function, stream, self.resources))
        if self._schedules_run_themselves:
            self.scheduler.add(function)

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the stack stops, before the server closes (an extension's timers)."""
        self._on_stop.append(callback)

    def set_env(self, name: str, value: str) -> None:
        """Set a variable the handlers read (restored on stop); call before the handlers load."""
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    # -- invoking ---------------------------------------------------------------------------------

    def _handler(self, function: Function) -> Handler:
        with self._registry_lock:
            if function.logical_id not in self._handlers:
                # Fresh: module-level state (settings, clients) must come from this stack's env.
                self._handlers[function.logical_id] = load_handler(function, fresh=True)
            return self._handlers[function.logical_id]

    def invoke_function(self, function: Function, event: dict[str, Any]) -> Any:
        """Invoke in-process, one event at a time per function (a Lambda container is single-threaded)."""
        lock = self._locks.setdefault(function.logical_id, threading.Lock())
        with lock:
            handler = self._handler(function)
            started = time.monotonic()
            result = handler(event, LambdaContext(function, str(uuid.uuid4())))
            elapsed = time.monotonic() - started
            if elapsed > function.timeout:
                log.warning("%s took %.1fs, over its %ss timeout", function.logical_id, elapsed, function.timeout)
            return result

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        return self.invoke_function(self.functions[logical_id], event)

    def module(self, logical_id: str) -> ModuleType:
        """The loaded module of a function's handler (its module-level state, for tests)."""
        return sys.modules[self._handler(self.functions[logical_id]).__module__]

    def intercept(self, logical_id: str, wrap: Callable[[Handler], Handler]) -> None:
        """Replace a function's handler with ``wrap(handler)`` (fault injection: a crash, a 503)."""
        function = self.functions[logical_id]
        handler = self._handler(function)
        with self._registry_lock:
            self._handlers[logical_id] = wrap(handler)

    def preload(self) -> None:
        """Import every handler now so a broken one shows at start (logged; its routes answer 500)."""
        for function in list(self.functions.values()):
            try:
                self._handler(function)
            except Exception:
                log.exception("cannot load %s", function.logical_id)

    # -- HTTP ---------------------------------------------------------------------------------------

    def handle(self, request: ClientRequest) -> HttpResult:
        """Answer one HTTP request: local routes, then the template's, then the index page."""
        path = request.raw_path
        for route in self._local_routes:
            params = route.match(request.method, path)
            if params is not None and callable(route.target) and not isinstance(route.target, Function):
                return self._serve_local(route.target, request, params)
        for route in self._function_routes:
            params = route.match(request.method, path)
            if params is not None and isinstance(route.target, Function):
                return self._serve_function(route, request, params)
        if request.method in {"GET", "HEAD"} and path == "/":
            return LocalResponse.html(self.index_page()).to_http()
        return NOT_FOUND

    def _serve_local(self, target: LocalHandler, request: ClientRequest, params: dict[str, str]) -> HttpResult:
        local_request = LocalRequest(
            method=request.method,
            path=request.raw_path,
            path_params=params,
            query=parse_qs(request.raw_query, keep_blank_values=True),
            headers=_lower_headers(request.headers),
            body=request.body,
        )
        try:
            return target(local_request).to_http()
        except Exception:
            log.exception("local route %s %s failed", request.method, request.raw_path)
            return INTERNAL_ERROR

    def _serve_function(self, route: _Route, request: ClientRequest, params: dict[str, str]) -> HttpResult:
        assert isinstance(route.target, Function)
        event = build_event(request, route.key, params)
        extra = gateway_headers(event["requestContext"]["requestId"])
        try:
            status, headers, body = to_http(self.invoke_function(route.target, event))
        except Exception:
            # The client gets API Gateway's generic 500; the trace goes to stderr only.
            log.exception("%s failed on %s %s", route.target.logical_id, request.method, request.raw_path)
            status, headers, body = INTERNAL_ERROR
        return status, headers + extra, body

    def index_page(self) -> str:
        links = [
            f"{self.base_url}/go/{self.seed.link_slug}",
            f"{self.base_url}/_local/dashboard",
            *(f"{self.base_url}{path}" for path in ("/_local/seed", "/_local/items", "/_local/queues")),
            f"{self.base_url}/api/v1/docs",
        ]
        routes = sorted({f"{route.method} {route.path}" for route in self._function_routes + self._local_routes})
        items = "".join(f'<li><a href="{html.escape(link)}">{html.escape(link)}</a></li>' for link in links)
        listed = "".join(f"<li><code>{html.escape(route)}</code></li>" for route in routes)
        return (
            "<!doctype html><meta charset=utf-8><title>Funil local</title>"
            f"<h1>Funil local stack</h1><p>Demo link, the demo seller's dashboard (a sign-in link), "
            f"introspection, the operator's API:</p><ul>{items}</ul>"
            "<p>The demo tenant's API key and an operator key are in <code>/_local/seed</code> "
            "(<code>api_key</code>, <code>operator_key</code>): <code>FUNIL_API_URL=&lt;this URL&gt; "
            "FUNIL_API_KEY=&lt;api_key&gt; funil bots list</code>.</p>"
            f"<p>Routes:</p><ul>{listed}</ul>"
        )

    # -- lifecycle ----------------------------------------------------------------------------------

    def _serve(self, host: str, port: int) -> None:
        handler_class = type("BoundRequestHandler", (_RequestHandler,), {"stack": self})
        server_class = _IPv6Server if ":" in host else _Server
        self._server = server_class((host, port), handler_class)
        shown_host = "127.0.0.1" if host in {"0.0.0.0", ""} else (f"[{host}]" if ":" in host else host)
        self.port = self._server.server_port
        self.base_url = f"http://{shown_host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="funil-local-http", daemon=True)
        self._thread.start()

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until the queues with consumers are empty and every stream consumer has caught up.

        A stream consumer may send to a queue and a queue consumer may write the table, so both are
        drained again until a round invokes no stream consumer; False if that takes over ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while True:
            invocations = self.streams.invocations
            if not self.poller.drain(max(0.0, deadline - time.monotonic())):
                return False
            if not self.streams.drain(max(0.0, deadline - time.monotonic())):
                return False
            if self.streams.invocations == invocations:
                return True

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for callback in self._on_stop:
            callback()
        # Consumers and schedules first: one being invoked may still call a fake on this server.
        self.scheduler.stop()
        self.poller.stop()
        self.streams.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._mock.stop()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    # The listen backlog: socketserver's default of 5 resets connections once a handful arrive at
    # once; API Gateway queues far more. The kernel caps it at net.core.somaxconn.
    request_queue_size = 1024
    daemon_threads = True


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


def _lower_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _client_ip(address: str) -> str:
    """The caller's address as API Gateway reports it (IPv4-mapped IPv6 shown as IPv4)."""
    return address.removeprefix("::ffff:") if address.startswith("::ffff:") and "." in address else address


class _RequestHandler(BaseHTTPRequestHandler):
    stack: LocalStack
    server_version = "funil-local"
    protocol_version = "HTTP/1.1"

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("content-length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            raise ValueError("bad content-length")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()  # the empty line after the last chunk (no trailers expected)
                return bytes(body)
            body += self.rfile.read(size)
            self.rfile.readline()
            if len(body) > MAX_BODY_BYTES:
                raise ValueError("body too large")

    def _serve(self) -> None:
        self.close_connection = True  # one request per connection: no idle threads left at stop
        try:
            body = self._read_body()
        except ValueError:
            self._write((413, [("content-type", "application/json")], b'{"message":"Request Entity Too Large"}'))
            return
        request = ClientRequest(
            method=self.command,
            target=self.path,
            protocol=self.request_version,
            headers=list(self.headers.items()),
            body=body,
            source_ip=_client_ip(self.client_address[0]),
            scheme="http",
            port=self.stack.port,
        )
        try:
            result = self.stack.handle(request)
        except Exception:
            log.exception("request %s %s failed", self.command, self.path)
            result = INTERNAL_ERROR
        self._write(result)

    def _write(self, result: HttpResult) -> None:
        status, headers, body = result
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log_request(status)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), mask_secrets(format % args))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve


_SECRETS_IN_PATHS = (
    (re.compile(r"(/pay/[^/\s?]+/)[^/\s?]+"), r"\1***"),  # the gateway webhook's URL secret
    (re.compile(r"(/bot)[^/\s?]+(/)"), r"\1***\2"),  # a bot token in a Bot API path
    (re.compile(r"(access_token=)[^&\s]+"), r"\1***"),
)


def mask_secrets(line: str) -> str:
    """A request line fit for the log: no URL secret, bot token or access token (docs/architecture.md §3)."""
    for pattern, replacement in _SECRETS_IN_PATHS:
        line = pattern.sub(replacement, line)
    return line


# -- introspection (local stack only) -------------------------------------------------------------


def _scan(table_name: str, prefix: str | None) -> list[dict[str, Any]]:
    from funil.adapters.dynamo import deserialize

    client = boto3.client("dynamodb", region_name=aws.REGION)
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table_name):
        items.extend(deserialize(item) for item in page.get("Items", []))
    if prefix:
        items = [item for item in items if str(item.get("pk", "")).startswith(prefix)]
    return sorted(items, key=lambda item: (str(item.get("pk", "")), str(item.get("sk", ""))))


def _mount_introspection(stack: LocalStack) -> None:
    def seed(_: LocalRequest) -> LocalResponse:
        if stack.seed is None:  # the stack serves while the demo is still being created
            return LocalResponse.json({"error": "the demo is being created: ask again in a moment"}, 503)
        return LocalResponse.json(stack.seed.as_json())

    def items(request: LocalRequest) -> LocalResponse:
        return LocalResponse.json(_scan(stack.resources.tables["AppTable"], request.arg("prefix")))

    def queues(_: LocalRequest) -> LocalResponse:
        counts = {name: stack.poller.counts(url) for name, url in stack.resources.queues.items()}
        return LocalResponse.json({name: {"visible": v, "in_flight": f} for name, (v, f) in counts.items()})

    def schedule(request: LocalRequest) -> LocalResponse:
        function = stack.functions.get(request.path_params["function"])
        if function is None:
            return LocalResponse.json({"error": "unknown function"}, 404)
        schedule = function.schedule(request.arg("schedule"))
        if schedule is None:
            return LocalResponse.json({"error": "no such schedule on this function"}, 404)
        try:
            result = stack.scheduler.fire(function, schedule)
        except Exception:
            log.exception("%s failed on schedule %s", function.logical_id, schedule.name)
            return LocalResponse.json({"error": "handler failed", "function": function.logical_id}, 500)
        return LocalResponse.json({"function": function.logical_id, "schedule": schedule.name, "result": result})

    def schedules(_: LocalRequest) -> LocalResponse:
        listed = [
            {
                "function": function.logical_id,
                "schedule": schedule.name,
                "expression": schedule.expression,
                "every_seconds": (schedule.period_seconds / stack.scheduler.speed)
                if schedule.period_seconds and stack._schedules_run_themselves
                else None,
            }
            for function in stack.functions.values()
            for schedule in function.schedules
        ]
        runs = [vars(run) for run in stack.scheduler.runs[-50:]]
        return LocalResponse.json({"speed": stack.scheduler.speed, "schedules": listed, "recent_runs": runs})

    def dashboard(_: LocalRequest) -> LocalResponse:
        """The demo tenant's dashboard: a sign-in link asked of the operator's API, as `funil login` does."""
        api_key = stack.seed.as_json().get("api_key")
        if not api_key:
            return LocalResponse.json({"error": "this stack's demo has no API key"}, 404)
        import httpx  # only this route talks to the stack over HTTP

        answer = httpx.post(
            f"{stack.base_url}/api/v1/login-links", headers={"authorization": f"Bearer {api_key}"}, timeout=30
        )
        if answer.status_code != 201:
            return LocalResponse.json({"error": "no sign-in link", "api": answer.json()}, 502)
        return LocalResponse(302, b"", {"location": str(answer.json()["url"])})

    def clock(request: LocalRequest) -> LocalResponse:
        """Move every function's clock ahead (``{"seconds": N}``): due work comes due, charges expire."""
        from datetime import timedelta

        from funil.clock import iso, travel

        try:
            seconds = float(json.loads(request.body or b"{}").get("seconds"))
            now = travel(timedelta(seconds=seconds))
        except (TypeError, ValueError, AttributeError):
            return LocalResponse.json({"error": 'send {"seconds": <a number >= 0>}'}, 400)
        return LocalResponse.json({"now": iso(now)})

    stack.add_route("GET", "/_local/seed", seed)
    from local.demo import admin_chat_route

    stack.add_route("POST", "/_local/seed", admin_chat_route(stack))
    stack.add_route("POST", "/_local/clock", clock)
    stack.add_route("GET", "/_local/dashboard", dashboard)
    stack.add_route("GET", "/_local/items", items)
    stack.add_route("GET", "/_local/queues", queues)
    stack.add_route("POST", "/_local/schedules/{function}", schedule)
    stack.add_route("GET", "/_local/schedules", schedules)


# Fakes of the outside world (Telegram, Meta Graph, gateways) that every stack mounts unless the
# caller passes its own list: "module:function", each function called with the stack.
DEFAULT_EXTENSIONS: list[str] = [
    "local.capi_local:register",
    "local.telegram_local:register",
    "local.sandbox_local:register",
    "local.domains_local:register",
    "local.destinations_local:register",
]


def default_extensions() -> list[Extension]:
    extensions: list[Extension] = []
    for spec in DEFAULT_EXTENSIONS:
        module_name, _, attribute = spec.partition(":")
        extensions.append(getattr(importlib.import_module(module_name), attribute))
    return extensions


# -- starting -------------------------------------------------------------------------------------


def _apply_env(stack: LocalStack, env: Mapping[str, str]) -> None:
    for name, value in env.items():
        stack.set_env(name, value)


def start_stack(
    host: str = "127.0.0.1",
    port: int = 0,
    extensions: Iterable[Extension] | None = None,
    preload: bool = True,
    schedule_speed: float | None = 1.0,
) -> LocalStack:
    """Start moto, provision the template, serve in background threads, create the demo.

    ``extensions`` run after the server is bound (``stack.base_url`` is known) and before the
    handlers load, so they can add routes, functions and environment variables. ``None`` mounts
    DEFAULT_EXTENSIONS (the fakes, so no handler reaches the real outside world); a list, exactly those.
    Then the demo is created (``local.demo``): through the operator's API when the three fakes are
    mounted, else written directly.
    ``schedule_speed`` runs the template's rate schedules by themselves, that many times faster than
    real time; None leaves them to ``POST /_local/schedules/{function}``.
    """
    aws.use_fake_credentials()
    aws.serialise_moto()
    ensure_layer_on_path()
    mock = mock_aws()
    mock.start()
    stack: LocalStack | None = None
    try:
        template = load()
        resources = aws.provision(template)
        stack = LocalStack(template, resources, None, mock, schedule_speed)
        _apply_env(stack, aws.function_environment(template, resources))
        stack.set_env("FUNIL_LOCAL", "1")
        for function in template.functions.values():
            stack.add_function(function)
        _mount_introspection(stack)
        stack._serve(host, port)
        stack.set_env("FUNIL_LOCAL_BASE_URL", stack.base_url)
        for extension in default_extensions() if extensions is None else extensions:
            extension(stack)
        from local.demo import create_demo

        stack.seed = create_demo(stack)
        if preload:
            stack.preload()
        stack.poller.start()
        stack.streams.start()
        stack.scheduler.start()
    except BaseException:
        if stack is not None:
            stack.stop()
        else:
            mock.stop()
        raise
    return stack
