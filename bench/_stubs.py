"""Shared pieces of the benchmarks: paths, the redirect's environment, demo config items, a realistic
click corpus, and two DynamoDB stubs that count every call.

- ``FakeDynamoClient``: stands in for the boto3 client under the real ``funil.adapters.dynamo.Table``,
  so the handler's own serialisation CPU is measured, the SDK's is not (warm CPU budget, docs/architecture.md §8).
- ``install_wire_stub``: keeps the real boto3 client and answers at botocore's ``before-send`` hook,
  so parameter validation, JSON serialisation, SigV4 signing and response parsing all run; only the
  socket is skipped (first-click and memory figures).

Standard library and ``funil`` only: this module is imported inside the cold-import child process.
"""

from __future__ import annotations

import json
import os
import random
import string
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "common"
REDIRECT_DIR = ROOT / "functions" / "redirect"
EVENTS = ROOT / "events"
TABLE_NAME = "AppTable"

# What template.yaml's Globals give the redirect (resolved as the local stack does), plus fake
# credentials so boto3 never looks for real ones.
REDIRECT_ENV = {
    "TABLE_NAME": TABLE_NAME,
    "IDEMPOTENCY_TABLE_NAME": "IdempotencyTable",
    "CONVERSIONS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/ConversionsQueue",
    "POWERTOOLS_SERVICE_NAME": "funil",
    "POWERTOOLS_METRICS_NAMESPACE": "Funil",
    "IP_HASH_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:IpHashKey-bench01",
    "TRUSTED_PROXY_HOPS": "0",
    "LINK_CACHE_SECONDS": "30",
    "CLICK_TTL_MARGIN_DAYS": "2",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_LAMBDA_FUNCTION_NAME": "RedirectFunction",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
}


def use_redirect_env() -> None:
    os.environ.update(REDIRECT_ENV)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


def add_paths() -> None:
    for path in (str(REDIRECT_DIR), str(LAYER)):
        if path not in sys.path:
            sys.path.insert(0, path)


class LambdaContext:
    """The parts of Lambda's context Powertools' ``inject_lambda_context`` reads (the redirect is wrapped)."""

    function_name = "RedirectFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:RedirectFunction"
    memory_limit_in_mb = 128
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/RedirectFunction"
    log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 5000


def redirect_client() -> Any:
    """The real boto3 DynamoDB client the redirect module's ``DEPS`` (``funil.wiring.click``) was built
    with: the container's one cached client."""
    from funil.adapters.dynamo import dynamodb_client

    return dynamodb_client()


# --- configuration: three links of one tenant, as funil.operator.models.*.to_item() writes them -------------

TENANT = "t_bench"
PIXEL_ID = "px_bench"
META_PIXEL_ID = "1234567890123456"
BOTS = (("bot_a", "FunilBenchABot", 3), ("bot_b", "FunilBenchBBot", 1))
# slug -> (has pixel, share of clicks)
LINKS = {"demo": (True, 0.6), "promo-bf": (True, 0.3), "direto": (False, 0.1)}


def config_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {
            "pk": f"PIXEL#{PIXEL_ID}", "sk": "PIXEL", "type": "pixel", "gsi1pk": f"TENANT#{TENANT}",
            "gsi1sk": f"PIXEL#{PIXEL_ID}", "tenant_id": TENANT, "pixel_id": PIXEL_ID,
            "meta_pixel_id": META_PIXEL_ID, "enabled": True, "action_source": "website",
            "events": {"PageView": True, "Lead": True, "InitiateCheckout": True, "Purchase": True},
        },
    ]  # fmt: skip
    for bot_id, username, _ in BOTS:
        items.append(
            {
                "pk": f"BOT#{bot_id}", "sk": "BOT", "type": "bot", "gsi1pk": f"TENANT#{TENANT}",
                "gsi1sk": f"BOT#{bot_id}", "tenant_id": TENANT, "bot_id": bot_id, "username": username,
                "enabled": True, "health": {"status": "healthy"},
            }
        )  # fmt: skip
    for slug, (has_pixel, _) in LINKS.items():
        link: dict[str, Any] = {
            "pk": f"LINK#{slug}", "sk": "LINK", "type": "link", "gsi1pk": f"TENANT#{TENANT}",
            "gsi1sk": f"LINK#{slug}", "tenant_id": TENANT, "slug": slug, "enabled": True,
            "bots": [{"bot_id": bot_id, "weight": weight} for bot_id, _, weight in BOTS],
            "attribution_window_days": 7,
        }  # fmt: skip
        if has_pixel:
            link["pixel_id"] = PIXEL_ID
        items.append(link)
    return items


