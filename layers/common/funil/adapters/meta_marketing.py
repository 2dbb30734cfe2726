"""Meta's Marketing API (Graph): an ad account's details, and its ads' daily insights page by page.

- ``GET /{version}/act_{id}?fields=name,currency,account_status,timezone_name``: proves a token can
  read the account (the operator's API) and tells its currency and time zone;
- ``GET /{version}/act_{id}/insights?level=ad&time_increment=1&time_range=…&fields=…``: one row per
  ad and day, the days being the account's time zone's (Meta reports them so), with ``paging.next``
  until it is absent. Meta's own SDK follows ``next`` (``cursors.after`` is there on the last page
  too, facebook-python-business-sdk ``api.py``), and so do we.

The access token travels in an ``Authorization: Bearer`` header, never in a URL (URLs get logged).
A ``next`` link is followed only on our own Graph origin and this account's insights path, with
any ``access_token`` Meta put in it dropped: the token goes nowhere else. Answers are untrusted
JSON reduced to typed values (field types as the SDK's ``AdsInsights`` declares them: every number
a string); a row that is not what we asked for is refused alone (``InsightsPage.refused``), never
half-read. Each failure raises ``MarketingFailure`` with its class (``MarketingError.kind``);
what to do about it (retry next run, mark the token invalid, answer 422) is the caller's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict

from funil.adapters.meta_graph import GraphClient
from funil.config import DEFAULT_META_GRAPH_BASE_URL, DEFAULT_META_GRAPH_VERSION
from funil.untrusted import UntrustedInput, load_json

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ACCOUNT_FIELDS",
    "ACCOUNT_STATUSES",
    "INSIGHT_FIELDS",
    "RUNNING_STATUSES",
    "AdAccountInfo",
    "InsightRow",
    "InsightsPage",
    "MarketingClient",
    "MarketingError",
    "MarketingFailure",
    "account_digits",
    "classify",
    "parse_ad_account",
    "parse_insight_row",
    "parse_insights_page",
    "spend_cents",
]

DEFAULT_TIMEOUT_SECONDS = 20.0  # an insights page of a large account takes seconds to build
MAX_RESPONSE_BYTES = 8 * 1024 * 1024  # a page of 500 rows is about 300 KB
MAX_DEPTH = 8  # {"data": [{…}], "paging": {"cursors": {…}}}
PAGE_LIMIT = 500  # rows per insights page (Meta's default is 25)

ACCOUNT_FIELDS = ("name", "currency", "account_status", "timezone_name")
INSIGHT_FIELDS = (
    "ad_id", "ad_name", "adset_id", "adset_name", "campaign_id", "campaign_name",
    "spend", "impressions", "inline_link_clicks", "date_start", "date_stop", "account_currency",
)  # fmt: skip
# ``act_…/insights?level=ad`` leaves deleted ads out unless asked for by status (Marketing API,
# "Manage your ad object's status"); every status the SDK's ``Ad.EffectiveStatus`` knows, so an ad
# deleted after it spent still counts.
EFFECTIVE_STATUSES = (
    "ACTIVE", "ADSET_PAUSED", "ARCHIVED", "CAMPAIGN_PAUSED", "DELETED", "DISAPPROVED", "IN_PROCESS",
    "PAUSED", "PENDING_BILLING_INFO", "PENDING_REVIEW", "PREAPPROVED", "WITH_ISSUES",
)  # fmt: skip

# Marketing API reference, Ad Account ``account_status``.
ACCOUNT_STATUSES = {
    1: "ACTIVE", 2: "DISABLED", 3: "UNSETTLED", 7: "PENDING_RISK_REVIEW", 8: "PENDING_SETTLEMENT",
    9: "IN_GRACE_PERIOD", 100: "PENDING_CLOSURE", 101: "CLOSED", 201: "ANY_ACTIVE", 202: "ANY_CLOSED",
}  # fmt: skip
# The statuses whose ads still run (the reference's "running or in review" rule: 1, 8, 9).
RUNNING_STATUSES = frozenset({1, 8, 9})

# Graph API error codes (Handling Errors; Marketing API Rate Limiting; Ads Insights API Error Codes).
THROTTLING_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})  # 80004: ads_insights
TOKEN_CODES = frozenset({102, 104, 190})
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})
# Insights' "request timed out" / "intermittent error" subcodes (codes 100 and 2): try again later.
TRANSIENT_SUBCODES = frozenset({1504018, 1504038, 1504043, 1504044})
UNKNOWN_OBJECT = (100, 33)  # "Object with ID … does not exist, cannot be loaded due to missing permissions…"
UNKNOWN_ALIAS = 803

ErrorKind = Literal["throttled", "token", "permission", "unknown_account", "transient", "invalid"]

ACCOUNT_ID_RE = re.compile(r"\A(?:act_)?([0-9]{1,20})\Z")
DAY_RE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
OBJECT_ID_RE = re.compile(r"\A[0-9]{1,32}\Z")
COUNT_RE = re.compile(r"\A[0-9]{1,15}\Z")
SPEND_RE = re.compile(r"\A[0-9]{1,15}(?:\.[0-9]{1,9})?\Z")  # "5339.5", "0.14": a decimal, never an exponent
CURRENCY_RE = re.compile(r"\A[A-Z]{3}\Z")
TIMEZONE_RE = re.compile(r"\A[A-Za-z0-9_+/-]{1,64}\Z")
MAX_NAME = 400  # Meta's object names are at most 400 characters


def account_digits(account_id: str) -> str:
    """An ad account id as Meta writes it (``act_123``) or as people do (``123``) → ``123``."""
    found = ACCOUNT_ID_RE.match(account_id.strip())
    if found is None:
        raise ValueError("an ad account id is act_ followed by digits, or the digits alone")
    return found.group(1)


def spend_cents(value: object) -> int:
    """Meta's ``spend`` (a decimal string in the account currency) → integer hundredths, exactly.

    Decimal arithmetic end to end (never a float); a value finer than a cent is rounded half to even.
    ``ValueError`` for anything that is not a plain non-negative decimal.
    """
    if isinstance(value, bool):
        raise ValueError("spend is not a number")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal):
        text = format(value, "f") if value.is_finite() else ""
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError("spend is not a number")
    if not SPEND_RE.match(text):
        raise ValueError("spend is not a plain decimal")
    try:
        return int((Decimal(text) * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise ValueError("spend is not a plain decimal") from None


def _count(value: object, what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**15:
        return value
    if isinstance(value, str) and COUNT_RE.match(value):
        return int(value)
    raise ValueError(f"{what} is not a count")


def _name(value: object) -> str:
    return value[:MAX_NAME] if isinstance(value, str) else ""


def _object_id(value: object, what: str, *, required: bool = False) -> str:
    if isinstance(value, str) and OBJECT_ID_RE.match(value):
        return value
    if value is None and not required:
        return ""
    raise ValueError(f"{what} is not an id")


# -- what Meta answers, typed ---------------------------------------------------------------------


class AdAccountInfo(BaseModel):
    """``GET act_<id>?fields=name,currency,account_status,timezone_name``, as far as it is usable."""

    model_config = ConfigDict(frozen=True)

    account_id: str  # digits
    name: str | None = None
    currency: str | None = None
    account_status: int | None = None
    timezone_name: str | None = None

    @property
    def running(self) -> bool:
        return self.account_status in RUNNING_STATUSES

    @property
    def status_name(self) -> str:
        return ACCOUNT_STATUSES.get(self.account_status or 0, f"unknown ({self.account_status})")


def parse_ad_account(payload: Any, account_id: str) -> AdAccountInfo:
    """The account's fields we use; a field Meta sent malformed (or not at all) is None."""
    if not isinstance(payload, dict):
        raise ValueError("the ad account answer is not an object")
    status = payload.get("account_status")
    name, currency, timezone = payload.get("name"), payload.get("currency"), payload.get("timezone_name")
    return AdAccountInfo(
        account_id=account_id,
        name=name[:MAX_NAME] if isinstance(name, str) and name.strip() else None,
        currency=currency if isinstance(currency, str) and CURRENCY_RE.match(currency) else None,
        account_status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        timezone_name=timezone if isinstance(timezone, str) and TIMEZONE_RE.match(timezone) else None,
    )


