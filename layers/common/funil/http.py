"""Reading API Gateway HTTP API (payload v2.0) events and shaping their responses."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

Event = Mapping[str, Any]
Response = dict[str, Any]

MAX_QUERY_LENGTH = 8192
MAX_BODY_BYTES = 16 * 1024
GZIP_MIN_BYTES = 1024  # below this, gzip's framing and the CPU buy little
GZIP_LEVEL = 6  # zlib's default: the bridge page (~2 KB) shrinks to about half in tens of microseconds

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-robots-tag": "noindex, nofollow",
}


def header(event: Event, name: str) -> str | None:
    """A request header; HTTP API lowercases names and joins repeated headers with commas."""
    headers = event.get("headers") or {}
    value = headers.get(name.lower())
    return value if isinstance(value, str) else None


def cookies(event: Event) -> dict[str, str]:
    """Request cookies. Payload v2 moves them to ``cookies``; a raw Cookie header is read too."""
    raw: list[str] = list(event.get("cookies") or [])
    cookie_header = header(event, "cookie")
    if cookie_header:
        raw.extend(cookie_header.split(";"))
    jar: dict[str, str] = {}
    for part in raw:
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in jar:
            jar[name] = value.strip().strip('"')
    return jar


def query_pairs(event: Event) -> list[tuple[str, str]]:
    """Query parameters in order, decoded once, from the raw query string (values kept exact)."""
    raw = event.get("rawQueryString") or ""
    if not isinstance(raw, str):
        return []
    return parse_qsl(raw[:MAX_QUERY_LENGTH], keep_blank_values=False)


def path_parameter(event: Event, name: str) -> str | None:
    value = (event.get("pathParameters") or {}).get(name)
    return value if isinstance(value, str) else None


def source_ip(event: Event) -> str | None:
    value = ((event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
    return value if isinstance(value, str) and value else None


def body_bytes(event: Event, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The request body, or None when it is missing, undecodable or larger than ``limit``."""
    body = event.get("body")
    if not isinstance(body, str):
        return None
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    else:
        data = body.encode("utf-8", "surrogatepass")
    return data if len(data) <= limit else None


def response(
    status: int,
    body: str = "",
    content_type: str = "text/plain; charset=utf-8",
    headers: Mapping[str, str] | None = None,
    cookies: Sequence[str] = (),
) -> Response:
    """A payload v2.0 response. ``cookies`` are ``Set-Cookie`` values: API Gateway sends one header each
    (a ``headers`` mapping can hold only one ``set-cookie``)."""
    merged = {"content-type": content_type, "cache-control": "no-store", **SECURITY_HEADERS}
    if headers:
        merged.update(headers)
    shaped: Response = {"statusCode": status, "headers": merged, "body": body, "isBase64Encoded": False}
    if cookies:
        shaped["cookies"] = list(cookies)
    return shaped


def html_response(
    status: int, body: str, headers: Mapping[str, str] | None = None, cookies: Sequence[str] = ()
) -> Response:
    return response(status, body, "text/html; charset=utf-8", headers, cookies)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    return response(status, json.dumps(payload, separators=(",", ":")), "application/json", headers)


def redirect_response(location: str, status: int = 302, cookies: Sequence[str] = ()) -> Response:
    return response(status, "", headers={"location": location}, cookies=cookies)


def accepts_gzip(event: Event) -> bool:
    """Whether the client takes a gzip body (``Accept-Encoding``: ``gzip`` or ``*`` without ``q=0``)."""
    for part in (header(event, "accept-encoding") or "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        quality = params.strip().lower().replace(" ", "")
        refused = quality.startswith("q=") and quality[2:].rstrip("0").rstrip(".") in ("0", "")  # q=0, q=0.000
        return not refused
    return False


def gzipped(answer: Response, event: Event) -> Response:
    """``answer`` with its body gzip-encoded when the client accepts it and the body is worth it.

    API Gateway does not compress Lambda's answers; it decodes ``isBase64Encoded`` bodies and sends
    the bytes as they are, so the visitor downloads (and we pay data transfer for) the gzip size.
    """
    body = answer.get("body")
    if answer.get("isBase64Encoded") or not isinstance(body, str) or not accepts_gzip(event):
        return answer
    raw = body.encode()
    if len(raw) < GZIP_MIN_BYTES:
        return answer
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # wbits 31: gzip framing, no name or time
    packed = packer.compress(raw) + packer.flush()
    headers = {**answer["headers"], "content-encoding": "gzip", "vary": "accept-encoding"}
    return {**answer, "headers": headers, "body": base64.b64encode(packed).decode(), "isBase64Encoded": True}
