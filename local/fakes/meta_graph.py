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

The same fake answers the Marketing API's reads the spend import makes (``GET /{version}/act_{id}``
and ``GET /{version}/act_{id}/insights``, ``serve_get``): ad accounts added with ``add_ad_account``,
each ad spending a deterministic amount every day (``daily_spend_cents``; ``revise`` changes or
removes one day's), ``level=ad`` daily rows paged by ``limit`` with ``paging.next`` links on the
origin asked, the access token from an ``Authorization: Bearer`` header or ``access_token``, Meta's
errors (190 for a bad token, 100/33 for an account out of reach) and injected faults of their own
(``fail_marketing``); every read is recorded (``marketing_requests``). ``DEMO_AD_ACCOUNT`` holds
ids shaped like Meta's for the local demo's campaign, ad sets and ads.

Use it in tests through ``httpx.MockTransport(fake.handle)``; the local stack mounts it over HTTP
(local/capi_local.py).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import httpx
from funil.clock import utc_now

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
    now: Callable[[], float] = lambda: utc_now().timestamp()  # the local stack's clock, travel included
    timeout_sleep_seconds: float = 2.0  # over the sender's 1.5 s timeout (HTTP-mounted use)
    recorded: list[Recorded] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    ad_accounts: dict[str, FakeAdAccount] = field(default_factory=dict)  # by digits
    revised: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (ad, day) → spend, None: no row
    marketing_requests: list[dict[str, Any]] = field(default_factory=list)
    marketing_faults: deque[Fault] = field(default_factory=deque)
    marketing_faults_after: int = 0  # reads let through before the queued faults apply
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
            self.marketing_faults.clear()
            self.marketing_requests.clear()

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
        if request.method == "GET":  # the Marketing API's reads
            origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
            params = dict(httpx.QueryParams(request.url.query))
            status, payload, timed_out = self.serve_get(request.url.path, params, request.headers, origin)
        else:
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

    # -- the Marketing API -----------------------------------------------------------------------------

    def add_ad_account(self, account: FakeAdAccount) -> FakeAdAccount:
        with self._lock:
            self.ad_accounts[account.account_id] = account
        return account

    def revise(self, ad_id: str, day: str, spend: str | None) -> None:
        """Meta's revision of one ad's spend on one day: another amount, or None (no row any more)."""
        with self._lock:
            self.revised[(ad_id, day)] = spend

    def fail_marketing(self, fault: Fault, *, after: int = 0) -> None:
        """A fault for the Marketing API's reads only (the Conversions API's stay as they are), from
        the read after the next ``after`` ones (``after=1``: the second page of an insights walk)."""
        with self._lock:
            self.marketing_faults.append(fault)
            self.marketing_faults_after = after

    def marketing_count(self, kind: str | None = None) -> int:
        with self._lock:
            return sum(1 for request in self.marketing_requests if kind is None or request["kind"] == kind)

    def serve_get(
        self, path: str, params: Mapping[str, str], headers: Any, origin: str
    ) -> tuple[int, dict[str, Any], bool]:
        """(status, JSON payload, timed out) for one Marketing API read; ``origin`` (scheme://host) is
        what ``paging.next`` links are built on, with the path before the version kept."""
        trace = secrets.token_urlsafe(8)
        match = ACCOUNT_PATH_RE.search(path)
        if match is None:
            return 404, _error("Unknown path components", 2500, None, trace), False
        version, digits, edge = match.groups()
        authorization = str(_header(headers, "authorization") or "")
        token = authorization[7:] if authorization.lower().startswith("bearer ") else params.get("access_token")
        fault = None
        with self._lock:
            if self.marketing_faults and self.marketing_faults_after > 0:
                self.marketing_faults_after -= 1
            elif self.marketing_faults:
                fault = self.marketing_faults[0]
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.marketing_faults.popleft()
            self.marketing_requests.append(
                {"kind": "insights" if edge else "account", "account_id": digits, "version": version,
                 "params": {name: value for name, value in params.items() if name != "access_token"},
                 "token_in": "header" if authorization else ("query" if "access_token" in params else None),
                 "fault": bool(fault), "at": self.now()}
            )  # fmt: skip
        if fault is not None:
            if fault.timeout:
                return 504, _error("timeout", 2, None, trace, transient=True), True
            error = _error(
                fault.message,
                fault.code,
                fault.subcode,
                trace,
                transient=fault.is_transient,
                error_type=fault.error_type,
            )
            return fault.status, error, False
        if not token:
            return 400, _error("An access token is required to request this resource.", 104, None, trace), False
        if not self._token_ok(token):
            return 400, _error("Invalid OAuth access token - Cannot parse access token", 190, None, trace), False
        account = self.ad_accounts.get(digits)
        if account is None or (account.tokens is not None and token not in account.tokens):
            message = (
                f"Unsupported get request. Object with ID 'act_{digits}' does not exist, cannot be loaded due to "
                "missing permissions, or does not support this operation."
            )
            return 400, _error(message, 100, 33, trace, error_type="GraphMethodException"), False
        try:
            if edge is None:
                return 200, _account_answer(account, params), False
            base = origin + path[: match.start()]
            return 200, self._insights(account, version, params, base), False
        except RequestInvalid as error:
            return error.status, _error(str(error), error.code, error.subcode, trace), False

    def _token_ok(self, token: str) -> bool:
        if self.access_tokens is None:
            return True
        return token in self.access_tokens or bool(self.token_pattern and self.token_pattern.fullmatch(token))

    def _insights(self, account: FakeAdAccount, version: str, params: Mapping[str, str], base: str) -> dict[str, Any]:
        if params.get("level") != "ad":
            raise RequestInvalid("(#100) this fake answers level=ad only")
        if params.get("time_increment") != "1":
            raise RequestInvalid("(#100) this fake answers time_increment=1 only")
        since, until = _time_range(params.get("time_range"))
        fields = [name for name in str(params.get("fields") or "").split(",") if name]
        unknown = sorted(set(fields) - INSIGHT_FIELDS)
        if unknown:
            raise RequestInvalid(f"(#100) {unknown[0]} is not valid for fields param")
        if "filtering" in params:
            try:
                filtering = json.loads(params["filtering"])
            except ValueError:
                raise RequestInvalid("(#100) filtering must be a JSON array") from None
            if not isinstance(filtering, list):
                raise RequestInvalid("(#100) filtering must be a JSON array")
        limit = _bounded_int(params.get("limit", "25"), "limit", 1, MAX_INSIGHTS_LIMIT)
        offset = _cursor_offset(params.get("after")) if params.get("after") else 0
        today = datetime.fromtimestamp(self.now(), UTC).astimezone(ZoneInfo(account.timezone_name)).date()
        rows = []
        day = since
        while day <= min(until, today):
            for ad in sorted(account.ads, key=lambda ad: ad.ad_id):
                spend = self._spend(ad.ad_id, day.isoformat())
                if spend is not None:
                    rows.append(_insight_row(account, ad, day.isoformat(), spend, fields))
            day += timedelta(days=1)
        page = rows[offset : offset + limit]
        answer: dict[str, Any] = {"data": page}
        if page:
            answer["paging"] = {"cursors": {"before": _cursor(offset), "after": _cursor(offset + len(page) - 1)}}
        if offset + limit < len(rows):
            following = {name: value for name, value in params.items() if name != "after"}
            following["after"] = _cursor(offset + limit)
            answer["paging"]["next"] = f"{base}/{version}/act_{account.account_id}/insights?{urlencode(following)}"
        return answer

    def _spend(self, ad_id: str, day: str) -> str | None:
        with self._lock:
            if (ad_id, day) in self.revised:
                return self.revised[(ad_id, day)]
        cents = daily_spend_cents(ad_id, day)
        return f"{cents // 100}.{cents % 100:02d}"

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


# -- the Marketing API's fake ad accounts ---------------------------------------------------------

ACCOUNT_PATH_RE = re.compile(r"/(v\d+\.\d+)/act_(\d{1,20})(/insights)?$")
ACCOUNT_FIELDS = frozenset({"id", "account_id", "name", "currency", "account_status", "timezone_name"})
INSIGHT_FIELDS = frozenset(
    {"account_id", "account_name", "account_currency", "ad_id", "ad_name", "adset_id", "adset_name",
     "campaign_id", "campaign_name", "spend", "impressions", "inline_link_clicks", "clicks",
     "date_start", "date_stop"}
)  # fmt: skip
MAX_INSIGHTS_LIMIT = 5000
DAY_TEXT_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")


@dataclass(frozen=True)
class FakeAd:
    ad_id: str
    ad_name: str
    adset_id: str
    adset_name: str
    campaign_id: str
    campaign_name: str


@dataclass
class FakeAdAccount:
    account_id: str  # digits
    name: str
    ads: list[FakeAd] = field(default_factory=list)
    currency: str = "BRL"
    timezone_name: str = "America/Sao_Paulo"
    account_status: int = 1  # ACTIVE
    tokens: set[str] | None = None  # who may read it; None: any token the fake takes


def daily_spend_cents(ad_id: str, day: str) -> int:
    """An ad's spend on a day, deterministic: R$ 5,00 to R$ 99,99."""
    digest = hashlib.sha256(f"{ad_id}:{day}".encode()).digest()
    return 500 + int.from_bytes(digest[:4], "big") % 9500


def daily_impressions(ad_id: str, day: str) -> int:
    digest = hashlib.sha256(f"{ad_id}:{day}:impressions".encode()).digest()
    return daily_spend_cents(ad_id, day) * (3 + digest[0] % 5) // 10  # a CPM of R$ 20 to R$ 33


def daily_link_clicks(ad_id: str, day: str) -> int:
    digest = hashlib.sha256(f"{ad_id}:{day}:clicks".encode()).digest()
    return daily_impressions(ad_id, day) // (40 + digest[0] % 60)  # a CTR of 1% to 2.5%


# The local demo's ad account: one campaign, two ad sets, three ads, ids of Meta's shape. A click on
# /go/demo?campaign_id=120210000000000001&adset_id=120210000000000011&ad_id=120210000000000101 is
# one of them.
DEMO_AD_ACCOUNT_ID = "1234567890"
DEMO_ADS = (
    FakeAd("120210000000000101", "Vídeo 15s - oferta", "120210000000000011", "Amplo - Brasil 18-45",
           "120210000000000001", "Grupo VIP - conversões"),
    FakeAd("120210000000000102", "Carrossel - depoimentos", "120210000000000011", "Amplo - Brasil 18-45",
           "120210000000000001", "Grupo VIP - conversões"),
    FakeAd("120210000000000103", "Imagem - preço", "120210000000000012", "Interesses - renda extra",
           "120210000000000001", "Grupo VIP - conversões"),
)  # fmt: skip


def demo_ad_account() -> FakeAdAccount:
    return FakeAdAccount(DEMO_AD_ACCOUNT_ID, "Loja Demo - anúncios", ads=list(DEMO_ADS))


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name) or headers.get(name.title())
    return str(value) if value else None