class InsightRow(BaseModel):
    """One ad's spend on one day (``time_increment=1``), in the account's currency and time zone."""

    model_config = ConfigDict(frozen=True)

    day: date
    ad_id: str
    ad_name: str = ""
    adset_id: str = ""
    adset_name: str = ""
    campaign_id: str = ""
    campaign_name: str = ""
    spend_cents: int
    impressions: int = 0
    link_clicks: int = 0  # inline_link_clicks: clicks on the ad's link, Meta's count
    currency: str | None = None


def parse_insight_row(raw: Any) -> InsightRow:
    """One row of an ad-level daily insights answer; ``ValueError`` naming why it is not one."""
    if not isinstance(raw, dict):
        raise ValueError("the row is not an object")
    start, stop = raw.get("date_start"), raw.get("date_stop")
    if not isinstance(start, str) or not DAY_RE.match(start):
        raise ValueError("date_start is not a day")
    if stop != start:
        raise ValueError("the row spans more than one day")
    try:
        day = date.fromisoformat(start)
    except ValueError:
        raise ValueError("date_start is not a day") from None
    if raw.get("ad_id") is None:
        raise ValueError("the row has no ad_id (not an ad-level row)")
    currency = raw.get("account_currency")
    return InsightRow(
        day=day,
        ad_id=_object_id(raw.get("ad_id"), "ad_id", required=True),
        ad_name=_name(raw.get("ad_name")),
        adset_id=_object_id(raw.get("adset_id"), "adset_id"),
        adset_name=_name(raw.get("adset_name")),
        campaign_id=_object_id(raw.get("campaign_id"), "campaign_id"),
        campaign_name=_name(raw.get("campaign_name")),
        spend_cents=spend_cents(raw.get("spend")),
        impressions=_count(raw.get("impressions"), "impressions"),
        link_clicks=_count(raw.get("inline_link_clicks"), "inline_link_clicks"),
        currency=currency if isinstance(currency, str) and CURRENCY_RE.match(currency) else None,
    )


