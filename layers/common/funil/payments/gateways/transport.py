"""A gateway's HTTP API as every adapter calls it: failures mapped to GatewayError the same way for
every gateway, JSON read with exact amounts, and only the gateway's own short error fields quoted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from funil.payments.gateways.base import GatewayConfig, GatewayError
from funil.untrusted import UntrustedInput, load_json

TIMEOUT = httpx.Timeout(5.0)
MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # a gateway's answer; a search of payments is the largest


def send(
    http: httpx.Client, name: str, operation: str, method: str, url: str, *, creating: bool = False, **kwargs: Any
) -> httpx.Response:
    """The gateway's response, or GatewayError for transport failures, 5xx and 429.

    A connection that never opened reached nobody: transient, safe to retry elsewhere. A timeout or
    5xx while creating may have created the charge: ambiguous, so routing voids it before failing
    over. 4xx answers are returned for the adapter to read its gateway's error format.
    """
    kwargs.setdefault("timeout", TIMEOUT)
    try:
        response = http.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        raise GatewayError(f"{name} {operation}: cannot connect ({type(error).__name__})", transient=True) from None
    except httpx.TimeoutException as error:
        raise GatewayError(
            f"{name} {operation}: timed out ({type(error).__name__})", transient=True, ambiguous=creating
        ) from None
    except httpx.TransportError as error:
        raise GatewayError(
            f"{name} {operation}: transport error ({type(error).__name__})", transient=True, ambiguous=creating
        ) from None
    if response.status_code >= 500 or response.status_code == 429:
        raise GatewayError(
            f"{name} {operation}: HTTP {response.status_code}",
            transient=True,
            ambiguous=creating and response.status_code != 429,
        )
    return response


def error_text(response: httpx.Response, fields: tuple[str, ...]) -> str:
    """The named fields of a JSON error answer, shortened: never headers or our request (they hold credentials)."""
    try:
        data = load_json(response.content, max_bytes=MAX_RESPONSE_BYTES)
    except UntrustedInput:
        return ""
    if not isinstance(data, dict):
        return ""
    return " ".join(str(data[key]) for key in fields if data.get(key))[:200]


@dataclass(frozen=True, slots=True)
class GatewayApi:
    """One gateway's API: its name (in every error), root URL, the headers of every call, and the fields
    of its error answers worth quoting."""

    http: httpx.Client
    name: str
    root: str
    headers: Mapping[str, str]
    error_fields: tuple[str, ...] = ()

    @classmethod
    def authorized(
        cls,
        config: GatewayConfig,
        http: httpx.Client,
        name: str,
        *,
        default_root: str,
        credential: str,
        scheme: str = "Bearer",
        error_fields: tuple[str, ...],
    ) -> GatewayApi:
        """A JSON API at the gateway's ``base_url`` (else ``default_root``) that takes one credential in
        the Authorization header (``scheme`` empty: the credential alone)."""
        config.require(name, credentials=(credential,))
        secret = config.credentials[credential]
        headers = {"Authorization": f"{scheme} {secret}" if scheme else secret, "Accept": "application/json"}
        return cls(http, name, config.api_root(name, default_root), headers, error_fields)

    def send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        creating: bool = False,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """``send`` to ``root + path`` with the API's headers (and the call's own)."""
        all_headers = {**self.headers, **(headers or {})}
        return send(
            self.http, self.name, operation, method, self.root + path, creating=creating, headers=all_headers, **kwargs
        )

    def refused(self, response: httpx.Response, operation: str) -> GatewayError:
        """A 4xx answer: permanent."""
        text = error_text(response, self.error_fields)
        return GatewayError(f"{self.name} {operation}: HTTP {response.status_code} {text}".rstrip(), transient=False)

    def read_json(self, response: httpx.Response, operation: str, *, creating: bool = False) -> Any:
        """The answer's JSON, numbers with a fraction as Decimal (a float like 19.9 must never become 1989
        cents). Unreadable: transient, and ambiguous while creating (the charge may exist)."""
        try:
            return load_json(response.content, decimals=True, max_bytes=MAX_RESPONSE_BYTES)
        except UntrustedInput:
            raise GatewayError(
                f"{self.name} {operation}: response is not JSON", transient=True, ambiguous=creating
            ) from None

    def call(self, method: str, path: str, *, operation: str, creating: bool = False, **kwargs: Any) -> Any:
        """``send``, then the answer's JSON; a 4xx raises ``refused``."""
        response = self.send(method, path, operation=operation, creating=creating, **kwargs)
        if response.status_code >= 400:
            raise self.refused(response, operation)
        return self.read_json(response, operation, creating=creating)
