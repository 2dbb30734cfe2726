"""Hostile input on the dashboard's routes, through the real handler on moto (property-based).

Sign-in tokens (in the link's query and the form's body), cookie headers, and the query strings of
stats and trace: every answer is a 4xx (or the page asked for), never a 5xx; no log record carries
a traceback; and the table is exactly as it was (nothing is written by a refused request, nor by a
read). Profiles as in test_hostile_input (``HYPOTHESIS_PROFILE=thorough``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from funil.analytics.dimensions import DIMENSIONS
from funil.dashboard.sessions import SESSION_COOKIE
from hypothesis import event as event_seen
from hypothesis import given
from hypothesis import strategies as st

from local import aws
from tests.integration import test_hostile_input as hostile
from tests.integration.test_dashboard_api import FUNCTION, World, app_event, new_world, reply
from tests.integration.test_hostile_input import (
    HEADER_TEXT,
    HOSTILE_BYTES,
    Records,
    counted,
    route,
    snapshot,
)

logs = hostile.logs  # the fixture: every log record of the test, checked with Records.check
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
TOKENS = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=ALPHABET, min_size=40, max_size=46),  # shaped like a token, never a live one
    st.text(min_size=500, max_size=3000),
    st.sampled_from(["", " ", "%00", "A" * 43 + "\x00", "A" * 43 + "\n", "../../etc/passwd", "ＡＢＣ" * 15, "💥" * 43]),
)


@pytest.fixture
def world(aws_env: aws.Resources, table: Any, invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> World:
    world = new_world(aws_env, table, invoke, monkeypatch)
    world.login_link()  # a live link exists throughout: none of the drawn tokens is it
    return world


@pytest.fixture
def cookie(world: World) -> str:
    """A live session of t_bia (one per test: its examples share it)."""
    return world.sign_in()


def answered(world: World, invoke: Callable[..., Any], event: dict[str, Any], allowed: set[int]) -> Any:
    before = snapshot(world.resources)
    answer = invoke(FUNCTION, event)
    got = reply(answer)
    event_seen(f"status {got.status}")
    assert got.status in allowed, (got.status, got.body)
    assert "Traceback" not in str(answer.get("body"))
    assert snapshot(world.resources) == before
    counted()
    return got


# -- the sign-in link ------------------------------------------------------------------------------------


@route(tests=2)
@given(token=TOKENS, raw=st.booleans())
def test_a_hostile_token_in_the_link_gets_the_refused_page(
    world: World, invoke: Callable[..., Any], logs: Records, token: str, raw: bool
) -> None:
    query = "token=" + (token if raw else quote(token, safe=""))
    page = answered(world, invoke, app_event("GET", "/app/login", query=query), {400})
    assert page.cookies == []
    logs.check()


@route(tests=2)
@given(
    body=st.one_of(
        HOSTILE_BYTES,
        TOKENS.map(lambda token: ("token=" + quote(token, safe="")).encode()),
        st.lists(st.tuples(st.sampled_from(["token", "Token", "", "t"]), TOKENS), max_size=4).map(
            lambda pairs: urlencode(pairs).encode()
        ),
    ),
    as_base64=st.booleans(),
    origin=st.sampled_from([None, "https://painel.example", "https://evil.example", "null", "💥"]),
)
def test_a_hostile_sign_in_form_changes_nothing(
    world: World,
    invoke: Callable[..., Any],
    logs: Records,
    body: bytes,
    as_base64: bool,
    origin: str | None,
) -> None:
    event = app_event("POST", "/app/login", form="", headers={"origin": origin})
    try:
        text = body.decode()
    except UnicodeDecodeError:
        as_base64 = True
    event["body"] = base64.b64encode(body).decode() if as_base64 else text
    event["isBase64Encoded"] = as_base64
    answer = answered(world, invoke, event, {400, 403})
    assert answer.cookies == []
    logs.check()


# -- cookies ---------------------------------------------------------------------------------------------


COOKIE_HEADERS = st.one_of(
    HEADER_TEXT,
    st.lists(
        st.tuples(st.sampled_from([SESSION_COOKIE, "funil_session", "__Host-funil_session ", "x", ""]), TOKENS),
        max_size=4,
    ).map(lambda pairs: "; ".join(f"{name}={value}" for name, value in pairs)),
)


@route(tests=1)
@given(header=COOKIE_HEADERS, listed=st.lists(st.text(max_size=80), max_size=3), include_live=st.booleans())
def test_a_hostile_cookie_is_signed_out_or_the_live_session(
    world: World,
    invoke: Callable[..., Any],
    logs: Records,
    cookie: str,
    header: str,
    listed: list[str],
    include_live: bool,
) -> None:
    live = cookie if include_live else None
    event = app_event("GET", "/app/api/session", headers={"cookie": header})
    event["cookies"] = [*listed, *([f"{SESSION_COOKIE}={live}"] if live else [])]
    session = answered(world, invoke, event, {200, 401})
    if session.status == 200:
        assert session.body["tenant_id"] == "t_bia"
    logout = app_event("POST", "/app/logout", headers={"cookie": header, "x-csrf-token": header[:100]})
    logout["cookies"] = event["cookies"]
    answered(world, invoke, logout, {401, 403})
    logs.check()


# -- query strings -----------------------------------------------------------------------------------------

DATES = st.one_of(
    st.dates(min_value=date(2026, 10, 1), max_value=date(2026, 11, 30)).map(str),
    st.sampled_from(["2026-02-29", "0000-01-01", "9999-12-31", "2026-1-1", "", "today", "2026-11-01T00:00"]),
    st.text(max_size=12),
)
STATS_NAMES = st.one_of(st.sampled_from(["from", "to", "by", "touch", "day", *DIMENSIONS]), st.text(max_size=12))
STATS_VALUES = st.one_of(
    st.sampled_from(["day", "last", "first", "mobile", "", *DIMENSIONS]),
    st.text(max_size=40),
    st.text(min_size=150, max_size=260),
)
STATS_QUERIES = st.one_of(
    st.text(max_size=300),
    st.tuples(DATES, DATES, st.lists(st.tuples(STATS_NAMES, STATS_VALUES), max_size=5)).map(
        lambda drawn: urlencode([("from", drawn[0]), ("to", drawn[1]), *drawn[2]])
    ),
    st.binary(max_size=200).map(lambda raw: "from=2026-11-01&to=2026-11-02&device=" + quote(raw, safe="")),
    st.integers(30, 60).map(lambda n: "&".join(f"utm_source={n}" for _ in range(n))),
    # well-formed but for the filters' values: what reaches the counters
    st.tuples(
        st.dates(min_value=date(2026, 11, 1), max_value=date(2026, 11, 15)).map(str),
        st.dates(min_value=date(2026, 11, 15), max_value=date(2026, 11, 30)).map(str),
        st.sampled_from(["day", *DIMENSIONS]),
        st.sampled_from(["last", "first"]),
        st.dictionaries(st.sampled_from(DIMENSIONS), st.text(max_size=120), max_size=3),
    ).map(lambda d: urlencode([("from", d[0]), ("to", d[1]), ("by", d[2]), ("touch", d[3]), *d[4].items()])),
)


@route(tests=1)
@given(query=STATS_QUERIES)
def test_a_hostile_stats_query_is_answered_or_422(
    world: World, invoke: Callable[..., Any], logs: Records, cookie: str, query: str
) -> None:
    answer = answered(world, invoke, app_event("GET", "/app/api/stats", query=query, cookie=cookie), {200, 422})
    if answer.status == 422:
        assert answer.body["error"] == "invalid query" and answer.body["fields"]
    logs.check()


TRACE_QUERIES = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.tuples(
            st.one_of(
                st.sampled_from(["payment_id", "click_token", "bot_id", "telegram_user_id"]), st.text(max_size=8)
            ),
            st.one_of(
                st.text(max_size=70),
                st.integers().map(str),
                st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
            ),
        ),
        max_size=3,
    ).map(urlencode),
    st.one_of(
        st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(lambda p: {"payment_id": p}),
        st.text(alphabet=ALPHABET, min_size=1, max_size=64).map(lambda t: {"click_token": t}),
        st.tuples(st.text(alphabet=ALPHABET, min_size=1, max_size=64), st.integers(1, 10**15)).map(
            lambda lead: {"bot_id": lead[0], "telegram_user_id": str(lead[1])}
        ),
    ).map(urlencode),
)


@route(tests=1)
@given(query=TRACE_QUERIES)
def test_a_hostile_trace_query_is_404_or_422(
    world: World, invoke: Callable[..., Any], logs: Records, cookie: str, query: str
) -> None:
    answered(world, invoke, app_event("GET", "/app/api/trace", query=query, cookie=cookie), {404, 422})
    logs.check()