def _account_answer(account: FakeAdAccount, params: Mapping[str, str]) -> dict[str, Any]:
    fields = [name for name in str(params.get("fields") or "name").split(",") if name]
    unknown = sorted(set(fields) - ACCOUNT_FIELDS)
    if unknown:
        raise RequestInvalid(f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type (AdAccount)")
    values = {
        "account_id": account.account_id, "name": account.name, "currency": account.currency,
        "account_status": account.account_status, "timezone_name": account.timezone_name,
    }  # fmt: skip
    answer: dict[str, Any] = {name: values[name] for name in fields if name in values}
    answer["id"] = f"act_{account.account_id}"
    return answer


def _insight_row(account: FakeAdAccount, ad: FakeAd, day: str, spend: str, fields: list[str]) -> dict[str, Any]:
    values = {
        "account_id": account.account_id, "account_name": account.name, "account_currency": account.currency,
        "ad_id": ad.ad_id, "ad_name": ad.ad_name, "adset_id": ad.adset_id, "adset_name": ad.adset_name,
        "campaign_id": ad.campaign_id, "campaign_name": ad.campaign_name, "spend": spend,
        "impressions": str(daily_impressions(ad.ad_id, day)),
        "inline_link_clicks": str(daily_link_clicks(ad.ad_id, day)),
        "clicks": str(daily_link_clicks(ad.ad_id, day) * 2),
    }  # fmt: skip
    row = {name: values[name] for name in fields if name in values}
    row["date_start"] = row["date_stop"] = day  # Meta always sends the row's days
    return row


def _time_range(raw: str | None) -> tuple[date, date]:
    try:
        parsed = json.loads(raw or "")
        since, until = parsed["since"], parsed["until"]
        if not (
            isinstance(since, str) and DAY_TEXT_RE.match(since) and isinstance(until, str) and DAY_TEXT_RE.match(until)
        ):
            raise ValueError
        first, last = date.fromisoformat(since), date.fromisoformat(until)
    except (ValueError, TypeError, KeyError):
        raise RequestInvalid("(#100) time_range must be {'since':YYYY-MM-DD,'until':YYYY-MM-DD}") from None
    if last < first:
        raise RequestInvalid("(#100) time_range's since must not be after until")
    if (last - first).days > 1100:
        raise RequestInvalid(
            "(#3018) The start date of the time range cannot be beyond 37 months from the current date"
        )
    return first, last


def _bounded_int(raw: str, name: str, low: int, high: int) -> int:
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise RequestInvalid(f"(#100) {name} must be an integer from {low} to {high}")
    return int(raw)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"row:{offset}".encode()).decode()


def _cursor_offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise RequestInvalid("(#100) after is not a cursor of this list") from None
    if not text.startswith("row:") or not text[4:].isdigit():
        raise RequestInvalid("(#100) after is not a cursor of this list")
    return int(text[4:])
