"""The daily export: each tenant's Brasília days as JSON Lines in S3, for Athena (docs/analytics.md).

``DailyExportFunction`` runs every morning and exports, for every tenant, yesterday and the
``LOOKBACK_DAYS`` days before it again (a late refund lowers the day of its sale; Meta revises recent
spend). Per tenant and day, two gzip'd JSON Lines objects whose keys name only the tenant and the
day, so a run that comes again writes the same objects over with what the table holds then (the same
bytes when the table has not changed):

- ``funnel/tenant=<t>/date=<yyyy-mm-dd>/funnel.jsonl.gz``: one line per row of the day's merged cube
  (``funil.analytics.storage.read_day``): ``tenant_id``, ``day``, every dimension of
  ``funil.analytics.dimensions.DIMENSIONS`` and every metric of ``funil.analytics.cube.METRICS``
  (``ft_*`` included) by name, in key order;
- ``spend/tenant=<t>/date=<yyyy-mm-dd>/spend.jsonl.gz``: the day's spend rows (``read_spend``), one a
  line, with ``tenant_id``.

A day with nothing to export has no object; one an earlier run wrote is removed (Meta may revise a
day's spend away). Which of the days have objects is one listing per tenant, asked only when a day
came out empty. A funnel object carries the digest of the counter chunks it was made from
(``x-amz-meta-source-digest``): a day whose chunks are as they were (most of the days looked at
again) is read, hashed and left as it is, not inflated and written again.

Tenants are walked in id order (pattern 25b, ``gsi2pk = TENANTS``), beginning after the tenant the
previous run ended with (``STATE_KEY`` in the bucket) and going round, a few at a time, within a time
budget: a run cut short leaves the rest first in line for the next run, so no tenant waits behind the
same others every day (each run exports four days: a tenant reached within four runs misses nothing).

Failures: a tenant-day that fails (the table, S3) is logged and counted (``ExportFailures``) and the
others go on; the run then raises ``ExportIncomplete``, so Lambda runs it again (an export is an
overwrite) and, after its retries, ScheduleFailuresAlarm tells a person. A day with more counter
chunks than one read may take (``TooMuchToRead``) is an anomaly instead: trying again cannot help.

Besides the schedule's event, a direct invocation ``{"from": "yyyy-mm-dd", "to": "yyyy-mm-dd"}``
(optionally ``"tenant_id"``, and ``"after"``: the tenant a run cut short ended with) exports a past
range, e.g. the days counted before the export was deployed (``Backfill``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from funil import keys
from funil.analytics.cube import METRICS, Cube
from funil.analytics.dimensions import DIMENSIONS
from funil.analytics.spend import BRASILIA, SpendRow, read_spend  # facts' UTC-3 too, without facts' RE2 patterns
from funil.analytics.storage import TooMuchToRead, read_day
from funil.clock import Clock, iso, parse_iso
from funil.observability import anomaly, count
from funil.ports import Items

log = logging.getLogger(__name__)

__all__ = [
    "Backfill",
    "ExportDeps",
    "ExportIncomplete",
    "ExportReport",
    "counters_digest",
    "export_days",
    "export_tenant",
    "funnel_key",
    "funnel_lines",
    "jsonl_gz",
    "run",
    "scheduled_days",
    "spend_key",
    "spend_lines",
]

LOOKBACK_DAYS = 3  # yesterday and the three days before: late refunds, Meta's revised spend
MAX_BACKFILL_DAYS = 62
MAX_DAY_CHUNKS = 20_000  # counter chunks one day's export may read (stats: 40,000 per answer)
DEFAULT_BUDGET_SECONDS = 840.0  # the function's timeout is 900 s
WORKERS = 4  # tenants exported at once (each waits on DynamoDB and S3 most of the time)
FUNNEL, SPEND = "funnel", "spend"
EXPORT_FORMAT = "1"  # the lines' own version: part of the digest, so a new format writes every day again
DIGEST = "source-digest"  # a funnel object's user metadata: its counter chunks' digest
CONTENT_TYPE = "application/gzip"
STATE_KEY = "_state/daily-export.json"  # outside the tables' prefixes: Athena never reads it
TENANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # funil.operator.models.ENTITY_ID: safe in an S3 key
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

# The export's columns, in order: what the Athena tables in template.yaml declare.
FUNNEL_COLUMNS = ("tenant_id", "day", *DIMENSIONS, *METRICS)
SPEND_COLUMNS = ("tenant_id", "day", *(name for name in SpendRow.model_fields if name != "day"))


class Objects(Protocol):
    """The export bucket (``funil.adapters.s3.Bucket``)."""

    def put(self, key: str, body: bytes, content_type: str, metadata: Mapping[str, str] | None = None) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def metadata(self, key: str) -> dict[str, str] | None: ...

    def keys(self, prefix: str, start_after: str = "", limit: int = 1000) -> list[str]: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class ExportDeps:
    items: Items
    bucket: Objects
    now: Clock
    monotonic: Callable[[], float] = time.monotonic  # the budget's clock
    workers: int = WORKERS


class ExportIncomplete(RuntimeError):
    """Some tenant-days could not be exported: the run fails so that it is tried again."""


# -- what is written ------------------------------------------------------------------------------


def _prefix(kind: str, tenant_id: str) -> str:
    return f"{kind}/tenant={tenant_id}/date="


def funnel_key(tenant_id: str, day: str) -> str:
    return f"{_prefix(FUNNEL, tenant_id)}{day}/{FUNNEL}.jsonl.gz"


def spend_key(tenant_id: str, day: str) -> str:
    return f"{_prefix(SPEND, tenant_id)}{day}/{SPEND}.jsonl.gz"


def funnel_lines(tenant_id: str, day: str, cube: Cube) -> Iterator[dict[str, Any]]:
    """The day's cube, one row a line, in key order (the same cube gives the same lines)."""
    for key, metrics in sorted(cube.rows.items()):
        values = [tenant_id, day, *key, *metrics]
        yield dict(zip(FUNNEL_COLUMNS, values, strict=True))


