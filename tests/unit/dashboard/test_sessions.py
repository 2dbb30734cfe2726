"""Who may change state: the origin checks, and the cookies a session is given and taken back with."""

from __future__ import annotations

from typing import Any

import pytest
from funil.dashboard.sessions import (
    SESSION_COOKIE,
    Session,
    cleared_cookie,
    csrf_allowed,
    origin_allowed,
    session_cookie,
)

PUBLIC = "https://painel.example"


def event(**headers: str) -> dict[str, Any]:
    return {"headers": {"host": "abc.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https", **headers}}


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),
        ({"origin": PUBLIC}, True),
        ({"origin": "https://PAINEL.example"}, True),  # host names have no case
        ({"origin": "https://painel.example:443"}, True),  # the default port is the same origin
        ({"origin": "https://abc.execute-api.us-east-1.amazonaws.com"}, True),
        ({"origin": "https://painel.example:8443"}, False),
        ({"origin": "http://painel.example"}, False),
        ({"origin": "https://painel.example.evil.example"}, False),
        ({"origin": "https://evil.example"}, False),
        ({"origin": "null"}, False),
        ({"origin": ""}, False),
        ({"origin": "https://painel.example:99999"}, False),
        ({"sec-fetch-site": "same-origin"}, True),
        ({"sec-fetch-site": "none"}, True),
        ({"sec-fetch-site": "same-site"}, False),
        ({"sec-fetch-site": "cross-site"}, False),
        ({"origin": PUBLIC, "sec-fetch-site": "cross-site"}, False),
    ],
)
def test_origin_allowed(headers: dict[str, str], allowed: bool) -> None:
    assert origin_allowed(event(**headers), PUBLIC) is allowed


def test_the_requests_own_origin_counts_where_there_is_no_public_one() -> None:
    local = {"host": "127.0.0.1:3000", "x-forwarded-proto": "http", "origin": "http://127.0.0.1:3000"}
    assert origin_allowed({"headers": local}, "") is True
    assert origin_allowed({"headers": {**local, "origin": "http://localhost:3000"}}, "") is False


def test_the_csrf_token_must_be_the_sessions() -> None:
    session = Session(key=("k", "k"), tenant_id="t", tenant_name="T", csrf_token="c" * 43)
    assert csrf_allowed(event(**{"x-csrf-token": "c" * 43}), session, PUBLIC)
    assert not csrf_allowed(event(**{"x-csrf-token": "c" * 42}), session, PUBLIC)
    assert not csrf_allowed(event(), session, PUBLIC)
    assert not csrf_allowed(event(**{"x-csrf-token": "c" * 43, "origin": "https://evil.example"}), session, PUBLIC)


def test_the_cookies() -> None:
    assert session_cookie("v" * 43) == (
        f"{SESSION_COOKIE}={'v' * 43}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=43200"
    )
    assert cleared_cookie() == f"{SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0"
    assert SESSION_COOKIE.startswith("__Host-")  # the browser keeps it to this host, Secure, Path=/
