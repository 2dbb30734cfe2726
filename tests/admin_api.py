"""Calling the operator's API through its real handler with API Gateway HTTP API (2.0) events."""

from __future__ import annotations

import base64
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


def table_state(resources: Any) -> set[str]:
    """Every item of the app table as typed JSON (moto's own store), an API key's ``last_used_at``
    left out: using a key is not a write of the request's (a refused request may still stamp it)."""
    from moto.dynamodb.models import dynamodb_backends

    from local import aws

    table = dynamodb_backends[aws.ACCOUNT][aws.REGION].get_table(resources.tables["AppTable"])
    state = set()
    for item in table.all_items():
        attributes = dict(item.to_json()["Attributes"])
        if attributes.get("type") == {"S": "api_key"}:
            attributes.pop("last_used_at", None)
        state.add(json.dumps(attributes, sort_keys=True, default=lambda blob: base64.b64encode(blob).decode()))
    return state


def hostile_body(data: Any, *, built: Any, valid: list[Any], fields: list[str], max_fields: int) -> bytes:
    """A create body as a client may send one: built by the model's strategy, a valid one, a valid
    one with one node replaced by hostile JSON, a bag of the model's fields, or raw hostile bytes."""
    from hypothesis import strategies as st

    from tests.integration.test_hostile_input import HOSTILE_BYTES, JSON_VALUES, mutated

    kind = data.draw(st.sampled_from(["built", "valid", "mutated", "fields", "bytes"]), label="kind")
    if kind == "built":
        return json.dumps(data.draw(built, label="document")).encode()
    if kind == "valid":
        return json.dumps(data.draw(st.sampled_from(valid), label="document")).encode()
    if kind == "mutated":
        return bytes(mutated(data, valid))
    if kind == "fields":
        document = data.draw(
            st.dictionaries(st.sampled_from(fields), JSON_VALUES, max_size=max_fields), label="document"
        )
        return json.dumps(document).encode()
    return bytes(data.draw(HOSTILE_BYTES, label="bytes"))


def post_untrusted(
    invoke: Callable[..., Any], resources: Any, path: str, key: str, body: bytes
) -> dict[str, Any] | None:
    """POST ``body`` through the real handler: never a 5xx or a traceback, nothing written unless it
    was created. The created resource's answer, else None."""
    import hypothesis

    from tests.integration.test_hostile_input import with_body

    event = with_body(api_event("POST", path, key=key), body, as_base64=False)
    before = table_state(resources)
    answer = invoke(FUNCTION, event)
    hypothesis.event(f"status {answer['statusCode']}")
    assert answer["statusCode"] in {201, 409, 422}, answer
    assert "Traceback" not in answer["body"]
    if answer["statusCode"] != 201:
        assert table_state(resources) == before
        return None
    created: dict[str, Any] = json.loads(answer["body"])
    return created


def cli_through_handler(
    invoke: Callable[[str, dict[str, Any]], Any], key: str, monkeypatch: Any, config_dir: Any
) -> Callable[..., Any]:
    """``run("bots", "admins", …)``: the ``funil`` CLI in-process (typer's runner, English), its HTTP
    answered by the real AdminApiFunction handler through ``invoke``."""
    import httpx
    from funil_cli.main import app as funil_cli
    from typer.testing import CliRunner

    def handle(request: httpx.Request) -> httpx.Response:
        body = request.content.decode() or None
        event = api_event(request.method, request.url.path, body, key=key, query=dict(request.url.params))
        answer = invoke("AdminApiFunction", event)
        return httpx.Response(int(answer["statusCode"]), headers=answer.get("headers"), text=answer.get("body") or "")

    real = httpx.Client

    def client(*args: Any, transport: Any = None, **kwargs: Any) -> httpx.Client:
        return real(*args, transport=httpx.MockTransport(handle), **kwargs)

    monkeypatch.setattr(httpx, "Client", client)
    env = {"FUNIL_API_URL": "https://abc123.execute-api.us-east-1.amazonaws.com", "FUNIL_API_KEY": key,
           "FUNIL_CONFIG": str(config_dir / "none.toml"), "FUNIL_LANG": "en"}  # fmt: skip

    def run(*args: str) -> Any:
        return CliRunner().invoke(funil_cli, list(args), env=env)

    return run