# --- DynamoDB stubs -------------------------------------------------------------------------------


class _Store:
    """Wire-format config items by key, and a count of every call by operation."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        from funil.adapters.dynamo import serialize

        self.items = {(item["pk"], item["sk"]): serialize(item) for item in items}
        self.calls: Counter[str] = Counter()
        self.reads_by_slug: Counter[str] = Counter()
        self.put_conditions: Counter[str] = Counter()
        self.last_put: dict[str, Any] | None = None

    @staticmethod
    def _key(wire_key: Mapping[str, Any]) -> tuple[str, str]:
        return wire_key["pk"]["S"], wire_key["sk"]["S"]

    def get_item(self, params: Mapping[str, Any]) -> dict[str, Any]:
        self.calls["GetItem"] += 1
        pk, sk = self._key(params["Key"])
        if pk.startswith("LINK#"):
            self.reads_by_slug[pk[5:]] += 1
        item = self.items.get((pk, sk))
        return {"Item": item} if item else {}

    def batch_get_item(self, params: Mapping[str, Any]) -> dict[str, Any]:
        self.calls["BatchGetItem"] += 1
        responses = {}
        for table, request in params["RequestItems"].items():
            found = [self.items[self._key(key)] for key in request["Keys"] if self._key(key) in self.items]
            responses[table] = found
        return {"Responses": responses, "UnprocessedKeys": {}}

    def put_item(self, params: Mapping[str, Any]) -> dict[str, Any]:
        self.calls["PutItem"] += 1
        self.put_conditions[params.get("ConditionExpression", "")] += 1
        self.last_put = dict(params["Item"])  # clicks are counted, not kept: memory stays flat
        return {}

    def other(self, operation: str) -> dict[str, Any]:
        self.calls[operation] += 1
        raise AssertionError(f"unexpected DynamoDB call on the click path: {operation}")


class FakeDynamoClient:
    """The three low-level calls ``funil.adapters.dynamo.Table`` makes on the click path, in memory."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.store = _Store(items)

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self.store.get_item(params)

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return self.store.batch_get_item(params)

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self.store.put_item(params)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda **_: self.store.other(name)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def install_wire_stub(client: Any, items: list[dict[str, Any]]) -> _Store:
    """Answer the real boto3 DynamoDB client's requests in memory, after signing, before the socket."""
    from botocore.awsrequest import AWSResponse

    store = _Store(items)
    handlers = {"GetItem": store.get_item, "BatchGetItem": store.batch_get_item, "PutItem": store.put_item}

    def send(request: Any, **_: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else target).rpartition(".")[2]
        params = json.loads(request.body or b"{}")
        handler = handlers.get(operation)
        answer = handler(params) if handler else store.other(operation)
        body = json.dumps(answer).encode()
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "bench"}
        return AWSResponse(request.url, 200, headers, _Raw(body))

    client.meta.events.register("before-send.dynamodb", send)
    return store


BENCH_IP_HASH_KEY = "bench-ip-hash-key-not-for-production-0123456789"


