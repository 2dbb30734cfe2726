"""One HTTP call to a gateway, with its failures mapped to GatewayError the same way for every adapter."""

from __future__ import annotations

from typing import Any

import httpx

from funil.payments.gateways.base import GatewayError


def send(
    http: httpx.Client, name: str, operation: str, method: str, url: str, *, creating: bool = False, **kwargs: Any
) -> httpx.Response:
    """The gateway's response, or GatewayError for transport failures, 5xx and 429.

    A connection that never opened reached nobody: transient, safe to retry elsewhere. A timeout or
    5xx while creating may have created the charge: ambiguous, so routing voids it before failing
    over. 4xx answers are returned for the adapter to read its gateway's error format.
    """
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