def spend_lines(tenant_id: str, rows: Iterable[SpendRow]) -> Iterator[dict[str, Any]]:
    """Spend rows, one a line, by ad account and ad."""
    for row in sorted(rows, key=lambda row: (row.account_id, row.ad_id)):
        line = {"tenant_id": tenant_id, **row.model_dump(mode="json")}
        yield {name: line[name] for name in SPEND_COLUMNS}


def jsonl_gz(lines: Iterable[Mapping[str, Any]]) -> tuple[bytes, int]:
    """JSON Lines, gzip'd with no time or name in the header (the same lines, the same bytes); and
    how many lines."""
    buffer = io.BytesIO()
    written = 0
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as packed:
        for line in lines:
            packed.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
            written += 1
    return buffer.getvalue(), written


# -- which days ------------------------------------------------------------------------------------


def scheduled_days(moment: datetime) -> list[date]:
    """Yesterday in Brasília and the ``LOOKBACK_DAYS`` before it, most recent first."""
    yesterday = moment.astimezone(BRASILIA).date() - timedelta(days=1)
    return [yesterday - timedelta(days=offset) for offset in range(LOOKBACK_DAYS + 1)]


def _day(value: Any) -> Any:
    if not isinstance(value, str) or not DAY.fullmatch(value):
        raise ValueError("a day, yyyy-mm-dd")
    return value


