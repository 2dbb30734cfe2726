"""Meta Graph API: POST /{version}/{dataset id}/events (Conversions API).

The access token travels in the JSON body, never in the URL (URLs get logged). Responses are
reduced to :class:`GraphResult`; nothing here decides what to retry (funil.conversions.sender does).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from funil.config import DEFAULT_META_GRAPH_BASE_URL, DEFAULT_META_GRAPH_VERSION
from funil.untrusted import UntrustedInput, load_json

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = DEFAULT_META_GRAPH_BASE_URL
MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # Meta answers a batch of 1000 events in a few KB
DEFAULT_VERSION = DEFAULT_META_GRAPH_VERSION
DEFAULT_TIMEOUT_SECONDS = 1.5  # Meta's recommendation; most answers come in < 600 ms


@dataclass(frozen=True, slots=True)
class GraphError:
    code: int | None
    subcode: int | None = None
    type: str | None = None
    message: str = ""
    user_message: str | None = None
    is_transient: bool = False


@dataclass(frozen=True, slots=True)
class GraphResult:
    """What one request achieved. ``network_error`` set means no HTTP answer (timeout, refused)."""

    status_code: int | None
    events_received: int | None = None
    fbtrace_id: str | None = None
    messages: tuple[str, ...] = ()
    error: GraphError | None = None
    network_error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and self.error is None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isascii() and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def parse_response(status_code: int, body: bytes, headers: httpx.Headers | None = None) -> GraphResult:
    try:
        payload: Any = load_json(body, max_bytes=MAX_RESPONSE_BYTES, empty={})
    except UntrustedInput:
        payload = {}  # an answer we cannot read is classified by its HTTP status alone
    if not isinstance(payload, dict):
        payload = {}
    fbtrace = payload.get("fbtrace_id") or (headers.get("x-fb-trace-id") if headers else None)
    raw_error = payload.get("error")
    error = None
    if isinstance(raw_error, dict):
        fbtrace = fbtrace or raw_error.get("fbtrace_id")
        error = GraphError(
            code=_int(raw_error.get("code")),
            subcode=_int(raw_error.get("error_subcode")),
            type=str(raw_error.get("type")) if raw_error.get("type") else None,
            message=str(raw_error.get("message") or "")[:1000],
            user_message=str(raw_error.get("error_user_msg"))[:1000] if raw_error.get("error_user_msg") else None,
            is_transient=bool(raw_error.get("is_transient")),
        )
    elif not 200 <= status_code < 300:
        error = GraphError(code=None, message=f"HTTP {status_code}")
    messages = payload.get("messages")
    return GraphResult(
        status_code=status_code,
        events_received=_int(payload.get("events_received")),
        fbtrace_id=str(fbtrace) if fbtrace else None,
        messages=tuple(str(item)[:500] for item in messages) if isinstance(messages, list) else (),
        error=error,
        raw={key: value for key, value in payload.items() if key != "error"},
    )


class GraphClient:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        version: str = DEFAULT_VERSION,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version.strip("/")
        self.timeout = timeout
        self._client = client

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            import httpx  # ~35 ms of a cold start: only when the first batch is sent

            self._client = httpx.Client(timeout=self.timeout)
        return self._client

    def events_url(self, meta_pixel_id: str) -> str:
        return f"{self.base_url}/{self.version}/{meta_pixel_id}/events"

    def send_events(
        self,
        meta_pixel_id: str,
        access_token: str,
        events: Sequence[dict[str, Any]],
        test_event_code: str | None = None,
    ) -> GraphResult:
        body: dict[str, Any] = {"data": list(events), "access_token": access_token}
        if test_event_code:
            body["test_event_code"] = test_event_code
        import httpx

        try:
            answer = self.client.post(
                self.events_url(meta_pixel_id),
                content=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                headers={"content-type": "application/json"},
                timeout=self.timeout,
            )
        except httpx.TimeoutException as error:
            return GraphResult(status_code=None, network_error=f"timeout: {type(error).__name__}")
        except httpx.HTTPError as error:
            return GraphResult(status_code=None, network_error=f"network: {type(error).__name__}")
        return parse_response(answer.status_code, answer.content, answer.headers)
