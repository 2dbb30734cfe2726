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
SQS_SEND_LATENCY_MS = 15.0  # one SendMessageBatch
LOG_BYTES_PER_INVOCATION = 700  # platform start + report records in JSON format (estimate)
EMF_BYTES_PER_CLICK = 250  # the redirect's one metrics line (ClicksStored/CrawlerVisits), Powertools EMF
REDIRECT_RESPONSE_BYTES = 3100  # bridge page ~2.1 KB + headers incl. CSP + Set-Cookie _fbp/_fbc (~0.2 KB)
CLICK_RESIDENT_DAYS = 11  # 7-day window + 2-day margin + up to ~2 days for TTL deletion
STORAGE_OVERHEAD_BYTES = 100
SQS_CONSUME_REQUESTS_PER_MESSAGE = 0.2  # Lambda receives and deletes in batches of ~10
SQS_MESSAGES_PER_SEND = 10  # the click stream sends the PageViews with SendMessageBatch (10 per request)
# The click stream consumer (ClickStreamFunction, 256 MB): BatchSize 100 with a 1 s batching window;
# at ~10 clicks/s per stream shard that is ~10 clicks per invocation (assumed: more traffic, fuller
# batches; less, smaller ones). DynamoDB Streams reads by a Lambda trigger are not charged, and records
# the filter drops (everything but click INSERTs) cost nothing.
STREAM_CLICKS_PER_INVOCATION = 10
STREAM_CPU_MS_PER_CLICK = 1.0  # sale_path.py measures 0.7 ms for an invocation of one click (upper bound)
# capi_sender for the server PageView: 2 WRU and 1 Graph request per event measured (sale_path.py, "click");
# SQS batches of 10 and ~600 ms billed per batch (one Graph request) assumed.
CAPI_EVENTS_PER_INVOCATION = 10
CAPI_BILLED_MS = 600  # one Graph request per pixel per batch (~300-500 ms) + CPU, at 256 MB
CAPI_WRU_PER_EVENT = 2  # claim the event id + record the outcome (table writes, as sale_path.py counts them)
# The delivery record is in gsi1 (CAPISTATUS#<pixel>#<status>, projection ALL): its claim adds the index
# entry (1 write) and its outcome moves it to another status (a delete and a put: 2 writes).
CAPI_INDEX_WRU_PER_EVENT = 3
CAPI_EGRESS_BYTES_PER_EVENT = 1000
CAPI_RECORD_BYTES = 815  # a sent PageView's CAPI# record (local stack, docs/cost.md)
CAPI_RECORD_RESIDENT_DAYS = 92  # RECORD_RETENTION 90 days + TTL deletion lag
CAPI_LOG_BYTES_PER_INVOCATION = 700 + 400  # platform records + the "conversions batch" info line


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
    the server PageView (click stream consumer, SQS, conversions sender)."""
    clicks = 1e6
    humans = clicks * (1 - BOT_SHARE)
    page_views = humans * PAGEVIEW_SHARE
    stream_invocations = page_views / STREAM_CLICKS_PER_INVOCATION
    capi_invocations = page_views / CAPI_EVENTS_PER_INVOCATION
    redirect_ms = billed_ms(redirect_cpu_ms, 128, DDB_WRITE_LATENCY_MS)
    stream_ms = billed_ms(STREAM_CPU_MS_PER_CLICK * STREAM_CLICKS_PER_INVOCATION, 256, SQS_SEND_LATENCY_MS)
    resident_gb = humans * CLICK_RESIDENT_DAYS / 30 * (item_bytes + STORAGE_OVERHEAD_BYTES) / 1e9
    capi_gb = page_views * CAPI_RECORD_RESIDENT_DAYS / 30 * (CAPI_RECORD_BYTES + STORAGE_OVERHEAD_BYTES) / 1e9
    out_gb = clicks * REDIRECT_RESPONSE_BYTES / 1e9
    sqs_requests = page_views / SQS_MESSAGES_PER_SEND + page_views * SQS_CONSUME_REQUESTS_PER_MESSAGE
    log_gb = (
        (clicks + stream_invocations) * LOG_BYTES_PER_INVOCATION
        + clicks * EMF_BYTES_PER_CLICK
        + capi_invocations * CAPI_LOG_BYTES_PER_INVOCATION
    ) / 1e9
    lambda_requests = clicks + stream_invocations
    return [
        Line("HTTP API requests", f"{clicks:,.0f} x $1.00/M (one per click)", clicks * HTTP_API_REQUEST),
        Line(
            "Lambda requests",
            f"({clicks:,.0f} redirect + {stream_invocations:,.0f} click stream) x $0.20/M",
            lambda_requests * LAMBDA_REQUEST,
        ),
        Line(
            "Lambda duration, redirect (128 MB)",
            f"{clicks:,.0f} x {redirect_ms} ms billed",
            clicks * lambda_duration_usd(redirect_ms, 128),
        ),
        Line(
            f"Lambda duration, click stream (256 MB, {STREAM_CLICKS_PER_INVOCATION} clicks per invocation)",
            f"{stream_invocations:,.0f} x {stream_ms} ms billed",
            stream_invocations * lambda_duration_usd(stream_ms, 256),
        ),
        Line("DynamoDB click PutItem", f"{humans:,.0f} x {click_wru} WRU x $0.625/M", humans * click_wru * DDB_WRU),
        Line(
            "DynamoDB storage + PITR (clicks resident ~11 days)",
            f"{resident_gb:.3f} GB x ($0.25 + $0.20)/GB-month",
            resident_gb * (DDB_STORAGE_GB_MONTH + DDB_PITR_GB_MONTH),
        ),
        Line("DynamoDB Streams reads by the Lambda trigger", "not charged; filtered-out records cost nothing", 0.0),
        Line(
            "SQS server PageView (SendMessageBatch of 10 + batched receive/delete)",
            f"{page_views:,.0f} x (1/{SQS_MESSAGES_PER_SEND} + {SQS_CONSUME_REQUESTS_PER_MESSAGE}) x $0.40/M",
            sqs_requests * SQS_REQUEST,
        ),
        Line(
            "CloudWatch Logs ingestion (platform records, the redirect's EMF line, the sender's batch line)",
            f"{log_gb:.2f} GB x $0.50/GB",
            log_gb * LOGS_INGEST_GB,
        ),
        Line("Data transfer out (responses)", f"{out_gb:.2f} GB x $0.09/GB", out_gb * DATA_OUT_GB),
        Line(
            "capi_sender for the server PageView (batches of 10)",
            f"{capi_invocations:,.0f} inv x 256 MB x {CAPI_BILLED_MS} ms, "
            f"{CAPI_WRU_PER_EVENT} WRU + {CAPI_EGRESS_BYTES_PER_EVENT} B out per event",
            capi_invocations * (LAMBDA_REQUEST + lambda_duration_usd(CAPI_BILLED_MS, 256))
            + page_views * (CAPI_WRU_PER_EVENT * DDB_WRU + CAPI_EGRESS_BYTES_PER_EVENT / 1e9 * DATA_OUT_GB),
        ),
        Line(
            "capi_sender's delivery record: gsi1 index writes",
            f"{page_views:,.0f} x {CAPI_INDEX_WRU_PER_EVENT} WRU x $0.625/M",
            page_views * CAPI_INDEX_WRU_PER_EVENT * DDB_WRU,
        ),
        Line(
            f"capi_sender's delivery record: storage (~{CAPI_RECORD_RESIDENT_DAYS} days, table + gsi1, PITR)",
            f"{capi_gb:.2f} GB x ($0.25 x 2 + $0.20)/GB-month",
            capi_gb * (2 * DDB_STORAGE_GB_MONTH + DDB_PITR_GB_MONTH),
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