@dataclass(frozen=True)
class InsightsPage:
    rows: list[InsightRow]
    refused: list[str]  # why each refused row was refused (no values: reasons only)
    next_url: str | None  # ``paging.next`` as Meta sent it


def parse_insights_page(payload: Any) -> InsightsPage:
    """``{"data": [...], "paging": {...}}`` → its rows; ``ValueError`` when it is not that shape."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ValueError("the insights answer has no data list")
    rows: list[InsightRow] = []
    refused: list[str] = []
    for raw in payload["data"]:
        try:
            rows.append(parse_insight_row(raw))
        except ValueError as error:
            refused.append(str(error))
    paging = payload.get("paging")
    following = paging.get("next") if isinstance(paging, dict) else None
    return InsightsPage(rows, refused, following if isinstance(following, str) and following else None)


# -- failures -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketingError:
    """Why a request failed, by class; codes only (Meta's text may quote the request)."""

    kind: ErrorKind
    status_code: int | None = None  # None: no HTTP answer (timeout, connection refused)
    code: int | None = None
    subcode: int | None = None
    fbtrace_id: str | None = None
    detail: str = ""  # ours, never Meta's words: "timeout", "next link leaves Graph"…

    def describe(self) -> str:
        parts = []
        if self.code is not None:
            parts.append(f"code {self.code}" + (f"/{self.subcode}" if self.subcode else ""))
        elif self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.detail:
            parts.append(self.detail)
        if self.fbtrace_id:
            parts.append(f"fbtrace_id {self.fbtrace_id}")
        return ", ".join(parts) or self.kind


class MarketingFailure(Exception):
    def __init__(self, error: MarketingError) -> None:
        super().__init__(error.describe())
        self.error = error


def classify(status_code: int | None, code: int | None, subcode: int | None, transient: bool = False) -> ErrorKind:
    """A failed answer's class: throttling first (Meta throttles with 4xx), then the token's fault."""
    if code in THROTTLING_CODES or status_code == 429:
        return "throttled"
    if code in TOKEN_CODES or (code is None and status_code == 401):
        return "token"
    if code in PERMISSION_CODES or (code is None and status_code == 403):
        return "permission"
    if (code, subcode) == UNKNOWN_OBJECT or code == UNKNOWN_ALIAS:
        return "unknown_account"
    if transient or code in TRANSIENT_CODES or subcode in TRANSIENT_SUBCODES:
        return "transient"
    if status_code is None or status_code >= 500:
        return "transient"
    return "invalid"


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 16:
        return int(value)
    return None


def _failure(status_code: int, payload: Any, headers: httpx.Headers) -> MarketingFailure:
    raw = payload.get("error") if isinstance(payload, dict) else None
    trace = headers.get("x-fb-trace-id")
    if isinstance(raw, dict):
        code, subcode = _int(raw.get("code")), _int(raw.get("error_subcode"))
        trace = raw.get("fbtrace_id") if isinstance(raw.get("fbtrace_id"), str) else trace
        kind = classify(status_code, code, subcode, raw.get("is_transient") is True)
    else:
        code = subcode = None
        kind = classify(status_code, None, None)
    fbtrace = str(trace)[:64] if trace else None
    return MarketingFailure(MarketingError(kind, status_code, code, subcode, fbtrace))


# -- the client -----------------------------------------------------------------------------------


class MarketingClient(GraphClient):
    """The Graph origin and version of the Conversions API's client (same origin, same shared
    ``httpx.Client`` made on first use), with the Marketing API's longer timeout."""

    def __init__(
        self,
        base_url: str = DEFAULT_META_GRAPH_BASE_URL,
        version: str = DEFAULT_META_GRAPH_VERSION,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(base_url, version, timeout=timeout, client=client)

    def account_url(self, digits: str) -> str:
        return f"{self.base_url}/{self.version}/act_{digits}"

    def ad_account(self, account_id: str, access_token: str) -> AdAccountInfo:
        """The account's name, currency, status and time zone, read with ``access_token``."""
        digits = account_digits(account_id)
        payload = self._get(self.account_url(digits), {"fields": ",".join(ACCOUNT_FIELDS)}, access_token)
        try:
            return parse_ad_account(payload, digits)
        except ValueError:
            raise MarketingFailure(MarketingError("invalid", 200, detail="not an ad account answer")) from None

    def insights(
        self, account_id: str, access_token: str, since: date, until: date, *, limit: int = PAGE_LIMIT
    ) -> Iterator[InsightsPage]:
        """Each page of the account's ad-level daily insights from ``since`` to ``until`` (inclusive),
        as it arrives; ``MarketingFailure`` when a page cannot be had (the pages before stand)."""
        digits = account_digits(account_id)
        params: dict[str, str] | None = {
            "level": "ad",
            "time_increment": "1",
            "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}, separators=(",", ":")),
            "fields": ",".join(INSIGHT_FIELDS),
            "filtering": json.dumps(
                [{"field": "ad.effective_status", "operator": "IN", "value": list(EFFECTIVE_STATUSES)}],
                separators=(",", ":"),
            ),
            "limit": str(limit),
        }
        url = f"{self.account_url(digits)}/insights"
        followed: set[str] = set()
        while True:
            payload = self._get(url, params, access_token)
            try:
                page = parse_insights_page(payload)
            except ValueError:
                raise MarketingFailure(MarketingError("invalid", 200, detail="not an insights answer")) from None
            yield page
            if page.next_url is None:
                return
            url, params = self.follow(page.next_url, digits), None
            if url in followed:  # Meta pointing back: stop rather than loop
                raise MarketingFailure(MarketingError("invalid", 200, detail="next link repeats a page"))
            followed.add(url)

    def follow(self, next_url: str, digits: str) -> str:
        """``paging.next`` made safe to send our token to: our Graph origin, this account's insights
        path, no ``access_token`` in it. ``MarketingFailure`` for any other link."""
        link, ours = urlsplit(next_url), urlsplit(self.base_url)
        prefix = ours.path.rstrip("/")
        rest = link.path[len(prefix) + 1 :] if link.path.startswith(prefix + "/") else ""
        if (
            (link.scheme, link.netloc) != (ours.scheme, ours.netloc)
            or not re.fullmatch(rf"v[0-9]+\.[0-9]+/act_{digits}/insights", rest)
            or link.fragment
        ):
            raise MarketingFailure(MarketingError("invalid", 200, detail="next link leaves this account's insights"))
        query = [
            (name, value) for name, value in parse_qsl(link.query, keep_blank_values=True) if name != "access_token"
        ]
        return urlunsplit((link.scheme, link.netloc, link.path, urlencode(query), ""))

    def _get(self, url: str, params: dict[str, str] | None, access_token: str) -> Any:
        import httpx

        try:
            answer = self.client.get(
                url,
                params=params,
                headers={"authorization": f"Bearer {access_token}", "accept": "application/json"},
                timeout=self.timeout,
            )
        except httpx.TimeoutException:
            raise MarketingFailure(MarketingError("transient", detail="timeout")) from None
        except httpx.HTTPError as error:
            raise MarketingFailure(MarketingError("transient", detail=f"network: {type(error).__name__}")) from None
        try:
            payload: Any = load_json(answer.content, max_bytes=MAX_RESPONSE_BYTES, max_depth=MAX_DEPTH, decimals=True)
        except UntrustedInput:
            payload = None  # an answer we cannot read is judged by its status alone
        if not 200 <= answer.status_code < 300 or (isinstance(payload, dict) and "error" in payload):
            raise _failure(answer.status_code, payload, answer.headers)
        if payload is None:
            raise MarketingFailure(MarketingError("invalid", answer.status_code, detail="answer is not JSON"))
        return payload
