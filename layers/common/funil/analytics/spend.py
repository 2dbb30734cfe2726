"""Ad spend: each tenant's Meta ad accounts' daily spend per ad, imported into the table, read back
for the stats (docs/ad-spend.md).

The import (``SpendImportFunction``, daily; ``import_spend``):

- walks the ad accounts whose token works (gsi2 ``ADACCOUNTS``, ``funil.operator.ad_accounts``),
  least recently tried first, within a time budget: a run cut short leaves the rest first in line;
- reads each one's ad-level daily insights (``funil.adapters.meta_marketing``) from three days
  before today to today in the account's time zone (Meta revises recent days' spend), or from the
  last day a complete import reached when that is earlier (a gap is caught up, at most 28 days);
- overwrites one item per ad and day, ``SPEND#<tenant>`` / ``<yyyy-mm-dd>#<ad_id>``, with Meta's
  latest values (a repeated run writes the same items), and once an account's read was complete,
  removes its rows of those days that Meta no longer reports;
- one account's failure never stops the others. Throttled (4, 17, 32, 613, 80000–80014, HTTP 429),
  or Meta down → stop this account, keep what was written, try again next run. The token refused
  or without access to the account (190, 102, 104, 10, 200–299, 100/33) → the account becomes
  ``token_invalid`` (shown by the API), leaves the import's index, and an anomaly asks a person to
  add it again with a new token. Anything else → recorded on the account, tried again next run.

Days are the ad account's (Meta reports them so) and stored as given; spend is integer hundredths of
the account's currency (``meta_marketing.spend_cents``: Decimal, never a float).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError

from funil import keys
from funil.adapters.dynamo import is_conditional_failure
from funil.clock import Clock, iso
from funil.observability import anomaly, count
from funil.ports import Items, Secrets

if TYPE_CHECKING:  # the readers of the rows (export, stats) never load the Marketing API's models
    from funil.adapters.meta_marketing import InsightRow, InsightsPage, MarketingError

log = logging.getLogger(__name__)

__all__ = [
    "ImportReport",
    "SpendImportDeps",
    "SpendRow",
    "import_account",
    "import_spend",
    "import_window",
    "read_spend",
    "spend_item",
]

LOOKBACK_DAYS = 3  # today and the three days before: Meta revises recent spend
MAX_CATCH_UP_DAYS = 28  # how far back a gap since the last complete import is filled
MAX_PAGES = 100  # per account and run (500 rows each): a bound, not an expectation
DEFAULT_BUDGET_SECONDS = 240.0
DEFAULT_TIMEZONE = "America/Sao_Paulo"  # when Meta did not say the account's
BRASILIA = timezone(timedelta(hours=-3), DEFAULT_TIMEZONE)
LAST_SORT_KEY_CHAR = "\uffff"  # above any ad id: ``<day>#`` … ``<day>#\uffff`` spans a day's rows
TOKEN_KINDS = frozenset({"token", "permission", "unknown_account"})  # the token can no longer read the account


def _day_range(tenant_id: str, start: date, end: date) -> tuple[str, dict[str, str]]:
    partition, _ = keys.spend(tenant_id, "", "")
    values = {":pk": partition, ":from": f"{start.isoformat()}#", ":to": f"{end.isoformat()}#{LAST_SORT_KEY_CHAR}"}
    return "pk = :pk AND sk BETWEEN :from AND :to", values


# -- reading --------------------------------------------------------------------------------------


class SpendRow(BaseModel):
    """One ad's spend on one day, as the stats read it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    day: date
    account_id: str
    campaign_id: str = ""
    campaign_name: str = ""
    adset_id: str = ""
    adset_name: str = ""
    ad_id: str
    ad_name: str = ""
    spend_cents: int
    impressions: int = 0
    clicks: int = 0  # Meta's link clicks
    currency: str | None = None


def read_spend(items: Items, tenant_id: str, start: date, end: date) -> list[SpendRow]:
    """The tenant's spend rows of ``start``…``end`` (inclusive): one Query over ``SPEND#<tenant>``."""
    if end < start:
        return []
    condition, values = _day_range(tenant_id, start, end)
    rows = []
    for item in items.query(condition, values):
        try:
            rows.append(SpendRow.model_validate(item))
        except ValidationError:
            log.warning("spend item unreadable", extra={"tenant_id": tenant_id, "sk": str(item.get("sk"))[:80]})
    return rows


# -- importing ------------------------------------------------------------------------------------


class SpendTable(Items, Protocol):
    def delete(self, pk: str, sk: str, condition: str | None = None) -> None: ...


class Insights(Protocol):
    """``funil.adapters.meta_marketing.MarketingClient``'s insights, as the import uses them."""

    def insights(self, account_id: str, access_token: str, since: date, until: date) -> Iterator[InsightsPage]: ...


@dataclass(frozen=True)
class SpendImportDeps:
    items: SpendTable
    secrets: Secrets
    marketing: Insights
    now: Clock
    monotonic: Callable[[], float] = time.monotonic  # the budget's clock


