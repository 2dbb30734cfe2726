"""The cost model behind docs/cost.md: cost per million clicks and per thousand sales.

Every price and assumption is a named constant below; docs/cost.md explains each and cites where the
price comes from. Measured inputs (warm CPU per click, click item size) come from warm_click.py and
click_item_size.py; pass new figures on the command line when they change.

Usage: python bench/cost_model.py [--redirect-cpu-ms 1.27] [--click-wru 1] [--item-bytes 719]
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

# --- list prices, us-east-1, USD (docs/cost.md § Prices) ----------------------------------------
LAMBDA_REQUEST = 0.20 / 1e6  # per invocation
LAMBDA_ARM_GB_S = 0.0000133334  # per GB-second, arm64, first 7.5 billion GB-s/month
HTTP_API_REQUEST = 1.00 / 1e6  # per request (<= 512 KB), first 300 million/month
DDB_WRU = 0.625 / 1e6  # on-demand write request unit (1 KB)
DDB_RRU = 0.125 / 1e6  # on-demand read request unit (4 KB strongly consistent, 2 eventually consistent reads)
DDB_STORAGE_GB_MONTH = 0.25
DDB_PITR_GB_MONTH = 0.20
SQS_REQUEST = 0.40 / 1e6  # standard queue, per 64 KB chunk of a request
LOGS_INGEST_GB = 0.50  # CloudWatch Logs standard ingestion (first tier of Lambda's tiered pricing)
DATA_OUT_GB = 0.09  # data transfer out to the internet, first 10 TB/month

# --- assumptions (docs/cost.md § Assumptions) ----------------------------------------------------
BOT_SHARE = 0.05  # clicks from bots/previews: served, not stored, no PageView
PAGEVIEW_SHARE = 1.0  # stored clicks whose link has a pixel: each gets one server PageView (upper bound)
VCPU_MB = 1769  # Lambda gives one vCPU's worth of CPU at 1,769 MB, proportionally below
ARM_SLOWDOWN = 1.25  # Graviton vs the benchmark machine, per core (assumed, not measured)
DDB_WRITE_LATENCY_MS = 10.0  # PutItem round trip inside the region, upper end of 5-10 ms
DDB_READ_LATENCY_MS = 10.0  # BatchGetItem of the batch's pixels
# The redirect and the click stream run with SystemLogLevel WARN: Lambda writes no START/REPORT lines
# for them. The redirect writes no line for a stored click (the click stream counts ClicksStored);
# a crawler visit writes one EMF line (CrawlerVisits).
EMF_BYTES_PER_LINE = 250  # one Powertools EMF line with one or two metrics
# The bridge page gzip-encoded (every browser, in-app ones included, accepts gzip): 1,192 B for
# 2,138 B of HTML, plus ~770 B of headers (the CSP, Set-Cookie _fbp/_fbc, content-encoding), measured
# on events/redirect_get.json; plus the status line.
REDIRECT_RESPONSE_BYTES = 2000
CLICK_RESIDENT_DAYS = 11  # 7-day window + 2-day margin + up to ~2 days for TTL deletion
STORAGE_OVERHEAD_BYTES = 100
# The click stream consumer (ClickStreamFunction, 128 MB): BatchSize 100 with a 1 s batching window;
# at ~10 clicks/s per stream shard that is ~10 clicks per invocation (assumed: more traffic, fuller
# batches; less, smaller ones). DynamoDB Streams reads by a Lambda trigger are not charged, and records
# the filter drops (everything but click INSERTs) cost nothing. Per invocation: one BatchGetItem of
# the pixels (0.5 RRU each, eventually consistent; one pixel assumed), the events built (CPU), one
# Graph request per pixel (its wait billed), one EMF line (ClicksStored, PageViewsSent).
STREAM_CLICKS_PER_INVOCATION = 10
STREAM_MEMORY_MB = 128  # template.yaml: it mostly waits on Meta
STREAM_CPU_MS_PER_CLICK = 1.0  # build + serialise one PageView (sale_path.py: 0.7 ms for a one-click batch)
GRAPH_REQUEST_MS = 400.0  # one Conversions API request from us-east-1, typical (timeout 1.5 s)
PIXELS_PER_BATCH = 1
# A PageView as sent: 479 B measured with a 95-character User-Agent (the builder on the tests'
# click), ~650 B with a typical in-app one, plus each request's share of the token and HTTP headers.
PAGEVIEW_EGRESS_BYTES = 750
KMS_REQUEST = 0.03 / 1e4  # Decrypt: the pixel's token once per container (CachedKms)
STREAM_CONTAINERS_PER_MILLION_CLICKS = 100  # cold starts of the click stream (assumed, generous)
# PageViews Meta does not take at once (5xx, timeouts, throttling) go to the conversions queue, where
# capi_sender claims, sends and records them as every queued event: ~1 SendMessageBatch per 10,
# ~0.2 receive/delete request, ~400 ms of a 256 MB sender per 10, 5 WRU (claim, outcome and the
# status index) and a 90-day record (~815 B, table + index). Share assumed; Meta's availability is
# far better than 99%.
FALLBACK_SHARE = 0.01
FALLBACK_USD_PER_PAGEVIEW = (
    SQS_REQUEST * (1 / 10 + 0.2)
    + (LAMBDA_REQUEST + 0.4 * 256 / 1024 * LAMBDA_ARM_GB_S) / 10
    + 5 * DDB_WRU
    + 92 / 30 * (815 + STORAGE_OVERHEAD_BYTES) / 1e9 * (2 * DDB_STORAGE_GB_MONTH + DDB_PITR_GB_MONTH)
)
# The funnel's counters (AnalyticsStreamFunction, bench/analytics_stream.py --batch 350): ~350
# records per invocation is a conservative mean (its windows of up to 5 minutes take up to 1,000);
# per record 0.41 ms of CPU here and 0.0175 write units (one ~2 KB cube per batch, a suspect click's
# verdict). No I/O wait but the batch's few writes.
ANALYTICS_RECORDS_PER_INVOCATION = 350
ANALYTICS_CPU_MS_PER_RECORD = 0.41
ANALYTICS_WRU_PER_RECORD = 0.0175
ANALYTICS_MEMORY_MB = 256
LOG_BYTES_PER_INVOCATION = 700  # platform start + report records in JSON format (the sale path's functions)
SQS_CONSUME_REQUESTS_PER_MESSAGE = 0.2  # Lambda receives and deletes in batches of ~10


@dataclass
class Line:
    item: str
    formula: str
    usd: float


def billed_ms(cpu_ms: float, memory_mb: int, io_ms: float) -> int:
    """Conservative billed duration: the CPU work slowed to the function's CPU share, plus I/O waits."""
    return math.ceil(cpu_ms * ARM_SLOWDOWN * VCPU_MB / memory_mb + io_ms)


