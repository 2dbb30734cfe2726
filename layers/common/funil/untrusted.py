"""Reading JSON from outside (webhook and request bodies): the one way untrusted bytes are parsed.

``json.loads`` alone is not enough for hostile input: deep nesting raises ``RecursionError`` (not a
``ValueError``), ``NaN``/``Infinity`` are accepted, and a huge number is costly. ``load_json`` checks
size and nesting before parsing (a linear scan, no recursion) and raises only ``UntrustedInput``,
which each route maps to its documented status (docs/architecture.md §3: bad input gets a 4xx, or
the status that makes a webhook's sender stop). ``reject`` logs one concise warning line: no
traceback, no body content, no secret.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

log = logging.getLogger(__name__)

MAX_BYTES = 256 * 1024  # API Gateway allows 10 MB; no webhook we accept is near this
MAX_DEPTH = 32  # Telegram updates and gateway webhooks nest a handful of levels
MAX_NUMBER_CHARS = 64  # every id and amount we read fits; Python refuses > 4300 digits anyway


class UntrustedInput(ValueError):  # a ValueError: an existing ``except ValueError`` still holds
    """Bytes from outside that are not the JSON we accept (the reason names no content)."""


def _depth_ok(text: str, max_depth: int) -> bool:
    if text.count("[") + text.count("{") <= max_depth:
        return True  # the common case, at C speed: too few openings to nest too deep
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _refuse_constant(name: str) -> Any:
    raise UntrustedInput(f"non-finite number {name[:16]}")


def _number(parse: Any) -> Any:
    def read(text: str) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise UntrustedInput("number too long")
        return parse(text)

    return read


def load_json(
    body: bytes | str | None,
    *,
    max_depth: int = MAX_DEPTH,
    max_bytes: int = MAX_BYTES,
    decimals: bool = False,
    empty: Any = None,
) -> Any:
    """The JSON value of ``body`` (numbers with a fraction as Decimal with ``decimals``).

    An empty body gives ``empty`` when it is not None, else is refused. Raises ``UntrustedInput`` for
    anything else that is not JSON within ``max_bytes`` and ``max_depth``.
    """
    if body is None or len(body) == 0:
        if empty is not None:
            return empty
        raise UntrustedInput("empty body")
    if len(body) > max_bytes:
        raise UntrustedInput("body too large")
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise UntrustedInput("body is not UTF-8") from None
    if not _depth_ok(text, max_depth):
        raise UntrustedInput("JSON nested too deeply")
    try:
        return json.loads(
            text,
            parse_float=_number(Decimal if decimals else float),
            parse_int=_number(int),
            parse_constant=_refuse_constant,
        )
    except UntrustedInput:
        raise
    except (ValueError, RecursionError, TypeError):
        raise UntrustedInput("body is not JSON") from None


def load_object(body: bytes | str | None, **kwargs: Any) -> dict[str, Any]:
    """``load_json`` of a body that must be a JSON object."""
    value = load_json(body, **kwargs)
    if not isinstance(value, dict):
        raise UntrustedInput("body is not a JSON object")
    return value


def reject(route: str, reason: object, **ids: str) -> None:
    """The one warning line of a rejected input: the route, the reason, ids that are not secret."""
    log.warning("untrusted input rejected", extra={"route": route, "reason": str(reason)[:200], **ids})