class Backfill(BaseModel):
    """A direct invocation exporting past days: ``{"from", "to"}``, optionally one tenant or the
    tenants after one (to go on with a backfill the budget cut short)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: Annotated[date, BeforeValidator(_day)] = Field(alias="from")
    end: Annotated[date, BeforeValidator(_day)] = Field(alias="to")
    tenant_id: str | None = Field(default=None, pattern=TENANT_ID.pattern)
    after: str | None = Field(default=None, pattern=TENANT_ID.pattern)

    @model_validator(mode="after")
    def _range(self) -> Backfill:
        if self.end < self.start:
            raise ValueError("to is before from")
        if (self.end - self.start).days >= MAX_BACKFILL_DAYS:
            raise ValueError(f"at most {MAX_BACKFILL_DAYS} days at once")
        return self

    def days(self) -> list[date]:
        return [self.end - timedelta(days=offset) for offset in range((self.end - self.start).days + 1)]


def _is_schedule(event: Mapping[str, Any]) -> bool:
    return event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event"


def _days_of_schedule(event: Mapping[str, Any], now: Clock) -> list[date]:
    """The days of the run EventBridge meant (its ``time``: a retry of it exports the same days); now's
    when the event does not say."""
    raw = event.get("time")
    if isinstance(raw, str):
        try:
            return scheduled_days(parse_iso(raw))
        except (ValueError, OverflowError):  # not a time, or one with no day before it
            log.warning("schedule event time unreadable; exporting for now")
    return scheduled_days(now())


# -- the run ----------------------------------------------------------------------------------------


@dataclass
class TenantOutcome:
    tenant_id: str
    objects: int = 0
    removed: int = 0
    funnel_rows: int = 0
    spend_rows: int = 0
    unchanged: int = 0
    failed: int = 0
    too_large: int = 0
    problems: list[str] = field(default_factory=list)  # "<tenant> <day>" (or "<tenant> spend")


@dataclass
class ExportReport:
    days: list[str]
    tenants: int = 0
    objects: int = 0
    removed: int = 0
    funnel_rows: int = 0
    spend_rows: int = 0
    unchanged: int = 0  # funnel objects left as they were: their counters had not changed
    failed: int = 0  # tenant-days (or whole tenants) that could not be exported
    too_large: int = 0
    stopped_by_budget: bool = False
    last_tenant: str | None = None  # the walk ended with it: a backfill cut short goes on with "after"
    problems: list[str] = field(default_factory=list)

    def add(self, outcome: TenantOutcome) -> None:
        self.tenants += 1
        self.objects += outcome.objects
        self.removed += outcome.removed
        self.funnel_rows += outcome.funnel_rows
        self.spend_rows += outcome.spend_rows
        self.unchanged += outcome.unchanged
        self.failed += outcome.failed
        self.too_large += outcome.too_large
        self.problems += outcome.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "tenants": self.tenants,
            "objects": self.objects,
            "removed": self.removed,
            "funnel_rows": self.funnel_rows,
            "spend_rows": self.spend_rows,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "too_large": self.too_large,
            "stopped_by_budget": self.stopped_by_budget,
            "last_tenant": self.last_tenant,
        }


def run(deps: ExportDeps, event: Mapping[str, Any], *, budget_seconds: float = DEFAULT_BUDGET_SECONDS) -> ExportReport:
    """One invocation: the schedule's (yesterday and the days before, every tenant, going round from
    where the last run ended) or a backfill's (``Backfill``; pydantic's ValidationError when it is not one).
    Raises ExportIncomplete when a tenant-day failed."""
    if _is_schedule(event):
        days = _days_of_schedule(event, deps.now)
        after = _last_run_ended_with(deps.bucket)
        report = export_days(deps, days, tenants=_every_tenant(deps.items, after), budget_seconds=budget_seconds)
        if report.last_tenant is not None:
            _remember(deps, report.last_tenant)
    else:
        backfill = Backfill.model_validate(event)
        today = deps.now().astimezone(BRASILIA).date()
        if backfill.end > today:
            raise ValueError(f"to is after today ({today.isoformat()} in Brasília)")
        tenants = iter([backfill.tenant_id]) if backfill.tenant_id else _tenants_after(deps.items, backfill.after or "")
        report = export_days(deps, backfill.days(), tenants=tenants, budget_seconds=budget_seconds)
    log.info("daily export", extra=report.as_json())
    count("ExportedObjects", report.objects)
    if report.failed:
        raise ExportIncomplete(f"{report.failed} tenant-day(s) not exported: {', '.join(report.problems[:20])}")
    return report


def export_days(
    deps: ExportDeps, days: list[date], *, tenants: Iterable[str], budget_seconds: float = DEFAULT_BUDGET_SECONDS
) -> ExportReport:
    """Export ``days`` of each of ``tenants`` in turn (``deps.workers`` at once) until the budget is spent.
    Every tenant begun is finished; ``last_tenant`` is the last one begun."""
    deadline = deps.monotonic() + budget_seconds
    report = ExportReport(days=[day.isoformat() for day in days])
    running: set[Future[TenantOutcome]] = set()
    with ThreadPoolExecutor(max_workers=deps.workers, thread_name_prefix="export") as pool:
        for tenant_id in tenants:
            if len(running) >= deps.workers:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                _collect(done, report)
            if deps.monotonic() >= deadline:
                report.stopped_by_budget = True
                break
            running.add(pool.submit(export_tenant, deps, tenant_id, days))
            report.last_tenant = tenant_id
        _collect(wait(running).done, report)
    return report


def _collect(done: Iterable[Future[TenantOutcome]], report: ExportReport) -> None:
    for future in done:
        report.add(future.result())  # export_tenant catches what a tenant-day may raise


def export_tenant(deps: ExportDeps, tenant_id: str, days: list[date]) -> TenantOutcome:
    """One tenant's days: the funnel and the spend objects of each, written, or removed when empty.
    Raises nothing: what failed is in the outcome."""
    outcome = TenantOutcome(tenant_id)
    try:
        spend = _spend_by_day(deps.items, tenant_id, days)
    except Exception as error:  # the table: each of this tenant's days waits for the retry
        _failed(outcome, "spend", error, days=len(days))
        return outcome
    objects = _TenantObjects(deps.bucket, tenant_id, days, outcome)
    for day in days:
        name = day.isoformat()
        try:
            objects.funnel(deps.items, name)
            objects.write(SPEND, name, spend_lines(tenant_id, spend[name]))
        except TooMuchToRead:
            outcome.too_large += 1
            anomaly(
                "export_day_too_large",
                "a day holds more counter chunks than the export reads: it is not exported",
                tenant_id=tenant_id,
                day=name,
            )
        except Exception as error:
            _failed(outcome, name, error)
    return outcome


def _failed(outcome: TenantOutcome, what: str, error: Exception, days: int = 1) -> None:
    outcome.failed += days
    outcome.problems.append(f"{outcome.tenant_id} {what}")
    # The error's class only: an AWS error's message may quote the request.
    log.error("export failed", extra={"tenant_id": outcome.tenant_id, "what": what, "error": type(error).__name__})
    count("ExportFailures", days)


def counters_digest(items: Items, tenant_id: str, day: str) -> str | None:
    """SHA-256 of a day's counter chunks as stored (key and bytes, in key order) and of the export's
    format; None when the day has none. Bounded like ``read_day`` (TooMuchToRead)."""
    pk, prefix = keys.counts(tenant_id, day)
    digest = hashlib.sha256(f"export {EXPORT_FORMAT}\n".encode())
    chunks = items.query("pk = :pk AND begins_with(sk, :prefix)", {":pk": pk, ":prefix": prefix})
    read = 0
    for read, item in enumerate(chunks, start=1):
        if read > MAX_DAY_CHUNKS:
            raise TooMuchToRead(f"{day} has more than {MAX_DAY_CHUNKS} counter chunks")
        value = getattr(item.get("cube"), "value", item.get("cube"))  # boto3 reads binary as Binary
        blob = value if isinstance(value, bytes) else repr(value).encode()
        digest.update(f"{item.get('sk')}\n{len(blob)}\n".encode() + blob)
    return digest.hexdigest() if read else None


def _spend_by_day(items: Items, tenant_id: str, days: list[date]) -> dict[str, list[SpendRow]]:
    by_day: dict[str, list[SpendRow]] = defaultdict(list)
    wanted = set(days)
    for row in read_spend(items, tenant_id, min(days), max(days)):
        if row.day in wanted:
            by_day[row.day.isoformat()].append(row)
    return by_day


@dataclass
class _TenantObjects:
    """One tenant's objects of the exported days."""

    bucket: Objects
    tenant_id: str
    days: list[date]
    outcome: TenantOutcome
    existing: dict[str, set[str]] = field(default_factory=dict)  # kind → days with an object (listed once)

    def funnel(self, items: Items, day: str) -> None:
        """The day's counters, unless its object was made from the very chunks the table holds now."""
        digest = counters_digest(items, self.tenant_id, day)
        if digest is None:  # nothing counted
            self.write(FUNNEL, day, ())
            return
        if (self.bucket.metadata(funnel_key(self.tenant_id, day)) or {}).get(DIGEST) == digest:
            self.outcome.unchanged += 1
            return
        # Read again to inflate: what changed in between is written now and hashed differently next run.
        cube = read_day(items, self.tenant_id, day, max_chunks=MAX_DAY_CHUNKS)
        self.write(FUNNEL, day, funnel_lines(self.tenant_id, day, cube), {DIGEST: digest})

    def write(
        self, kind: str, day: str, lines: Iterable[Mapping[str, Any]], metadata: Mapping[str, str] | None = None
    ) -> None:
        """The day's lines as its object; no lines: no object (one written before is removed)."""
        body, written = jsonl_gz(lines)
        key = funnel_key(self.tenant_id, day) if kind == FUNNEL else spend_key(self.tenant_id, day)
        if written:
            self.bucket.put(key, body, CONTENT_TYPE, metadata)
            self.outcome.objects += 1
            if kind == FUNNEL:
                self.outcome.funnel_rows += written
            else:
                self.outcome.spend_rows += written
            return
        if kind not in self.existing:
            self.existing[kind] = self._days_with_objects(kind)
        if day in self.existing[kind]:
            self.bucket.delete(key)
            self.outcome.removed += 1

    def _days_with_objects(self, kind: str) -> set[str]:
        """Which of the days have an object of ``kind``: one listing from the first of them."""
        prefix = _prefix(kind, self.tenant_id)
        wanted = {day.isoformat() for day in self.days}
        listed = self.bucket.keys(prefix, start_after=f"{prefix}{min(self.days).isoformat()}")
        return {day for day in (key[len(prefix) :].split("/", 1)[0] for key in listed) if day in wanted}


