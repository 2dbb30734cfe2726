"""The HTTP functions' shared shape (all but the redirect): Powertools' resolver, one error policy.

``resolver(name)`` gives an ``APIGatewayHttpResolver`` whose unknown routes answer 404 and whose
unexpected exceptions answer a 500 with no detail (the trace goes to the log with the request id
as correlation id, and the ``HttpFailures`` metric counts it); a webhook sender retries a 500.
The redirect stays on ``funil.http``: the resolver's import cost does not fit its budget.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from funil.http import Response as ProxyResponse
from funil.observability import count, logger

__all__ = ["from_proxy", "json_answer", "resolver"]


def json_answer(status: int, payload: Any) -> Response[str]:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def from_proxy(answer: ProxyResponse) -> Response[str]:
    """A response built with ``funil.http`` (status, headers, body) as the resolver's Response."""
    headers = {str(name): str(value) for name, value in (answer.get("headers") or {}).items()}
    return Response(
        status_code=int(answer["statusCode"]),
        body=str(answer.get("body") or ""),
        headers=headers,
        cookies=list(answer.get("cookies") or []),
    )


def resolver(name: str, *, enable_validation: bool = False) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=enable_validation)

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        return json_answer(404, {"message": "Not Found"})

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
    def failed(_: Exception) -> Response[str]:
        logger.exception(f"{name} failed")
        count("HttpFailures")
        return json_answer(500, {"error": "internal error, retry"})

    return app