def lambda_duration_usd(ms: float, memory_mb: int) -> float:
    return ms / 1000 * memory_mb / 1024 * LAMBDA_ARM_GB_S


def per_million_clicks(redirect_cpu_ms: float, click_wru: int, item_bytes: int) -> list[Line]:
    """What a click triggers: one HTTP API request, the redirect, one PutItem, and from the table's stream
    the server PageView (the click stream consumer sends it to Meta; the queue takes what Meta does not)."""
    clicks = 1e6
    humans = clicks * (1 - BOT_SHARE)
    crawlers = clicks - humans
    page_views = humans * PAGEVIEW_SHARE
    stream_invocations = humans / STREAM_CLICKS_PER_INVOCATION
    redirect_ms = billed_ms(redirect_cpu_ms, 128, DDB_WRITE_LATENCY_MS)
    stream_io_ms = DDB_READ_LATENCY_MS + PIXELS_PER_BATCH * GRAPH_REQUEST_MS
    stream_ms = billed_ms(STREAM_CPU_MS_PER_CLICK * STREAM_CLICKS_PER_INVOCATION, STREAM_MEMORY_MB, stream_io_ms)
    resident_gb = humans * CLICK_RESIDENT_DAYS / 30 * (item_bytes + STORAGE_OVERHEAD_BYTES) / 1e9
    out_gb = clicks * REDIRECT_RESPONSE_BYTES / 1e9
    graph_out_gb = page_views * PAGEVIEW_EGRESS_BYTES / 1e9
    log_gb = (crawlers + stream_invocations) * EMF_BYTES_PER_LINE / 1e9
    pixel_reads = stream_invocations * PIXELS_PER_BATCH * 0.5
    return [
        Line("HTTP API requests", f"{clicks:,.0f} x $1.00/M (one per click)", clicks * HTTP_API_REQUEST),
        Line(
            "Lambda requests",
            f"({clicks:,.0f} redirect + {stream_invocations:,.0f} click stream) x $0.20/M",
            (clicks + stream_invocations) * LAMBDA_REQUEST,
        ),
        Line(
            "Lambda duration, redirect (128 MB)",
            f"{clicks:,.0f} x {redirect_ms} ms billed",
            clicks * lambda_duration_usd(redirect_ms, 128),
        ),
        Line(
            f"Lambda duration, click stream ({STREAM_MEMORY_MB} MB, {STREAM_CLICKS_PER_INVOCATION} clicks and "
            f"{PIXELS_PER_BATCH} Graph request per invocation)",
            f"{stream_invocations:,.0f} x {stream_ms} ms billed",
            stream_invocations * lambda_duration_usd(stream_ms, STREAM_MEMORY_MB),
        ),
        Line("DynamoDB click PutItem", f"{humans:,.0f} x {click_wru} WRU x $0.625/M", humans * click_wru * DDB_WRU),
        Line(
            "DynamoDB storage + PITR (clicks resident ~11 days)",
            f"{resident_gb:.3f} GB x ($0.25 + $0.20)/GB-month",
            resident_gb * (DDB_STORAGE_GB_MONTH + DDB_PITR_GB_MONTH),
        ),
        Line("DynamoDB Streams reads by the Lambda trigger", "not charged; filtered-out records cost nothing", 0.0),
        Line(
            "DynamoDB pixel reads (one BatchGetItem per batch)",
            f"{pixel_reads:,.0f} RRU x $0.125/M",
            pixel_reads * DDB_RRU,
        ),
        Line(
            "KMS Decrypt of the pixel's token (once per container)",
            f"{STREAM_CONTAINERS_PER_MILLION_CLICKS} x $0.03/10k",
            STREAM_CONTAINERS_PER_MILLION_CLICKS * KMS_REQUEST,
        ),
        Line(
            "Data transfer out: server PageViews to Meta",
            f"{page_views:,.0f} x {PAGEVIEW_EGRESS_BYTES} B = {graph_out_gb:.2f} GB x $0.09/GB",
            graph_out_gb * DATA_OUT_GB,
        ),
        Line(
            f"PageViews Meta did not take at once ({FALLBACK_SHARE:.0%}): queue, capi_sender, record",
            f"{page_views * FALLBACK_SHARE:,.0f} x ${FALLBACK_USD_PER_PAGEVIEW * 1e6:.2f}/M",
            page_views * FALLBACK_SHARE * FALLBACK_USD_PER_PAGEVIEW,
        ),
        Line(
            "CloudWatch Logs ingestion (no platform lines; crawlers' and the click stream's EMF lines)",
            f"{log_gb:.3f} GB x $0.50/GB",
            log_gb * LOGS_INGEST_GB,
        ),
        Line("Data transfer out (responses)", f"{out_gb:.2f} GB x $0.09/GB", out_gb * DATA_OUT_GB),
        *analytics_lines(humans),
    ]