def install_secret_stub() -> None:
    """Answer the redirect's Secrets Manager client (the IP hash key, read once per container and
    then every few minutes) in memory, after signing, before the socket."""
    from botocore.awsrequest import AWSResponse
    from funil.adapters.secrets_manager import secrets_provider

    def send(request: Any, **_: Any) -> Any:
        body = json.dumps({"ARN": REDIRECT_ENV["IP_HASH_SECRET_ARN"], "Name": "IpHashKey",
                           "VersionId": "bench", "SecretString": BENCH_IP_HASH_KEY}).encode()  # fmt: skip
        headers = {"content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "bench"}
        return AWSResponse(request.url, 200, headers, _Raw(body))

    secrets_provider().client.meta.events.register("before-send.secretsmanager", send)


# --- the click corpus -------------------------------------------------------------------------------

_B64URL = string.ascii_letters + string.digits + "-_"
IOS_VERSIONS = ("16_7_10", "17_4", "17_5_1", "17_6_1", "18_0_1", "18_1", "18_2", "18_3_2", "18_5")
IPHONES = (
    ("iPhone12,1", "828x1792", "2.00"), ("iPhone13,2", "1170x2532", "3.00"), ("iPhone14,5", "1170x2532", "3.00"),
    ("iPhone14,7", "1170x2532", "3.00"), ("iPhone15,2", "1179x2556", "3.00"), ("iPhone15,4", "1179x2556", "3.00"),
    ("iPhone16,1", "1179x2556", "3.00"), ("iPhone16,2", "1290x2796", "3.00"), ("iPhone17,3", "1206x2622", "3.00"),
)  # fmt: skip
ANDROIDS = (
    ("13", "SM-A145M", "TP1A.220624.014"), ("14", "SM-A546E", "UP1A.231005.007"),
    ("14", "SM-S918B", "UP1A.231005.007"), ("13", "moto g54 5G", "T1TDS33.22-28-5"),
    ("14", "moto g84 5G", "U1TCS34.40-74-3"), ("12", "M2101K6G", "SKQ1.210908.001"),
    ("14", "23129RAA4G", "UKQ1.231003.002"), ("15", "SM-A356E", "AP3A.240905.015.A2"),
    ("13", "SM-A235M", "TP1A.220624.014"),
)  # fmt: skip
CHROME_VERSIONS = ("129.0.6668.100", "130.0.6723.107", "131.0.6778.39", "131.0.6778.135", "132.0.6834.79")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _ig_version(rng: random.Random) -> str:
    return f"{rng.randint(320, 360)}.0.0.{rng.randint(10, 60)}.{rng.randint(60, 120)}"


def user_agent(kind: str, rng: random.Random) -> str:
    """A realistic User-Agent of ``kind``, with the version/device/build variety of real traffic."""
    ios = rng.choice(IOS_VERSIONS)
    model, res, scale = rng.choice(IPHONES)
    av, device, build = rng.choice(ANDROIDS)
    chrome = rng.choice(CHROME_VERSIONS)
    android_wv = (
        f"Mozilla/5.0 (Linux; Android {av}; {device} Build/{build}; wv) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Version/4.0 Chrome/{chrome} Mobile Safari/537.36"
    )
    if kind == "ig_ios":
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Mobile/15E148 Instagram {_ig_version(rng)} ({model}; iOS {ios}; pt_BR; pt; scale={scale}; {res}; "
            f"{_digits(rng, 9)})"
        )
    if kind == "ig_android":
        return (
            f"{android_wv} Instagram {_ig_version(rng)} Android ({int(av) + 20}/{av}; 420dpi; 1080x2340; "
            f"samsung; {device}; a14; mt6769; pt_BR; {_digits(rng, 9)})"
        )
    if kind == "fb_android":
        return (
            f"{android_wv} [FB_IAB/FB4A;FBAV/{rng.randint(470, 500)}.0.0.{rng.randint(10, 80)}.{rng.randint(10, 120)};]"
        )
    if kind == "fb_ios":
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Mobile/15E148 [FBAN/FBIOS;FBAV/{rng.randint(470, 500)}.0.0.{rng.randint(30, 60)}.{rng.randint(60, 120)};"
            f"FBBV/{_digits(rng, 9)};FBDV/{model};FBMD/iPhone;FBSN/iOS;FBSV/{ios.replace('_', '.')};FBSS/3;"
            f"FBID/phone;FBLC/pt_BR;FBOP/5;FBRV/{_digits(rng, 9)}]"
        )
    if kind == "tiktok":
        app = f"{rng.randint(34, 38)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"
        return (
            f"{android_wv} trill_{app.replace('.', '')}0 JsSdk/1.0 NetType/{rng.choice(('WIFI', '4G', '5G'))} "
            f"Channel/googleplay AppName/musical_ly app_version/{app} ByteLocale/pt-BR ByteFullLocale/pt-BR "
            f"Region/BR AppId/1233 Spark/1.5.9.1 AppVersion/{app} BytedanceWebview/d8a21c6"
        )
    if kind == "desktop_chrome":
        major = chrome.split(".", 1)[0]
        platform = rng.choice(("Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64"))
        return f"Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"
    if kind == "bot":
        return rng.choice(BOT_USER_AGENTS)
    raise ValueError(kind)


BOT_USER_AGENTS = (
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
    "TelegramBot (like TwitterBot)",
    "WhatsApp/2.23.20.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_1) AppleWebKit/600.2.5 (KHTML, like Gecko) Version/8.0.2 "
    "Safari/600.2.5 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
)
# Share of each visitor kind in ad traffic (Instagram-heavy, ~5 % automated).
UA_MIX = (
    ("ig_ios", 0.33), ("ig_android", 0.20), ("fb_android", 0.15), ("fb_ios", 0.08),
    ("tiktok", 0.10), ("desktop_chrome", 0.09), ("bot", 0.05),
)  # fmt: skip


def _fbclid(rng: random.Random) -> str:
    core = "IwZXh0bgNhZW0BMABhZGlkA" + "".join(rng.choice(_B64URL) for _ in range(rng.randint(30, 60)))
    return core + ("_aem_" + "".join(rng.choice(_B64URL) for _ in range(22)) if rng.random() < 0.7 else "")


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.55:
        groups = (rng.randint(0x100, 0xFFFF), rng.randint(0, 0xFFFF), rng.randint(0, 0xFFFF), rng.randint(1, 0xFFFF))
        return "2804:{:x}:{:x}:{:x}::{:x}".format(*groups)
    first = rng.choice((177, 179, 187, 189, 191, 200, 201))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def base_event() -> dict[str, Any]:
    return json.loads((EVENTS / "redirect_get.json").read_text())


def make_event(rng: random.Random, kind: str, slug: str, template: Mapping[str, Any]) -> dict[str, Any]:
    """``events/redirect_get.json`` with this visitor's UA, query string, cookies and address."""
    event = json.loads(json.dumps(template))
    ua = user_agent(kind, rng)
    ip = _ip(rng)
    campaign = rng.choice(("black_friday", "vip_novembro", "lancamento_v2", "remarketing_7d", "{{campaign.name}}"))
    query: list[tuple[str, str]] = [
        ("utm_source", rng.choice(("facebook", "instagram", "ig", "fb", "tiktok"))),
        ("utm_medium", rng.choice(("paid", "cpc", "paid_social"))),
        ("utm_campaign", campaign),
        ("utm_content", f"video_{rng.randint(1, 40)}"),
        ("utm_term", rng.choice(("vip", "lookalike_1", "aberto", "interesses"))),
        ("campaign_id", f"1202{_digits(rng, 14)}"),
        ("adset_id", f"1202{_digits(rng, 14)}"),
        ("ad_id", f"1202{_digits(rng, 14)}"),
        ("placement", rng.choice(("Instagram_Stories", "Instagram_Feed", "Facebook_Mobile_Feed", "Instagram_Reels"))),
        ("site_source_name", rng.choice(("ig", "fb", "an"))),
    ]
    if kind != "desktop_chrome" or rng.random() < 0.5:
        query.append(("fbclid", _fbclid(rng)))
    if kind == "tiktok":
        query.append(("ttclid", "E_C_P_" + "".join(rng.choice(_B64URL) for _ in range(60))))
    rng.shuffle(query)
    cookies = []
    if rng.random() < 0.4:
        cookies.append(f"_fbp=fb.1.{rng.randint(1_730_000_000_000, 1_795_000_000_000)}.{_digits(rng, 10)}")
    if rng.random() < 0.15:
        cookies.append(f"_fbc=fb.1.{rng.randint(1_730_000_000_000, 1_795_000_000_000)}.{_fbclid(rng)}")
    headers = dict(event["headers"])
    headers.update(
        {
            "user-agent": ua,
            "x-forwarded-for": ip,
            "accept-language": rng.choice(("pt-BR,pt;q=0.9,en-US;q=0.8", "pt-BR", "pt-BR,pt;q=0.9", "en-US,en;q=0.9")),
            "referer": rng.choice(
                ("https://l.instagram.com/", "https://lm.facebook.com/", "https://www.tiktok.com/", "")
            ),
        }
    )
    event.update(
        {
            "rawPath": f"/go/{slug}",
            "rawQueryString": urlencode(query),
            "queryStringParameters": dict(query),
            "cookies": cookies,
            "headers": {name: value for name, value in headers.items() if value},
            "pathParameters": {"slug": slug},
        }
    )
    event["requestContext"]["http"].update({"path": f"/go/{slug}", "sourceIp": ip, "userAgent": ua})
    return event


def corpus(size: int, seed: int = 2026) -> list[tuple[str, dict[str, Any]]]:
    """``size`` (kind, event) pairs drawn with the mixes above; deterministic for a seed."""
    rng = random.Random(seed)
    template = base_event()
    kinds = [kind for kind, _ in UA_MIX]
    kind_weights = [share for _, share in UA_MIX]
    slugs = list(LINKS)
    slug_weights = [share for _, share in LINKS.values()]
    out = []
    for _ in range(size):
        kind = rng.choices(kinds, kind_weights)[0]
        slug = rng.choices(slugs, slug_weights)[0]
        out.append((kind, make_event(rng, kind, slug, template)))
    return out
