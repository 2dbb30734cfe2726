"""The funnel's numbers for a date range, broken down by one dimension and filtered by any others.

Each day of the range is one Query of its counters (``funil.analytics.storage.read_day``, the days
read in parallel); rows are summed from the cubes' full keys, so ``by`` and the filters may name
any dimension. Spend comes from the imported ad insights (``funil.analytics.spend``) and is known
only for the ad dimensions (campaign, ad set, ad, by id or name), for days, and for the totals when
no filter names another dimension; elsewhere ``spend_cents``, ``cpa_cents`` and ``roas`` are null.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from funil.analytics.cube import LATENCIES, LATENCY_BOUNDS, METRIC_INDEX, Cube, total
from funil.analytics.dimensions import DIMENSIONS, INDEX, MAX_VALUE, Key
from funil.analytics.storage import read_day
from funil.ports import Items

MAX_DAYS = 400
DAY = "day"
TOTAL = "total"
BY = (*DIMENSIONS, DAY)
# Spend rows' fields under the dimensions they answer for.
SPEND_DIMENSIONS = {
    "campaign_id": "campaign_id", "campaign": "campaign_name", "adset_id": "adset_id",
    "adset": "adset_name", "ad_id": "ad_id", "ad": "ad_name",
}  # fmt: skip
SALE_METRICS = ("checkouts", "sales", "revenue_cents", "refunds_cents", "stars_sales", "stars")
COUNTED = ("clicks", "suspect_clicks", "leads", "suspect_leads", *SALE_METRICS)
FIRST_TOUCH = {name: f"ft_{name}" for name in SALE_METRICS}  # touch=first reads these instead
READERS = 8  # days read at once
# Chunks one answer may read (~2 KB each): a range's days share it. A 5-minute batching window
# makes at most 288 chunks a day per stream shard, so a busy tenant's month fits; a longer range of
# a busy tenant is refused (422) rather than read for longer than the request may take.
MAX_CHUNKS = 40_000


class StatsQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: date
    end: date
    by: Literal[BY] = DAY  # type: ignore[valid-type]
    filters: dict[Literal[DIMENSIONS], Annotated[str, StringConstraints(max_length=MAX_VALUE)]] = Field(  # type: ignore[valid-type]
        default_factory=dict
    )
    touch: Literal["last", "first"] = "last"

    @model_validator(mode="after")
    def _range(self) -> StatsQuery:
        if self.end < self.start:
            raise ValueError("to is before from")
        if (self.end - self.start).days >= MAX_DAYS:
            raise ValueError(f"at most {MAX_DAYS} days at once")
        return self

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> StatsQuery:
        """From a query string: ``from``, ``to``, ``by``, ``touch``, and any dimension's name as a filter.

        Raises pydantic's ValidationError naming each bad parameter (an unknown one too)."""
        named = {"from": "start", "to": "end", "by": "by", "touch": "touch"}
        fields: dict[str, Any] = {named[name]: value for name, value in params.items() if name in named}
        fields["filters"] = {name: value for name, value in params.items() if name not in named}
        return cls.model_validate(fields)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range((self.end - self.start).days + 1)]


class StatsRow(BaseModel):
    key: str
    clicks: int = 0
    suspect_clicks: int = 0
    leads: int = 0
    suspect_leads: int = 0
    checkouts: int = 0
    sales: int = 0
    revenue_cents: int = 0
    refunds_cents: int = 0
    stars_sales: int = 0
    stars: int = 0
    spend_cents: int | None = None
    impressions: int | None = None
    cpa_cents: int | None = None
    roas: float | None = None
    lead_rate: float | None = None
    checkout_rate: float | None = None
    sale_rate: float | None = None
    click_to_sale: float | None = None

    def finish(self) -> StatsRow:
        def ratio(part: int, whole: int | None) -> float | None:
            return round(part / whole, 4) if whole else None

        self.lead_rate = ratio(self.leads, self.clicks)
        self.checkout_rate = ratio(self.checkouts, self.leads)
        self.sale_rate = ratio(self.sales, self.checkouts)
        self.click_to_sale = ratio(self.sales, self.clicks)
        if self.spend_cents is not None:
            self.cpa_cents = round(self.spend_cents / self.sales) if self.sales else None
            self.roas = ratio(self.revenue_cents - self.refunds_cents, self.spend_cents)
        return self


class LatencyBucket(BaseModel):
    le_seconds: int | None  # None: slower than the last bound
    count: int


class StatsAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    by: str
    touch: str
    rows: list[StatsRow]
    totals: StatsRow
    latency: dict[str, list[LatencyBucket]]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


SpendReader = Callable[[Items, str, date, date], Iterable[Any]]