def analytics_lines(records: float) -> list[Line]:
    """The funnel's counters: the stream's second reader, one cube item per batch and tenant-day."""
    invocations = records / ANALYTICS_RECORDS_PER_INVOCATION
    ms = billed_ms(ANALYTICS_CPU_MS_PER_RECORD * ANALYTICS_RECORDS_PER_INVOCATION, ANALYTICS_MEMORY_MB, 2 * AWS_CALL_MS)
    return [
        Line(
            f"Funnel counters: Lambda ({ANALYTICS_MEMORY_MB} MB, "
            f"{ANALYTICS_RECORDS_PER_INVOCATION} clicks per invocation)",
            f"{invocations:,.0f} x ($0.20/M + {ms} ms billed)",
            invocations * (LAMBDA_REQUEST + lambda_duration_usd(ms, ANALYTICS_MEMORY_MB)),
        ),
        Line(
            "Funnel counters: DynamoDB cube writes and suspect clicks' verdicts",
            f"{records:,.0f} x {ANALYTICS_WRU_PER_RECORD} WRU x $0.625/M",
            records * ANALYTICS_WRU_PER_RECORD * DDB_WRU,
        ),
    ]


# Per lead and per sale: measured by bench/sale_path.py (the whole chain on the local stack, per step
# and function: invocations, CPU per invocation, WRU/RRU from item sizes, AWS and outside calls).
SALE_PATH_JSON = Path(__file__).with_name("sale_path.json")
MEMORY_MB = {"RedirectFunction": 128, "DeliveryPageFunction": 128}  # others: 256
AWS_CALL_MS = 10.0  # DynamoDB/SQS/KMS round trip inside the region (assumed)
OUTSIDE_CALL_MS = 250.0  # Telegram Bot API, the PIX gateway, Meta's Graph API from us-east-1 (assumed)
LEAD_STEPS = ("start",)
SALE_STEPS = ("buy", "pay")


