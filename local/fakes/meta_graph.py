"""A fake of Meta's Graph API Conversions endpoint: ``POST /{version}/{dataset}/events``.

It validates requests the way the real endpoint does what matters to us (types; hashed keys are
64 lowercase hex, unhashed ones are not; at most 1000 events; event_time not in the future nor older
than 7 days; an access token), answers like Meta (``events_received``, ``fbtrace_id``; errors as
``{"error": {message, type, code, error_subcode, is_transient, fbtrace_id}}``), records what it
accepted, and injects faults on demand (HTTP 5xx, throttling codes, token errors, timeouts,
rejecting requests that contain a given event).

Which access tokens are valid: ``access_tokens`` (a set; None: any non-empty token) and, besides
them, any token matching ``token_pattern`` (the local stack accepts every token of Meta's shape, so
a pixel added through the operator's API passes its test event); others are refused like a bad
token (code 190).

Use it in tests through ``httpx.MockTransport(fake.handle)``; the local stack mounts it over HTTP
(local/capi_local.py).
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

MAX_EVENTS = 1000
MAX_AGE_SECONDS = 7 * 24 * 3600
FUTURE_LEEWAY_SECONDS = 60
PATH_RE = re.compile(r"/(v\d+\.\d+)/(\d{5,20})/events$")
HEX64_RE = re.compile(r"^[a-f0-9]{64}$")
FBC_RE = re.compile(r"^fb\.\d\.\d{10,13}\.\S+$")
FBP_RE = re.compile(r"^fb\.\d\.\d{10,13}\.\d+(\.\S+)?$")
HASHED_KEYS = ("em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id")
UNHASHED_KEYS = ("client_ip_address", "client_user_agent", "fbc", "fbp")
OTHER_USER_KEYS = ("subscription_id", "fb_login_id", "lead_id", "anon_id", "madid", "page_id", "ctwa_clid")
ACTION_SOURCES = frozenset(
    {
        "email",
        "website",
        "app",
        "phone_call",
        "chat",
        "physical_store",
        "system_generated",
        "business_messaging",
        "other",
    }
)


class RequestInvalid(ValueError):
    def __init__(self, message: str, code: int = 100, subcode: int | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.subcode, self.status = code, subcode, status


@dataclass
class Fault:
    """One injected failure. ``times`` None = until cleared; ``event_id`` = only requests with it."""

    status: int = 500
    code: int | None = 2
    subcode: int | None = None
    message: str = "An unexpected error has occurred. Please retry your request later."
    error_type: str = "OAuthException"
    is_transient: bool = True
    timeout: bool = False
    times: int | None = 1
    event_id: str | None = None


@dataclass
class Recorded:
    pixel_id: str
    version: str
    test_event_code: str | None
    event: dict[str, Any]
    received_at: float


@dataclass
class FakeMetaGraph:
    access_tokens: set[str] | None = None  # None: any non-empty token is valid
    token_pattern: re.Pattern[str] | None = None  # also valid: tokens of this shape
    now: Callable[[], float] = time.time
    timeout_sleep_seconds: float = 2.0  # over the sender's 1.5 s timeout (HTTP-mounted use)
    recorded: list[Recorded] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- configuration ---------------------------------------------------------------------------

    def fail(self, fault: Fault) -> None:
        self.faults.append(fault)

    def fail_with_code(self, code: int, *, status: int = 400, transient: bool = False, times: int | None = 1) -> None:
        self.fail(Fault(status=status, code=code, is_transient=transient, times=times, message=f"fake error {code}"))

    def reject_event(self, event_id: str, code: int = 100, subcode: int | None = 2804003) -> None:
        """Reject (as a whole, like Meta) every request that contains ``event_id``."""
        self.fail(
            Fault(
                status=400, code=code, subcode=subcode, is_transient=False, times=None, event_id=event_id,
                message="Invalid parameter", error_type="OAuthException",
            )
        )  # fmt: skip

    def time_out(self, times: int | None = 1) -> None:
        self.fail(Fault(timeout=True, times=times))

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.recorded.clear()
            self.requests.clear()

    # -- what was received ------------------------------------------------------------------------

    def events(self, pixel_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [item.event for item in self.recorded if pixel_id is None or item.pixel_id == pixel_id]

    def event_ids(self) -> list[str]:
        return [str(event.get("event_id")) for event in self.events()]

    def request_count(self, pixel_id: str | None = None) -> int:
        with self._lock:
            return sum(1 for request in self.requests if pixel_id is None or request["pixel_id"] == pixel_id)

    # -- the endpoint ----------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """For ``httpx.MockTransport``: timeouts are raised as httpx would raise them."""
        status, payload, timed_out = self.serve(request.method, request.url.path, request.headers, request.content)
        if timed_out:
            raise httpx.ReadTimeout("fake Graph API timeout", request=request)
        return httpx.Response(status, json=payload, headers={"x-fb-trace-id": str(payload.get("fbtrace_id", ""))})

    def serve(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any], bool]:
        """(status, JSON payload, timed out) for one request; shared by the MockTransport and HTTP mounts."""
        trace = secrets.token_urlsafe(8)
        match = PATH_RE.search(path)
        if method != "POST" or match is None:
            return 404, _error("Unknown path components", 2500, None, trace, error_type="OAuthException"), False
        version, pixel_id = match.groups()
        try:
            params = _parse_body(headers, body)
        except RequestInvalid as error:
            return error.status, _error(str(error), error.code, error.subcode, trace), False
        events = params.get("data")
        fault = self._take_fault(events)
        with self._lock:
            self.requests.append(
                {"pixel_id": pixel_id, "version": version, "events": len(events) if isinstance(events, list) else None,
                 "fault": bool(fault), "at": self.now()}
            )  # fmt: skip
        if fault is not None:
            if fault.timeout:
                return 504, _error("timeout", 2, None, trace, transient=True), True
            return (
                fault.status,
                _error(
                    fault.message,
                    fault.code,
                    fault.subcode,
                    trace,
                    transient=fault.is_transient,
                    error_type=fault.error_type,
                ),
                False,
            )
        try:
            self._validate(params)
        except RequestInvalid as error:
            return error.status, _error(str(error), error.code, error.subcode, trace), False
        test_code = params.get("test_event_code")
        received_at = self.now()
        with self._lock:
            for event in events:
                self.recorded.append(Recorded(pixel_id, version, test_code, event, received_at))
        return 200, {"events_received": len(events), "messages": [], "fbtrace_id": trace}, False

    def _take_fault(self, events: object) -> Fault | None:
        ids = (
            {str(event.get("event_id")) for event in events if isinstance(event, dict)}
            if isinstance(events, list)
            else set()
        )
        with self._lock:
            for fault in list(self.faults):
                if fault.event_id is not None and fault.event_id not in ids:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def _validate(self, params: dict[str, Any]) -> None:
        token = params.get("access_token")
        if not isinstance(token, str) or not token:
            raise RequestInvalid("An access token is required to request this resource.", 104)
        if (
            self.access_tokens is not None
            and token not in self.access_tokens
            and not (self.token_pattern is not None and self.token_pattern.fullmatch(token))
        ):
            raise RequestInvalid("Invalid OAuth access token - Cannot parse access token", 190)
        events = params.get("data")
        if not isinstance(events, list) or not events:
            raise RequestInvalid("(#100) The parameter data is required")
        if len(events) > MAX_EVENTS:
            raise RequestInvalid(f"(#100) Too many events: {len(events)} > {MAX_EVENTS}")
        test_code = params.get("test_event_code")
        if test_code is not None and not isinstance(test_code, str):
            raise RequestInvalid("(#100) test_event_code must be a string")
        now = self.now()
        for index, event in enumerate(events):
            _validate_event(index, event, now)


def _validate_event(index: int, event: object, now: float) -> None:
    where = f"data[{index}]"
    if not isinstance(event, dict):
        raise RequestInvalid(f"(#100) {where} must be an object")
    name = event.get("event_name")
    if not isinstance(name, str) or not name or len(name) > 50:
        raise RequestInvalid(f"(#100) {where}.event_name must be a non-empty string")
    event_time = event.get("event_time")
    if not isinstance(event_time, int) or isinstance(event_time, bool):
        raise RequestInvalid(f"(#100) {where}.event_time must be an integer (unix seconds)")
    if event_time > now + FUTURE_LEEWAY_SECONDS:
        raise RequestInvalid(f"(#100) {where}.event_time is in the future", subcode=2804004)
    if event_time < now - MAX_AGE_SECONDS:
        raise RequestInvalid(f"(#100) {where}.event_time is more than 7 days in the past", subcode=2804003)
    event_id = event.get("event_id")
    if event_id is not None and (not isinstance(event_id, str) or not event_id):
        raise RequestInvalid(f"(#100) {where}.event_id must be a string")
    source = event.get("action_source")
    if source not in ACTION_SOURCES:
        raise RequestInvalid(f"(#100) {where}.action_source is required and must be one of {sorted(ACTION_SOURCES)}")
    user_data = event.get("user_data")
    if not isinstance(user_data, dict) or not user_data:
        raise RequestInvalid(f"(#100) {where}.user_data is required")
    _validate_user_data(where, user_data)
    if source == "website":
        url = event.get("event_source_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise RequestInvalid(f"(#100) {where}.event_source_url is required for website events")
        if "client_user_agent" not in user_data:
            raise RequestInvalid(f"(#100) {where}.client_user_agent is required for website events")
    custom = event.get("custom_data")
    if custom is not None:
        if not isinstance(custom, dict):
            raise RequestInvalid(f"(#100) {where}.custom_data must be an object")
        value = custom.get("value")
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise RequestInvalid(f"(#100) {where}.custom_data.value must be a number")
        currency = custom.get("currency")
        if currency is not None and (not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency)):
            raise RequestInvalid(f"(#100) {where}.custom_data.currency must be ISO 4217")
    if name == "Purchase" and (not isinstance(custom, dict) or "value" not in custom or "currency" not in custom):
        raise RequestInvalid(f"(#100) {where}: Purchase events need custom_data.value and currency")


def _validate_user_data(where: str, user_data: dict[str, Any]) -> None:
    for key, value in user_data.items():
        if key in HASHED_KEYS:
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(item, str) and HEX64_RE.match(item) for item in values):
                raise RequestInvalid(f"(#100) {where}.user_data.{key} must be SHA-256 hashed (64 lowercase hex)")
        elif key in UNHASHED_KEYS:
            if not isinstance(value, str) or not value or HEX64_RE.match(value):
                raise RequestInvalid(f"(#100) {where}.user_data.{key} must be sent unhashed")
            if key == "client_ip_address":
                try:
                    ipaddress.ip_address(value)
                except ValueError as error:
                    raise RequestInvalid(f"(#100) {where}.user_data.client_ip_address is no IP address") from error
            if key == "fbc" and not FBC_RE.match(value):
                raise RequestInvalid(f"(#100) {where}.user_data.fbc is malformed")
            if key == "fbp" and not FBP_RE.match(value):
                raise RequestInvalid(f"(#100) {where}.user_data.fbp is malformed")
        elif key not in OTHER_USER_KEYS:
            raise RequestInvalid(f"(#100) {where}.user_data.{key} is not a customer information parameter")


def _parse_body(headers: Any, body: bytes) -> dict[str, Any]:
    content_type = str((headers or {}).get("content-type") or "")
    try:
        if "json" in content_type:
            parsed: Any = json.loads(body or b"{}")
        else:
            form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
            parsed = dict(form)
            if isinstance(parsed.get("data"), str):
                parsed["data"] = json.loads(parsed["data"])
    except ValueError as error:
        raise RequestInvalid("(#100) the request body is not valid JSON") from error
    if not isinstance(parsed, dict):
        raise RequestInvalid("(#100) the request body must be an object")
    return parsed


def _error(
    message: str,
    code: int | None,
    subcode: int | None,
    trace: str,
    *,
    transient: bool = False,
    error_type: str = "OAuthException",
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code, "fbtrace_id": trace}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    return {"error": error}
