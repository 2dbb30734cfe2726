"""Telegram ``/start <token>`` → reply against docs/architecture.md §8 (≤ 4 network calls, warm CPU ≤ 15 ms),
and the cold import of the webhook's handler module.

Warm: ``functions/telegram_webhook/app.lambda_handler`` (the real module, its real boto3 clients and
python-telegram-bot) takes API Gateway v2 events built from ``events/telegram_start.json``, one
distinct Telegram user per update. Nothing opens a socket:

- AWS: each boto3 client (DynamoDB, SQS, KMS) is answered at botocore's ``before-send`` hook by a
  small in-memory table/queue/key (validation, serialisation, SigV4 signing and response parsing
  all run);
- Bot API: the adapter's shared ``HTTPXRequest`` gets an ``httpx.MockTransport`` answered by the fake
  Bot API (``local/fakes/telegram_api.py``), which checks every call against the Bot API oracle.

The CPU the stubs themselves spend (the fake's spec validation, the in-memory table) is timed and
subtracted, so the figure is the handler's: our code + boto3 + PTB/httpx. Every call is counted by
kind per update. Cases, each on fresh users after a warm-up: a new lead from a real click (Lead
event sent), the same users returning through a second click (no Lead event), organic starts.

Cold: ``import app`` of the webhook in fresh ``python -B`` interpreters with an empty
``PYTHONPYCACHEPREFIX`` (bench/cold_import.py's runner), against ``import boto3;
boto3.client("dynamodb")``, plus peak RSS and the modules the webhook adds over the baseline.

Why an earlier draft of this script hung: it ran /start against moto in-process, and moto's
``transact_write_items`` deep-copies the whole table once per transaction item (a rollback
backup), so each /start (a 3-item transaction) cost O(table) time and memory: with a few hundred
leads, clicks and touches it crawled and grew to gigabytes. In-memory answers at the transport level
keep the run to seconds and the figures free of the fake's cost.

Usage: python bench/telegram_start.py [--starts 600] [--warmup 100] [--runs 9] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import secrets
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT / "layers" / "common"), str(ROOT)]

import _stubs  # noqa: E402
import cold_import  # noqa: E402

WEBHOOK_DIR = ROOT / "functions" / "telegram_webhook"
CPU_BUDGET_MS = 15.0
CALLS_BUDGET = 4
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/"

# template.yaml's Globals and the function's own variables, with fake credentials.
WEBHOOK_ENV = {
    **_stubs.REDIRECT_ENV,
    "AWS_LAMBDA_FUNCTION_NAME": "TelegramWebhookFunction",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "DELIVERY_QUEUE_URL": QUEUE + "DeliveryQueue",
    "TELEGRAM_API_BASE_URL": "https://api.telegram.org",
    "BOT_CACHE_SECONDS": "30",
}


# -- AWS in memory, at the wire -----------------------------------------------------------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class ConditionFailed(Exception):
    pass


_ASSIGN = re.compile(r"\s*([#\w]+)\s*=\s*(.+)")
_IF_NOT_EXISTS = re.compile(r"if_not_exists\(\s*([#\w]+)\s*,\s*(:\w+)\s*\)")


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    return [*parts, text[start:]]


class MemoryAws:
    """The DynamoDB/SQS/KMS operations of the webhook, answered in memory, every call counted.

    DynamoDB keeps deserialised items; ``SET`` update expressions (``=``, ``if_not_exists``, ``+``)
    are evaluated, and conditions only as far as the start path needs (the key's existence and the
    update marker's ``status``): enough that a returning lead reads back what its first start wrote.
    """

    def __init__(self) -> None:
        from funil.adapters.dynamo import deserialize, serialize

        self.serialize, self.deserialize = serialize, deserialize
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.sent: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.stub_cpu_ns = 0

    def install(self, client: Any, service: str) -> None:
        client.meta.events.register(f"before-send.{service}", self._send)

    def _send(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        c0 = time.process_time_ns()
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else target).rpartition(".")[2]
        self.calls.append(operation)
        params = json.loads(request.body or b"{}")
        status, answer = 200, getattr(self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", operation).lower())(params)
        if isinstance(answer, ConditionFailed):
            status, answer = 400, json.loads(str(answer))
        body = json.dumps(answer).encode()
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "bench"}
        self.stub_cpu_ns += time.process_time_ns() - c0
        return AWSResponse(request.url, status, headers, _Raw(body))  # type: ignore[arg-type]

    # DynamoDB

    def _key(self, wire: dict[str, Any]) -> tuple[str, str]:
        return wire["pk"]["S"], wire["sk"]["S"]

    def _check(self, params: dict[str, Any], key: tuple[str, str]) -> None:
        """The start path's conditions: ``a OR b`` of ``attribute_(not_)exists(pk)`` and ``name = :v``."""
        condition = params.get("ConditionExpression")
        if not condition:
            return
        existing = self.items.get(key)
        names = params.get("ExpressionAttributeNames") or {}
        values = self.deserialize(params.get("ExpressionAttributeValues") or {})

        def holds(term: str) -> bool:
            term = term.strip()
            if term == "attribute_not_exists(pk)":
                return existing is None
            if term == "attribute_exists(pk)":
                return existing is not None
            name, _, value = (part.strip() for part in term.partition(" = "))
            if not value.startswith(":"):
                raise NotImplementedError(condition)
            return existing is not None and existing.get(names.get(name, name)) == values[value]

        if not any(holds(term) for term in condition.split(" OR ")):
            raise ConditionFailed(key)

    def _failed(self, reasons: list[str] | None = None) -> ConditionFailed:
        if reasons is None:
            kind = "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
            return ConditionFailed(json.dumps({"__type": kind, "message": "The conditional request failed"}))
        kind = "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
        cancelled = {"__type": kind, "Message": "Transaction cancelled"}
        return ConditionFailed(json.dumps({**cancelled, "CancellationReasons": [{"Code": code} for code in reasons]}))

    def _put_item(self, params: dict[str, Any]) -> Any:
        item = self.deserialize(params["Item"])
        try:
            self._check(params, (item["pk"], item["sk"]))
        except ConditionFailed:
            return self._failed()
        self.items[(item["pk"], item["sk"])] = item
        return {}

    def _apply_update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = self._key(params["Key"])
        self._check(params, key)
        names = params.get("ExpressionAttributeNames") or {}
        values = self.deserialize(params.get("ExpressionAttributeValues") or {})
        expression = params["UpdateExpression"]
        if not expression.startswith("SET "):
            raise NotImplementedError(expression)
        item = dict(self.items.get(key) or {"pk": key[0], "sk": key[1]})

        def value(term: str) -> Any:
            term = term.strip()
            if " + " in term:
                left, right = term.rsplit(" + ", 1)
                return value(left) + value(right)
            found = _IF_NOT_EXISTS.fullmatch(term)
            if found:
                name = names.get(found[1], found[1])
                return item[name] if name in item else values[found[2]]
            return values[term]

        for assignment in _split_top(expression[4:]):
            match = _ASSIGN.fullmatch(assignment)
            if match is None:
                raise NotImplementedError(assignment)
            target = str(match[1])
            item[names.get(target, target)] = value(match[2])
        self.items[key] = item
        return item

    def _update_item(self, params: dict[str, Any]) -> Any:
        try:
            item = self._apply_update(params)
        except ConditionFailed:
            return self._failed()
        return {"Attributes": self.serialize(item)} if params.get("ReturnValues") == "ALL_NEW" else {}

    def _get_item(self, params: dict[str, Any]) -> Any:
        item = self.items.get(self._key(params["Key"]))
        return {"Item": self.serialize(item)} if item else {}

    def _batch_get_item(self, params: dict[str, Any]) -> Any:
        responses = {
            table: [self.serialize(self.items[k]) for k in map(self._key, request["Keys"]) if k in self.items]
            for table, request in params["RequestItems"].items()
        }
        return {"Responses": responses, "UnprocessedKeys": {}}

    def _query(self, params: dict[str, Any]) -> Any:
        if params.get("KeyConditionExpression") != "pk = :pk" or params.get("IndexName"):
            raise NotImplementedError(params.get("KeyConditionExpression"))
        pk = self.deserialize(params["ExpressionAttributeValues"])[":pk"]
        found = [self.serialize(item) for (item_pk, _), item in sorted(self.items.items()) if item_pk == pk]
        return {"Items": found, "Count": len(found), "ScannedCount": len(found)}

    def _transact_write_items(self, params: dict[str, Any]) -> Any:
        staged = dict(self.items)
        reasons: list[str] = []
        for entry in params["TransactItems"]:
            try:
                if "Put" in entry:
                    put = entry["Put"]
                    item = self.deserialize(put["Item"])
                    self._check(put, (item["pk"], item["sk"]))
                    self.items[(item["pk"], item["sk"])] = item
                else:
                    self._apply_update(entry["Update"])
                reasons.append("None")
            except ConditionFailed:
                reasons.append("ConditionalCheckFailed")
        if any(reason != "None" for reason in reasons):
            self.items = staged
            return self._failed(reasons)
        return {}

    # SQS and KMS

    def _send_message(self, params: dict[str, Any]) -> Any:
        self.sent.append({"queue": params["QueueUrl"].rsplit("/", 1)[-1], "body": json.loads(params["MessageBody"])})
        return {"MessageId": f"m-{len(self.sent)}", "MD5OfMessageBody": "-"}

    def _encrypt(self, params: dict[str, Any]) -> Any:  # the "ciphertext" is the plaintext: no crypto here
        return {"CiphertextBlob": params["Plaintext"], "KeyId": params["KeyId"]}

    def _decrypt(self, params: dict[str, Any]) -> Any:
        return {"Plaintext": params["CiphertextBlob"], "KeyId": "bench-key"}


# -- the warm run ---------------------------------------------------------------------------------------


def load_webhook() -> Any:
    spec = importlib.util.spec_from_file_location("telegram_webhook_app", WEBHOOK_DIR / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def warm(starts: int, warmup: int, organic: int) -> dict[str, Any]:  # noqa: PLR0915 - one scenario, in order
    os.environ.update(WEBHOOK_ENV)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    import httpx
    from funil.adapters import telegram as telegram_adapter
    from funil.adapters.kms import kms_client
    from funil.adapters.sqs import sqs_client
    from funil.click.fields import click_item_from_fields
    from funil.clock import iso, to_epoch_s
    from telegram.request import HTTPXRequest

    from local.fakes.telegram_api import FakeTelegramApi
    from local.handlers import LambdaContext
    from local.seed import seed_demo
    from local.template import load

    app = load_webhook()
    context = LambdaContext(load().functions["TelegramWebhookFunction"], "bench")
    aws = MemoryAws()
    aws.install(app.DEPS.table.client, "dynamodb")
    aws.install(sqs_client(), "sqs")
    aws.install(kms_client(), "kms")
    seed = seed_demo(app.DEPS.table, "bench-key")
    bot = seed.bots[0]

    fake = FakeTelegramApi()
    fake.register_bot(bot["token"], bot["id"], bot["username"])
    telegram_calls: list[str] = []
    fake_cpu_ns = [0]

    def answer(request: httpx.Request) -> httpx.Response:
        c0 = time.process_time_ns()
        telegram_calls.append(request.url.path.rsplit("/", 1)[-1])
        response = fake.handle(request)
        fake_cpu_ns[0] += time.process_time_ns() - c0
        return response

    # The adapter's own request settings, only the transport replaced.
    telegram_adapter.use_request(HTTPXRequest(httpx_kwargs={"transport": httpx.MockTransport(answer)}))

    template = json.loads((ROOT / "events" / "telegram_start.json").read_text())
    update_ids = iter(range(900_000_001, 2_000_000_000))
    now = datetime.now(UTC)

    def click(token: str) -> None:
        at = now - timedelta(minutes=3)
        ends = at + timedelta(days=7)
        app.DEPS.table.put(
            click_item_from_fields({  # stored as the redirect stores it (compact)
                "token": token,
                "tenant_id": seed.tenant_id, "link_slug": seed.link_slug, "bot_id": bot["id"],
                "pixel_id": seed.pixel_id, "clicked_at": iso(at), "clicked_at_ms": int(at.timestamp() * 1000),
                "attribution_ends_at": iso(ends), "expires_at": to_epoch_s(ends + timedelta(days=2)),
                "fbc": f"fb.1.{int(at.timestamp() * 1000)}.IwAR{token}", "fbp": "fb.1.1700000000000.1234567890",
                "ip": "2804:14c:1234:5678::1", "ip_anon": "2804:14c:1234::",
                "user_agent": "Mozilla/5.0 (Linux; Android 14; SM-A546E) Instagram 352.0.0.38.93 Android",
                "accept_language": "pt-BR,pt;q=0.9", "utm": {"utm_source": "facebook", "utm_campaign": "bf"},
                "ad": {"campaign_id": "120200000000001", "adset_id": "120200000000002", "ad_id": "120200000000003"},
                "geo": {"country": "BR", "region": "SP", "city": "Sao Paulo"},
            })
        )  # fmt: skip

    def event(user_id: int, token: str | None) -> dict[str, Any]:
        text = f"/start {token}" if token else "/start"
        sender = {"id": user_id, "is_bot": False, "first_name": "Maria", "last_name": "Souza",
                  "username": f"maria_{user_id}", "language_code": "pt-br"}  # fmt: skip
        update = {
            "update_id": next(update_ids),
            "message": {
                "message_id": 1, "from": sender, "chat": {"id": user_id, "type": "private", "first_name": "Maria"},
                "date": int(time.time()), "text": text, "entities": [{"offset": 0, "length": 6, "type": "bot_command"}],
            },
        }  # fmt: skip
        body = json.dumps(update, ensure_ascii=False)
        built: dict[str, Any] = json.loads(json.dumps(template))
        built["pathParameters"] = {"bot_id": bot["id"]}
        built["rawPath"] = built["requestContext"]["http"]["path"] = f"/tg/{bot['id']}"
        built["headers"]["x-telegram-bot-api-secret-token"] = bot["webhook_secret"]
        built["headers"]["content-length"] = str(len(body.encode()))
        built["body"] = body
        return built

    def run(case: str, users: Sequence[tuple[int, str | None]]) -> dict[str, Any]:
        cpu_ms: list[float] = []
        per_update: list[tuple[str, ...]] = []
        outcomes: Counter[str] = Counter()
        for user_id, token in users:
            built = event(user_id, token)  # built outside the timed span
            aws.calls.clear()
            telegram_calls.clear()
            stub0, fake0 = aws.stub_cpu_ns, fake_cpu_ns[0]
            c0 = time.process_time_ns()
            response = app.lambda_handler(built, context)
            c1 = time.process_time_ns()
            stubs_ns = (aws.stub_cpu_ns - stub0) + (fake_cpu_ns[0] - fake0)
            if response["statusCode"] != 200:
                raise RuntimeError(f"{case}: {response}")
            outcomes[json.loads(response["body"]).get("outcome", "?")] += 1
            cpu_ms.append((c1 - c0 - stubs_ns) / 1e6)
            per_update.append((*aws.calls, *(f"bot:{method}" for method in telegram_calls)))
        kinds = Counter(call for calls in per_update for call in calls)
        return {
            "case": case,
            "updates": len(cpu_ms),
            "outcomes": dict(outcomes),
            "cpu_ms": {
                "mean": statistics.fmean(cpu_ms),
                "p50": _quantile(cpu_ms, 0.5),
                "p90": _quantile(cpu_ms, 0.9),
                "p99": _quantile(cpu_ms, 0.99),
                "max": max(cpu_ms),
            },
            "calls_per_update": dict(sorted(Counter(len(calls) for calls in per_update).items())),
            "calls_by_kind_per_update": {kind: count / len(per_update) for kind, count in kinds.most_common()},
            "max_calls": max(len(calls) for calls in per_update),
            "first_update_calls": list(per_update[0]),
        }

    def tokens(count: int) -> list[str]:
        made = [secrets.token_urlsafe(16) for _ in range(count)]  # 22 chars, like the redirect's
        for token in made:
            click(token)
        return made

    first_user = 5_550_000_001
    warm_users = [(first_user + index, token) for index, token in enumerate(tokens(warmup))]
    # Its first update is the container's first: the bot's Query and two KMS decrypts, then cached.
    first = run("warm-up (first of container)", warm_users)
    users = [first_user + warmup + index for index in range(starts)]
    results = [
        run("new lead, attributed click", list(zip(users, tokens(starts), strict=True))),
        run("returning lead, new click", list(zip(users, tokens(starts), strict=True))),
        run("organic (no token)", [(first_user + warmup + starts + index, None) for index in range(organic)]),
    ]
    lead_events = [m for m in aws.sent if m["queue"] == "ConversionsQueue"]
    checks = {
        "bot_api_violations": len(fake.violations),
        "lead_events_sent": len(lead_events),
        "leads_written": sum(1 for (pk, sk) in aws.items if sk == "LEAD"),
        "attributed_leads": sum(1 for (pk, sk), item in aws.items.items() if sk == "LEAD" and item.get("attributed")),
        "touches_written": sum(1 for (pk, sk) in aws.items if sk.startswith("TOUCH#")),
        "send_message_calls": len(fake.sent("sendMessage")),
    }
    return {"first_update_calls": first["first_update_calls"], "warm": results, "checks": checks}


# -- the cold import ----------------------------------------------------------------------------------

WEBHOOK_CODE = """
import sys, time, resource, json
sys.path[:0] = [{webhook_dir!r}, {layer!r}]
t0 = time.perf_counter(); c0 = time.process_time()
import app
t1 = time.perf_counter(); c1 = time.process_time()
print(json.dumps({{"import_ms": (t1 - t0) * 1e3, "import_cpu_ms": (c1 - c0) * 1e3,
                   "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def cold(runs: int, importtime_runs: int, top: int) -> dict[str, Any]:
    code = WEBHOOK_CODE.format(webhook_dir=str(WEBHOOK_DIR), layer=str(_stubs.LAYER))
    env = dict(WEBHOOK_ENV)
    checks = {
        "pyc_reads_baseline": cold_import.pyc_reads(cold_import.BASELINE_CODE, env),
        "pyc_reads_webhook": cold_import.pyc_reads(code, env),
    }
    samples: dict[str, list[dict[str, Any]]] = {"baseline": [], "webhook": []}
    for index in range(runs):
        order = [("baseline", cold_import.BASELINE_CODE), ("webhook", code)]
        for name, child in order if index % 2 == 0 else reversed(order):
            samples[name].append(cold_import.run_child(child, (), env)[0])
    base_prof = cold_import.importtime_profile(cold_import.BASELINE_CODE, importtime_runs, env)
    prof = cold_import.importtime_profile(code, importtime_runs, env)
    by_package: defaultdict[str, float] = defaultdict(float)
    for name, row in prof.items():
        if name not in base_prof:
            by_package[cold_import.top_level(name)] += row["self_ms"]
    base_ms = [s["import_ms"] for s in samples["baseline"]]
    hook_ms = [s["import_ms"] for s in samples["webhook"]]
    return {
        "runs": runs,
        "checks": checks,
        "baseline_ms": cold_import.stats(base_ms),
        "webhook_ms": cold_import.stats(hook_ms),
        "webhook_cpu_ms_median": statistics.median(s["import_cpu_ms"] for s in samples["webhook"]),
        "ratio_median": statistics.median(hook_ms) / statistics.median(base_ms),
        "rss_mb": {
            "baseline": statistics.median(s["rss_kb"] for s in samples["baseline"]) / 1024,
            "webhook": statistics.median(s["rss_kb"] for s in samples["webhook"]) / 1024,
        },
        "webhook_only_self_ms_by_package": {
            name: ms for name, ms in sorted(by_package.items(), key=lambda item: -item[1])[:top] if ms >= 0.5
        },
        "webhook_only_self_ms_total": sum(by_package.values()),
        "app_cumulative_ms": prof.get("app", {}).get("cumulative_ms"),
    }


# -- report -----------------------------------------------------------------------------------------


def render(report: dict[str, Any]) -> str:
    lines = [
        f"budget (docs/architecture.md §8): /start -> reply <= {CALLS_BUDGET} network calls, "
        f"warm CPU <= {CPU_BUDGET_MS} ms"
    ]
    if "warm" in report:
        lines += ["", f"{'case':<28}{'n':>5}{'mean':>8}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}  calls  verdict"]
        for row in report["warm"]:
            cpu = row["cpu_ms"]
            ok = cpu["p99"] <= CPU_BUDGET_MS and row["max_calls"] <= CALLS_BUDGET
            lines.append(
                f"{row['case']:<28}{row['updates']:>5}{cpu['mean']:>8.2f}{cpu['p50']:>8.2f}{cpu['p90']:>8.2f}"
                f"{cpu['p99']:>8.2f}{cpu['max']:>8.2f}  {row['max_calls']:>5}  {'ok' if ok else 'OVER'}"
            )
            kinds = ", ".join(f"{kind} {per:.3g}" for kind, per in row["calls_by_kind_per_update"].items())
            lines.append(f"    calls per update {row['calls_per_update']}; by kind (per update): {kinds}")
            lines.append(f"    outcomes {row['outcomes']}")
        lines += [
            "",
            f"the container's first update: {', '.join(report['first_update_calls'])}",
            f"checks: {report['checks']}",
        ]
    if "cold" in report:
        c = report["cold"]
        lines += [
            "",
            f"cold import without .pyc ({c['runs']} alternating runs; bytecode reads {c['checks']}):",
            f"  baseline boto3+client: median {c['baseline_ms']['median']:.0f} ms (p90 {c['baseline_ms']['p90']:.0f})",
            f"  telegram_webhook app: median {c['webhook_ms']['median']:.0f} ms (p90 {c['webhook_ms']['p90']:.0f}), "
            f"CPU {c['webhook_cpu_ms_median']:.0f} ms, ratio {c['ratio_median']:.2f}",
            f"  peak RSS: baseline {c['rss_mb']['baseline']:.1f} MB, webhook {c['rss_mb']['webhook']:.1f} MB "
            "(budget 256 MB)",
            f"  self time of modules the webhook adds ({c['webhook_only_self_ms_total']:.0f} ms): "
            + ", ".join(f"{name} {ms:.1f}" for name, ms in c["webhook_only_self_ms_by_package"].items()),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=600, help="new leads, then the same users returning")
    parser.add_argument("--organic", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9, help="cold import runs per side (0: skip)")
    parser.add_argument("--importtime-runs", type=int, default=3)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--skip-warm", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if args.runs:  # first: a child's ru_maxrss starts at its parent's RSS, which the warm run grows
        report["cold"] = cold(args.runs, args.importtime_runs, args.top)
    if not args.skip_warm:
        report.update(warm(args.starts, args.warmup, args.organic))
    if args.json:
        print(json.dumps(report, indent=2, default=lambda v: float(v) if isinstance(v, Decimal) else str(v)))
    else:
        print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