def measured_steps(path: Path = SALE_PATH_JSON) -> dict[str, dict[str, dict[str, float]]]:
    return dict(json.loads(path.read_text())["steps"])


def step_lines(steps: dict[str, dict[str, dict[str, float]]], names: tuple[str, ...]) -> list[Line]:
    lines = []
    for step in names:
        for function, m in steps.get(step, {}).items():
            memory = MEMORY_MB.get(function, 256)
            inv = m["invocations"]
            io_ms = (m["aws_calls"] * AWS_CALL_MS + m["outside_calls"] * OUTSIDE_CALL_MS) / max(inv, 1e-9)
            ms = billed_ms(m["cpu_ms"], memory, io_ms)
            usd = (
                inv * (LAMBDA_REQUEST + lambda_duration_usd(ms, memory))
                + inv * LOG_BYTES_PER_INVOCATION / 1e9 * LOGS_INGEST_GB
                + m["wru"] * DDB_WRU
                + m["rru"] * DDB_RRU
                + (m["sqs"] * (1 + SQS_CONSUME_REQUESTS_PER_MESSAGE)) * SQS_REQUEST
                + m["api_requests"] * HTTP_API_REQUEST
            )
            formula = (
                f"{inv:g} inv x {memory} MB x {ms} ms billed ({m['cpu_ms']:g} ms CPU), {m['wru']:g} WRU, "
                f"{m['rru']:g} RRU, {m['sqs']:g} SQS, {m['api_requests']:g} API"
            )
            lines.append(Line(f"{step}: {function}", formula, usd))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redirect-cpu-ms", type=float, default=1.27, help="warm_click.py lambda_handler+sdk mean")
    parser.add_argument("--click-wru", type=int, default=1, help="click_item_size.py: WRU of the p99 click")
    parser.add_argument("--item-bytes", type=int, default=719, help="click_item_size.py: mean click item bytes")
    parser.add_argument("--leads-per-sale", type=float, default=10)
    parser.add_argument("--clicks-per-lead", type=float, default=3)
    args = parser.parse_args(argv)

    clicks = per_million_clicks(args.redirect_cpu_ms, args.click_wru, args.item_bytes)
    total_clicks = sum(line.usd for line in clicks)
    print("| Per million clicks | Formula | USD |\n|---|---|---:|")
    for line in clicks:
        print(f"| {line.item} | {line.formula} | {line.usd:.2f} |")
    print(f"| **Total** | | **{total_clicks:.2f}** |")

    steps = measured_steps()
    sale = step_lines(steps, SALE_STEPS)
    lead = step_lines(steps, LEAD_STEPS)
    per_sale = sum(line.usd for line in sale)
    per_lead = sum(line.usd for line in lead)
    print("\n| Per thousand sales (measured chain) | Per sale | USD per 1,000 sales |\n|---|---|---:|")
    for line in sale:
        print(f"| {line.item} | {line.formula} | {line.usd * 1000:.3f} |")
    print(f"| **Sale's own path** | | **{per_sale * 1000:.3f}** |")
    leads = args.leads_per_sale * 1000
    clicks_n = leads * args.clicks_per_lead
    for line in lead:
        print(f"| {line.item} (x {args.leads_per_sale:g} leads/sale) | {line.formula} | {line.usd * leads:.3f} |")
    print(
        f"| clicks x {args.clicks_per_lead:g}/lead ({clicks_n:,.0f}) | per-click total above | "
        f"{total_clicks / 1e6 * clicks_n:.3f} |"
    )
    full = per_sale * 1000 + per_lead * leads + total_clicks / 1e6 * clicks_n
    print(f"| **Per 1,000 sales incl. their leads and clicks** | | **{full:.3f}** |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
