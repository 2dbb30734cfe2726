"""API Gateway HTTP API (payload format 2.0), locally: path patterns, request events, responses.

What a handler receives here is what it receives behind a real HTTP API, quirks included:
cookies split out of the headers, repeated headers and query parameters comma-joined, bodies of
non-text content types base64-encoded, X-Forwarded-* added by the gateway.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.aws import ACCOUNT
from local.template import HttpRoute

API_ID = "local"
_REQUEST_ID_ALPHABET = string.ascii_letters + string.digits
# Content types HTTP APIs pass as text; everything else (form posts included) arrives base64-encoded.
_TEXT_TYPES = ("application/json", "application/javascript", "application/xml", "application/ecmascript")
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}

INTERNAL_ERROR = (500, [("content-type", "application/json")], b'{"message":"Internal Server Error"}')
NOT_FOUND = (404, [("content-type", "application/json")], b'{"message":"Not Found"}')

HttpResult = tuple[int, list[tuple[str, str]], bytes]


def compile_path(path: str) -> re.Pattern[str]:
    """``/go/{slug}`` → a regex with named groups; ``{name+}`` is greedy (spans slashes)."""
    return HttpRoute("ANY", path).pattern()


def specificity(path: str) -> tuple[int, int, int]:
    """Sort key: API Gateway prefers literal routes, then fewer parameters, greedy ones last."""
    return (path.count("+}"), path.count("{"), -len(path))


@dataclass(frozen=True)
class ClientRequest:
    """An HTTP request as the gateway received it."""

    method: str
    target: str  # path and query exactly as sent
    protocol: str
    headers: list[tuple[str, str]]  # in order, repeats kept
    body: bytes
    source_ip: str
    scheme: str
    port: int

    @property
    def raw_path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def raw_query(self) -> str:
        return self.target.partition("?")[2]


def _joined_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _query_parameters(raw_query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


def _is_text(content_type: str | None) -> bool:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind.startswith("text/") or kind in _TEXT_TYPES or kind.endswith(("+json", "+xml"))


def _request_id() -> str:
    return "".join(secrets.choice(_REQUEST_ID_ALPHABET) for _ in range(15)) + "="


def _trace_id(now: float) -> str:
    return f"Root=1-{int(now):08x}-{secrets.token_hex(12)}"


def _gateway_headers(request: ClientRequest, now: float) -> tuple[dict[str, str], list[str]]:
    """Lowercased, comma-joined headers with the gateway's additions; the cookies taken out."""
    cookie_values = [value for name, value in request.headers if name.lower() == "cookie"]
    headers = _joined_headers((n, v) for n, v in request.headers if n.lower() != "cookie")
    cookies = [part.strip() for value in cookie_values for part in value.split(";") if part.strip()]
    # The gateway appends the caller's address to any X-Forwarded-For it was sent, and sets the rest.
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    headers["x-forwarded-proto"] = request.scheme
    headers["x-forwarded-port"] = str(request.port)
    headers.setdefault("x-amzn-trace-id", _trace_id(now))
    return headers, cookies


def _domain(host: str) -> str:
    """The Host header without its port (``[::1]:3000`` → ``[::1]``)."""
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and (not name.startswith("[") or name.endswith("]")):
        host = name
    return host or "localhost"


def build_event(
    request: ClientRequest, route_key: str, path_params: Mapping[str, str], now: float | None = None
) -> dict[str, Any]:
    """The payload v2.0 event API Gateway would send the route's integration."""
    now = time.time() if now is None else now
    headers, cookies = _gateway_headers(request, now)
    host = _domain(headers.get("host", ""))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        event["queryStringParameters"] = _query_parameters(request.raw_query)
    event["requestContext"] = {
        "accountId": ACCOUNT,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": _request_id(),
        "routeKey": route_key,
        "stage": "$default",
        "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }
    if path_params:
        event["pathParameters"] = {name: unquote(value) for name, value in path_params.items()}
    if request.body:
        text = _is_text(headers.get("content-type"))
        event["body"] = request.body.decode("utf-8", "replace") if text else base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = not text
    else:
        event["isBase64Encoded"] = False
    return event


def _body_bytes(result: Mapping[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        body = json.dumps(body)
    if result.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode()


def to_http(result: Any) -> HttpResult:
    """What the gateway sends the client for a handler's return value (payload 2.0 rules)."""
    if not (isinstance(result, Mapping) and "statusCode" in result):
        # No statusCode: the gateway answers 200 with the value as JSON.
        return 200, [("content-type", "application/json")], json.dumps(result).encode()
    status = int(result["statusCode"])
    if not 100 <= status <= 599:
        raise ValueError(f"bad statusCode {status}")
    headers = [
        (str(name), str(value))
        for name, value in (result.get("headers") or {}).items()
        if str(name).lower() not in _HOP_BY_HOP
    ]
    headers.extend(("set-cookie", str(cookie)) for cookie in result.get("cookies") or [])
    return status, headers, _body_bytes(result)


def gateway_headers(request_id: str) -> list[tuple[str, str]]:
    """Headers the gateway adds to every response."""
    return [("date", formatdate(usegmt=True)), ("apigw-requestid", request_id)]
