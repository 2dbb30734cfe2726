"""The dashboard's query strings, read as untrusted input: every parameter named, known and bounded.

Read from the raw query string (``rawQueryString``), not API Gateway's map, which joins a repeated
parameter's values with commas: here a repeated parameter is an error. Each problem is a
``FieldProblem`` naming the parameter (``from``, ``utm_campaign``…); ``QueryRefused`` carries them
all, for one 422 answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from funil import http
from funil.operator.errors import FieldProblem

__all__ = ["MAX_FILTER_VALUE", "QueryRefused", "TraceQuery", "query_params", "stats_params", "trace_query"]

MAX_QUERY = 4096
MAX_PARAMS = 32
MAX_FILTER_VALUE = 200
STATS_OPTIONS = ("from", "to", "by", "touch")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PAYMENT_ID_RE = re.compile(r"[0-9a-f]{32}")
CLICK_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
BOT_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
TELEGRAM_USER_ID_RE = re.compile(r"[1-9][0-9]{0,15}")


class QueryRefused(Exception):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("invalid query")
        self.problems = problems

    def body(self) -> dict[str, Any]:
        return {
            "error": "invalid query",
            "fields": [{"field": problem.field, "message": problem.message} for problem in self.problems],
        }


def query_params(event: http.Event) -> dict[str, str]:
    """The query's parameters, each given once (values decoded once, blank values kept)."""
    raw = event.get("rawQueryString") or ""
    if not isinstance(raw, str) or len(raw) > MAX_QUERY:
        raise QueryRefused([FieldProblem("query", f"at most {MAX_QUERY} characters")])
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_PARAMS, errors="strict")
    except (ValueError, UnicodeDecodeError):  # too many fields, or bytes that are not UTF-8
        raise QueryRefused([FieldProblem("query", "not a query string this page sends")]) from None
    params: dict[str, str] = {}
    problems: list[FieldProblem] = []
    for name, value in pairs:
        if name in params:
            problems.append(FieldProblem(name[:64], "given more than once"))
        params[name] = value
    if problems:
        raise QueryRefused(problems)
    return params


def stats_params(params: Mapping[str, str], dimensions: tuple[str, ...]) -> dict[str, str]:
    """The stats query's parameters, checked before the stats' own validation: names known, filter
    values bounded, dates in their form."""
    problems: list[FieldProblem] = []
    for name, value in params.items():
        if name in ("from", "to"):
            if not DATE_RE.fullmatch(value):
                problems.append(FieldProblem(name, "a date as yyyy-mm-dd"))
        elif name not in STATS_OPTIONS and name not in dimensions:
            problems.append(FieldProblem(name[:64], "not a parameter of stats: from, to, by, touch or a dimension"))
        elif name not in STATS_OPTIONS and len(value) > MAX_FILTER_VALUE:
            problems.append(FieldProblem(name, f"at most {MAX_FILTER_VALUE} characters"))
    for name in ("from", "to"):
        if name not in params:
            problems.append(FieldProblem(name, "required: a date as yyyy-mm-dd"))
    if problems:
        raise QueryRefused(problems)
    return dict(params)


@dataclass(frozen=True)
class TraceQuery:
    """Exactly one of: a payment, a click, a lead (bot and Telegram user)."""

    payment_id: str | None = None
    click_token: str | None = None
    bot_id: str | None = None
    telegram_user_id: int | None = None


def trace_query(params: Mapping[str, str]) -> TraceQuery:
    problems: list[FieldProblem] = []
    checks = {
        "payment_id": (PAYMENT_ID_RE, "a payment id: 32 hexadecimal characters"),
        "click_token": (CLICK_TOKEN_RE, "a click token: letters, digits, _ and -"),
        "bot_id": (BOT_ID_RE, "a bot id: letters, digits, _ and -"),
        "telegram_user_id": (TELEGRAM_USER_ID_RE, "a Telegram user id: a positive number"),
    }
    for name, value in params.items():
        if name not in checks:
            problems.append(FieldProblem(name[:64], "not a parameter of trace: payment_id, click_token, bot_id"))
        elif not checks[name][0].fullmatch(value):
            problems.append(FieldProblem(name, checks[name][1]))
    given = {name for name in params if name in checks}
    if not problems and given not in ({"payment_id"}, {"click_token"}, {"bot_id", "telegram_user_id"}):
        problems.append(
            FieldProblem("query", "give exactly one of: payment_id, click_token, or bot_id with telegram_user_id")
        )
    if problems:
        raise QueryRefused(problems)
    user = params.get("telegram_user_id")
    return TraceQuery(
        payment_id=params.get("payment_id"),
        click_token=params.get("click_token"),
        bot_id=params.get("bot_id"),
        telegram_user_id=int(user) if user is not None else None,
    )
