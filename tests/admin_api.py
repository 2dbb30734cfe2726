"""Calling the operator's API through its real handler with API Gateway HTTP API (2.0) events."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.conftest import load_event

FUNCTION = "AdminApiFunction"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error_fields(self) -> list[str]:
        return [problem["field"] for problem in (self.body or {}).get("fields", [])]


def api_event(
    method: str, path: str, body: Any = None, *, key: str | None = None, query: dict[str, Any] | None = None
) -> dict[str, Any]:
    event = load_event("admin_api_post.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["pathParameters"] = {"proxy": path.removeprefix("/api/v1/")}
    event["rawQueryString"] = urlencode(query or {})
    event["queryStringParameters"] = {name: str(value) for name, value in (query or {}).items()} or None
    if event["queryStringParameters"] is None:
        del event["queryStringParameters"]
    if key is None:
        del event["headers"]["authorization"]
    else:
        event["headers"]["authorization"] = f"Bearer {key}"
    raw = body if isinstance(body, str) else (None if body is None else json.dumps(body))
    event["body"] = raw
    event["headers"]["content-length"] = str(len(raw or ""))
    return event


def caller(invoke: Callable[[str, dict[str, Any]], Any]) -> Callable[..., Answer]:
    """``api("POST", "/api/v1/bots", {...}, key=…)`` → the handler's answer, JSON decoded."""

    def api(method: str, path: str, body: Any = None, *, key: str | None = None, **query: Any) -> Answer:
        answer = invoke(FUNCTION, api_event(method, path, body, key=key, query=query))
        text = answer.get("body") or ""
        headers = {str(name).lower(): str(value) for name, value in (answer.get("headers") or {}).items()}
        decoded = json.loads(text) if text and "json" in headers.get("content-type", "") else text
        return Answer(int(answer["statusCode"]), decoded, headers)

    return api
