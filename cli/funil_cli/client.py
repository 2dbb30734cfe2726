"""The operator's HTTP API (docs/operator-api.md) over httpx: its key, its errors, its pages.

Every answer is JSON. A 4xx/5xx becomes ``ApiError`` (the API's ``error`` and ``fields``), a
network failure ``CliError("error.unreachable")``; nothing else escapes. ``transport`` is the seam
for tests that want no sockets (``httpx.MockTransport``); the CLI's own tests use a real server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from funil_cli.errors import ApiError, CliError, FieldProblem

API_PREFIX = "/api/v1"
PAGE_SIZE = 100  # the contract's largest page: fewer round trips
USER_AGENT = "funil-cli"
TIMEOUT_SECONDS = 30.0  # creating a bot or a gateway waits on Telegram or the gateway


def api_root(url: str) -> str:
    """The deployment's base URL, whether given as ``https://host`` or ``https://host/api/v1/``."""
    root = url.strip().rstrip("/")
    return root.removesuffix(API_PREFIX)


class ApiClient:
    def __init__(self, url: str, api_key: str, transport: httpx.BaseTransport | None = None) -> None:
        self.root = api_root(url)
        try:
            self._http = httpx.Client(
                base_url=self.root + API_PREFIX,
                # stripped: a key pasted into a file or the env often brings a newline along
                headers={"Authorization": f"Bearer {api_key.strip()}", "User-Agent": USER_AGENT},
                timeout=TIMEOUT_SECONDS,
                transport=transport,
            )
        except httpx.InvalidURL:
            raise CliError("error.invalid_url", url=url) from None

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("POST", path, body=body)

    def patch(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PATCH", path, body=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        """The answer's JSON; ApiError for a 4xx/5xx, CliError when the API cannot be reached."""
        try:
            answer = self._http.request(method, path, json=body, params=params)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            raise CliError("error.invalid_url", url=self.root) from None
        except httpx.TransportError as error:  # refused, DNS, TLS, timeouts
            raise CliError("error.unreachable", url=self.root, reason=_reason(error)) from None
        if answer.is_success:
            try:
                return answer.json()
            except ValueError:
                raise CliError("error.not_json", status=answer.status_code) from None
        raise _api_error(answer)

    def list_all(self, path: str) -> list[dict[str, Any]]:
        """Every item of a collection, following ``next_cursor`` page after page."""
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        params: dict[str, str | int] = {"limit": PAGE_SIZE}
        while True:
            page = self.get(path, params)
            items.extend(page.get("items") or [])
            cursor = page.get("next_cursor")
            if not cursor:
                return items
            if cursor in seen:  # a server bug must not loop the CLI forever
                raise CliError("error.pagination_loop", cursor=cursor, path=path)
            seen.add(cursor)
            params = {"limit": PAGE_SIZE, "cursor": cursor}


def _reason(error: httpx.TransportError) -> str:
    text = str(error).strip()
    if isinstance(error, httpx.TimeoutException):
        return f"timeout ({text})" if text else "timeout"
    return text or type(error).__name__


def _api_error(answer: httpx.Response) -> ApiError:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        # A proxy or the platform answered (API Gateway's own 5xx, an HTML error page).
        return ApiError(answer.status_code, answer.reason_phrase or "no JSON")
    fields = [
        FieldProblem(str(problem.get("field", "")), str(problem.get("message", "")))
        for problem in body.get("fields") or []
        if isinstance(problem, dict)
    ]
    return ApiError(answer.status_code, str(body.get("error") or body.get("message") or answer.reason_phrase), fields)