def _spend_reader() -> SpendReader:
    from funil.analytics.spend import read_spend  # the spend importer's module: only stats need it here

    reader: SpendReader = read_spend
    return reader


def _add(row: StatsRow, metrics: list[int], touch: str) -> None:
    for name in COUNTED:
        source = FIRST_TOUCH.get(name, name) if touch == "first" else name
        setattr(row, name, getattr(row, name) + metrics[METRIC_INDEX[source]])


def _matches(key: Key, filters: Mapping[str, str]) -> bool:
    return all(key[INDEX[name]] == value for name, value in filters.items())


def _read_days(items: Items, tenant_id: str, days: list[date]) -> dict[date, Cube]:
    """Raises TooMuchToRead when a day holds more than its share of MAX_CHUNKS."""
    share = MAX_CHUNKS // len(days)
    with ThreadPoolExecutor(max_workers=min(READERS, len(days))) as pool:
        cubes = pool.map(lambda day: read_day(items, tenant_id, day.isoformat(), max_chunks=share), days)
        return dict(zip(days, cubes, strict=True))


def _spend(query: StatsQuery, rows: Iterable[Any]) -> tuple[dict[str, list[int]], list[int]] | None:
    """Spend and impressions in all and by the query's row key (when ``by`` is an ad dimension or the
    day); None when none was imported for the range or a filter names a dimension spend is not known by."""
    if any(name not in SPEND_DIMENSIONS for name in query.filters):
        return None
    rows = list(rows)
    if not rows:
        return None  # no spend imported for the range (no ad account): unknown, not zero
    totals = [0, 0]
    keyed: dict[str, list[int]] = {}
    for row in rows:
        if any(str(getattr(row, SPEND_DIMENSIONS[name], "") or "") != value for name, value in query.filters.items()):
            continue
        spent = (int(row.spend_cents), int(row.impressions))
        totals = [totals[0] + spent[0], totals[1] + spent[1]]
        if query.by == DAY:
            key = str(row.day)
        elif query.by in SPEND_DIMENSIONS:
            key = str(getattr(row, SPEND_DIMENSIONS[query.by], "") or "")
        else:
            continue
        entry = keyed.setdefault(key, [0, 0])
        entry[0], entry[1] = entry[0] + spent[0], entry[1] + spent[1]
    return keyed, totals


def read_stats(
    items: Items, tenant_id: str, query: StatsQuery, *, spend_reader: SpendReader | None = None
) -> StatsAnswer:
    days = query.days()
    cubes = _read_days(items, tenant_id, days)
    rows: dict[str, StatsRow] = {}
    totals = StatsRow(key=TOTAL)
    if query.by == DAY:
        rows = {day.isoformat(): StatsRow(key=day.isoformat()) for day in days}
    for day, cube in cubes.items():
        for key, metrics in cube.rows.items():
            if not _matches(key, query.filters):
                continue
            row_key = day.isoformat() if query.by == DAY else key[INDEX[query.by]]
            row = rows.get(row_key)
            if row is None:
                row = rows[row_key] = StatsRow(key=row_key)
            _add(row, metrics, query.touch)
            _add(totals, metrics, query.touch)
    spend = _spend(query, (spend_reader or _spend_reader())(items, tenant_id, query.start, query.end))
    if spend is not None:
        keyed, (spend_total, impressions_total) = spend
        totals.spend_cents, totals.impressions = spend_total, impressions_total
        if query.by in (*SPEND_DIMENSIONS, DAY):
            for spend_key, (spent, impressions) in keyed.items():
                row = rows.setdefault(spend_key, StatsRow(key=spend_key))
                row.spend_cents, row.impressions = spent, impressions
            for row in rows.values():
                if row.spend_cents is None:
                    row.spend_cents, row.impressions = 0, 0
    if query.by == DAY:
        ordered = sorted(rows.values(), key=lambda row: row.key)
    else:  # a value seen only under the other touch, with nothing of its own here, is no row
        shown = [row for row in rows.values() if row.spend_cents or any(getattr(row, name) for name in COUNTED)]
        ordered = sorted(shown, key=lambda row: (-row.revenue_cents, -row.clicks, row.key))
    merged = total(cubes.values())
    latency = {
        name: [
            LatencyBucket(le_seconds=bound, count=count)
            for bound, count in zip(
                (*LATENCY_BOUNDS, None), merged.latency.get(name, [0] * (len(LATENCY_BOUNDS) + 1)), strict=True
            )
        ]
        for name in LATENCIES
    }
    return StatsAnswer(
        start=query.start,
        end=query.end,
        by=query.by,
        touch=query.touch,
        rows=[row.finish() for row in ordered],
        totals=totals.finish(),
        latency=latency,
    )