@dataclass
class AccountOutcome:
    tenant_id: str
    account_id: str
    outcome: str  # ok | partial | throttled | error | token_invalid
    rows: int = 0
    removed: int = 0


@dataclass
class ImportReport:
    accounts: int = 0
    rows: int = 0
    removed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    stopped_by_budget: bool = False

    def add(self, outcome: AccountOutcome) -> None:
        self.accounts += 1
        self.rows += outcome.rows
        self.removed += outcome.removed
        self.outcomes[outcome.outcome] = self.outcomes.get(outcome.outcome, 0) + 1

    def as_json(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "rows": self.rows,
            "removed": self.removed,
            "outcomes": dict(sorted(self.outcomes.items())),
            "stopped_by_budget": self.stopped_by_budget,
        }


def _zone(name: object) -> tzinfo:
    """The account's time zone; Brasília's when Meta gave none we know (a fixed UTC-3, Brasília's
    since 2019, when the runtime has no time zone data at all)."""
    for candidate in (name, DEFAULT_TIMEZONE):
        try:
            return ZoneInfo(str(candidate or DEFAULT_TIMEZONE))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return BRASILIA


def import_window(timezone_name: object, imported_through: object, now: datetime) -> tuple[date, date]:
    """The days to read: today in the account's time zone and the ``LOOKBACK_DAYS`` before it, from
    the last day a complete import reached when that is earlier, never more than ``MAX_CATCH_UP_DAYS``
    back."""
    today = now.astimezone(_zone(timezone_name)).date()
    since = today - timedelta(days=LOOKBACK_DAYS)
    if isinstance(imported_through, str):
        with contextlib.suppress(ValueError):  # not a day: the lookback alone
            since = min(since, date.fromisoformat(imported_through))
    return max(since, today - timedelta(days=MAX_CATCH_UP_DAYS)), today


def spend_item(tenant_id: str, account: Mapping[str, Any], row: InsightRow, imported_at: str) -> dict[str, Any]:
    """The stored form of one insights row (docs/ad-spend.md; access pattern 40)."""
    day = row.day.isoformat()
    pk, sk = keys.spend(tenant_id, day, row.ad_id)
    return {
        "pk": pk,
        "sk": sk,
        "type": "spend",
        "tenant_id": tenant_id,
        "day": day,
        "account_id": str(account["account_id"]),
        "campaign_id": row.campaign_id,
        "campaign_name": row.campaign_name,
        "adset_id": row.adset_id,
        "adset_name": row.adset_name,
        "ad_id": row.ad_id,
        "ad_name": row.ad_name,
        "spend_cents": row.spend_cents,
        "impressions": row.impressions,
        "clicks": row.link_clicks,
        "currency": row.currency or account.get("currency"),
        "imported_at": imported_at,
    }


def import_spend(deps: SpendImportDeps, *, budget_seconds: float = DEFAULT_BUDGET_SECONDS) -> ImportReport:
    """One run: every importable ad account, least recently tried first, until the budget is spent."""
    started = deps.monotonic()
    deadline = started + budget_seconds
    run_started = iso(deps.now())
    report = ImportReport()
    queue = deps.items.query(
        "gsi2pk = :pk", {":pk": keys.ad_account_import_index("", "", None)["gsi2pk"]}, index="gsi2", limit=25
    )  # the index holds accounts whose token works
    for account in queue:
        attempted = str(account.get("gsi2sk") or "").split("#", 1)[0]
        if attempted != keys.NOT_YET_IMPORTED and attempted >= run_started:
            break  # tried in this run already (moved to the back): so is every one after it
        if deps.monotonic() >= deadline:
            report.stopped_by_budget = True
            break
        report.add(import_account(deps, account, deadline=deadline))
    count("SpendRowsImported", report.rows)
    return report


def import_account(
    deps: SpendImportDeps, account: Mapping[str, Any], *, deadline: float | None = None
) -> AccountOutcome:
    """Import one ad account's recent days; the outcome is also recorded on the account item."""
    # Off the readers' cold path (export, stats); the import's own function loads them at init (wiring).
    from funil.adapters.meta_marketing import MarketingFailure
    from funil.operator import ad_accounts

    tenant_id, digits = str(account["tenant_id"]), str(account["account_id"])
    now = deps.now()
    attempted = iso(now)
    since, until = import_window(account.get("timezone_name"), account.get("imported_through"), now)
    record = {"at": attempted, "since": since.isoformat(), "until": until.isoformat()}
    outcome = AccountOutcome(tenant_id, digits, "error")
    try:
        token = ad_accounts.access_token(deps.secrets, account)
    except Exception as unreadable:  # a ciphertext that does not decrypt: a person must look
        anomaly(
            "ad_account_token_unreadable", "ad account token does not decrypt", tenant_id=tenant_id, account_id=digits
        )
        reason = f"token unreadable: {type(unreadable).__name__}"
        _record(deps, account, {**record, "outcome": "error", "error": reason})
        return outcome
    written: set[tuple[str, str]] = set()
    pages = refused = 0
    complete = False
    try:
        for page in deps.marketing.insights(digits, token, since, until):
            pages += 1
            for row in page.rows:
                if not since <= row.day <= until:
                    refused += 1  # not a day we asked for
                    continue
                deps.items.put(spend_item(tenant_id, account, row, attempted))
                written.add((row.day.isoformat(), row.ad_id))
            refused += len(page.refused)
            if page.next_url is None:
                complete = True
            elif pages >= MAX_PAGES or (deadline is not None and deps.monotonic() >= deadline):
                break  # what was written stands; the rest next run
    except MarketingFailure as failure:
        outcome.rows = len(written)
        details = {**record, "rows": len(written), "pages": pages, "refused": refused}
        _failed(deps, account, outcome, details, failure.error)
        return outcome
    outcome.rows = len(written)
    if complete:
        outcome.outcome = "ok"
        outcome.removed = _remove_unreported(deps.items, tenant_id, digits, (since, until), written)
    else:
        outcome.outcome = "partial"
    details = {**record, "rows": outcome.rows, "pages": pages, "refused": refused, "removed": outcome.removed}
    _record(deps, account, {**details, "outcome": outcome.outcome}, through=until.isoformat() if complete else None)
    _log(outcome)
    return outcome