# -- tenants and where the last run ended -----------------------------------------------------------


def _tenant_ids(items: Items, condition: str, bound: str) -> Iterator[str]:
    """Tenant ids in order (pattern 25b) whose id meets ``condition`` on ``bound``; ids unfit for an S3
    key are left out."""
    values = {":pk": keys.every_tenant_index()["gsi2pk"]}
    expression = "gsi2pk = :pk"
    if bound:  # DynamoDB takes no empty string in a key condition
        values[":bound"] = bound
        expression += f" AND gsi2sk {condition} :bound"
    for item in items.query(expression, values, index="gsi2"):
        tenant_id = str(item.get("gsi2sk") or "")
        if TENANT_ID.fullmatch(tenant_id):
            yield tenant_id
        else:
            log.warning("tenant id unfit for the export's keys", extra={"gsi2sk": tenant_id[:80]})


def _tenants_after(items: Items, after: str) -> Iterator[str]:
    return _tenant_ids(items, ">", after)


def _every_tenant(items: Items, after: str) -> Iterator[str]:
    """Every tenant, beginning after ``after`` and going round to it."""
    yield from _tenant_ids(items, ">", after)
    if after:
        yield from _tenant_ids(items, "<=", after)


def _last_run_ended_with(bucket: Objects) -> str:
    raw = bucket.get(STATE_KEY)
    try:
        after = json.loads(raw or b"{}").get("after")
    except (ValueError, AttributeError):
        log.warning("export state unreadable: beginning with the first tenant")
        return ""
    return after if isinstance(after, str) and TENANT_ID.fullmatch(after) else ""


def _remember(deps: ExportDeps, last_tenant: str) -> None:
    state = {"after": last_tenant, "at": iso(deps.now())}
    deps.bucket.put(STATE_KEY, json.dumps(state).encode(), "application/json")