def _failed(
    deps: SpendImportDeps,
    account: Mapping[str, Any],
    outcome: AccountOutcome,
    details: dict[str, Any],
    problem: MarketingError,
) -> None:
    """Record why Meta gave no (more) pages: the token's fault takes the account out of the import."""
    from funil.operator import ad_accounts  # off the readers' cold path, as in import_account

    details = {**details, "error": problem.describe()}
    if problem.kind in TOKEN_KINDS:
        outcome.outcome = ad_accounts.STATUS_TOKEN_INVALID
        anomaly(
            "ad_account_token_invalid",
            "Meta refused an ad account's token: add the account again with a new one",
            tenant_id=outcome.tenant_id,
            account_id=outcome.account_id,
            meta_error=problem.describe(),
        )
        _record(deps, account, {**details, "outcome": outcome.outcome}, invalid=problem.describe())
    else:
        outcome.outcome = "throttled" if problem.kind == "throttled" else "error"
        _record(deps, account, {**details, "outcome": outcome.outcome})
    _log(outcome)


def _log(outcome: AccountOutcome) -> None:
    log.info(
        "ad account spend imported",
        extra={"tenant_id": outcome.tenant_id, "account_id": outcome.account_id, "outcome": outcome.outcome,
               "rows": outcome.rows, "removed": outcome.removed},
    )  # fmt: skip
    count("SpendImports", outcome=outcome.outcome)


def _remove_unreported(
    items: SpendTable, tenant_id: str, digits: str, days: tuple[date, date], written: set[tuple[str, str]]
) -> int:
    """Delete this account's rows of ``days`` (first, last) that a complete read did not report (an ad
    whose spend Meta revised away, or deleted beyond reporting)."""
    condition, values = _day_range(tenant_id, *days)
    removed = 0
    for item in items.query(condition, values):
        if str(item.get("account_id")) != digits or (str(item.get("day")), str(item.get("ad_id"))) in written:
            continue
        items.delete(str(item["pk"]), str(item["sk"]))
        removed += 1
    return removed


def _record(
    deps: SpendImportDeps,
    account: Mapping[str, Any],
    last_import: dict[str, Any],
    *,
    through: str | None = None,
    invalid: str | None = None,
) -> None:
    """The attempt on the account item: ``last_import``, its place in the import's queue (the back),
    and what the outcome changes (``imported_through``; ``token_invalid`` out of the queue)."""
    from funil.operator import ad_accounts  # off the readers' cold path, as in import_account

    tenant_id, digits = str(account["tenant_id"]), str(account["account_id"])
    values: dict[str, Any] = {":last": {key: value for key, value in last_import.items() if value is not None}}
    sets = ["last_import = :last"]
    removes = []
    if invalid is not None:
        values |= {
            ":status": ad_accounts.STATUS_TOKEN_INVALID,
            ":reason": f"meta {invalid}"[:200],
            ":at": last_import["at"],
        }
        sets += ["#status = :status", "status_reason = :reason", "status_at = :at"]
        removes += ["gsi2pk", "gsi2sk"]
    else:
        values[":queue"] = keys.ad_account_import_index(tenant_id, digits, str(last_import["at"]))["gsi2sk"]
        sets.append("gsi2sk = :queue")
    if through is not None:
        values[":through"] = through
        sets.append("imported_through = :through")
    expression = f"SET {', '.join(sets)}" + (f" REMOVE {', '.join(removes)}" if removes else "")
    try:
        deps.items.update(
            *keys.ad_account(tenant_id, digits),
            expression,
            values,
            names={"#status": "status"} if invalid is not None else None,
            condition="attribute_exists(pk)",
        )
    except Exception as error:
        if not is_conditional_failure(error):
            raise
        log.info("ad account deleted during its import", extra={"tenant_id": tenant_id, "account_id": digits})
