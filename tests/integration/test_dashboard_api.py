"""The dashboard's sign-in and sessions through the real handlers on moto: the one-time link the
operator's API gives, the button page, the session cookie, CSRF, signing out, disabled tenants.

The helpers here (events, answers, signing in) are the other dashboard test modules' too.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from funil import keys
from funil.clock import to_epoch_s, utc_now
from funil.dashboard.sessions import SESSION_COOKIE, session_key
from funil.operator.api_keys import create_operator_key
from funil.operator.login_links import login_link_key, token_hash
from funil.operator.tenants import TenantCreate, create_tenant

from local import aws
from tests.admin_api import Answer, caller, table_state
from tests.conftest import load_event

FUNCTION = "DashboardFunction"
PUBLIC = "https://painel.example"
HOST = "abc123.execute-api.us-east-1.amazonaws.com"
COOKIE_RE = re.compile(
    rf"^{re.escape(SESSION_COOKIE)}=([A-Za-z0-9_-]{{43}}); HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=43200$"
)
CLEARED = f"{SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # names lowercased
    body: Any  # JSON decoded, else text (gzip undone), else bytes
    cookies: list[str]
    raw: dict[str, Any]


def app_event(
    method: str,
    path: str,
    *,
    query: str | dict[str, str] = "",
    cookie: str | None = None,
    headers: dict[str, str | None] | None = None,
    form: str | None = None,
) -> dict[str, Any]:
    """A payload v2.0 event as API Gateway sends the dashboard's routes (``GET /app``, ``ANY /app/{proxy+}``)."""
    event = load_event("dashboard_login_post.json" if form is not None else "dashboard_get.json")
    route = "GET /app" if path == "/app" else "ANY /app/{proxy+}"
    event["routeKey"] = event["requestContext"]["routeKey"] = route
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    if path == "/app":
        event.pop("pathParameters", None)
    else:
        event["pathParameters"] = {"proxy": path.removeprefix("/app/")}
    raw_query = query if isinstance(query, str) else urlencode(query)
    event["rawQueryString"] = raw_query
    if raw_query:
        event["queryStringParameters"] = dict(pair.partition("=")[::2] for pair in raw_query.split("&"))
    event.pop("cookies", None)
    if cookie is not None:
        event["cookies"] = [f"{SESSION_COOKIE}={cookie}"]
    if form is not None:
        event["body"] = base64.b64encode(form.encode()).decode()  # a form post arrives base64-encoded
        event["isBase64Encoded"] = True
        event["headers"]["content-length"] = str(len(form.encode()))
    for name, value in (headers or {}).items():
        if value is None:
            event["headers"].pop(name, None)
        else:
            event["headers"][name] = value
    return event


def reply(answer: dict[str, Any]) -> Reply:
    headers = {str(name).lower(): str(value) for name, value in (answer.get("headers") or {}).items()}
    raw = answer.get("body") or ""
    body: Any = base64.b64decode(raw) if answer.get("isBase64Encoded") else raw.encode()
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    content_type = headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = json.loads(body)
    elif content_type.startswith("text/"):
        body = body.decode()
    return Reply(int(answer["statusCode"]), headers, body, list(answer.get("cookies") or []), answer)


def dashboard_caller(invoke: Callable[[str, dict[str, Any]], Any]) -> Callable[..., Reply]:
    """``app("GET", "/app/api/session", cookie=…)`` → the dashboard's answer."""

    def app(method: str, path: str, **options: Any) -> Reply:
        return reply(invoke(FUNCTION, app_event(method, path, **options)))

    return app


def link_token(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC and parts.path == "/app/login"
    token = parts.query.removeprefix("token=")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token), url
    return token


@dataclass
class World:
    api: Callable[..., Answer]
    app: Callable[..., Reply]
    table: Any
    resources: aws.Resources
    operator_key: str
    tenant_key: str

    def login_link(self, key: str | None = None) -> str:
        created = self.api("POST", "/api/v1/login-links", key=key or self.tenant_key)
        assert created.status == 201, created.body
        return link_token(created.body["url"])

    def sign_in(self, token: str | None = None) -> str:
        """The session cookie's value, signed in through a fresh link (or ``token``'s)."""
        answer = self.app("POST", "/app/login", form=f"token={token or self.login_link()}")
        assert answer.status == 303, answer.body
        found = COOKIE_RE.match(answer.cookies[0])
        assert found, answer.cookies
        return found.group(1)

    def csrf(self, cookie: str) -> str:
        return str(self.app("GET", "/app/api/session", cookie=cookie).body["csrf_token"])


def new_world(aws_env: aws.Resources, table: Any, invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> World:
    """An operator key and tenant t_bia with its key; the dashboard at PUBLIC (each module's ``world`` fixture)."""
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)  # before the handlers load (on their first call)
    operator_key = create_operator_key(table, "deploy", utc_now).key
    tenant_key = create_tenant(table, TenantCreate(id="t_bia", name="Loja da Bia"), utc_now)[1].key
    return World(caller(invoke), dashboard_caller(invoke), table, aws_env, operator_key, tenant_key)


@pytest.fixture
def world(aws_env: aws.Resources, table: Any, invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> World:
    return new_world(aws_env, table, invoke, monkeypatch)


# -- the link --------------------------------------------------------------------------------------


def test_a_tenant_key_gets_a_link_that_is_stored_only_as_its_hash(world: World) -> None:
    before = utc_now()
    created = world.api("POST", "/api/v1/login-links", key=world.tenant_key)
    assert created.status == 201
    assert set(created.body) == {"url", "expires_at"}
    token = link_token(created.body["url"])
    expires = created.body["expires_at"]
    assert (
        (before + timedelta(minutes=15)).isoformat()[:16]
        <= expires[:16]
        <= (utc_now() + timedelta(minutes=15)).isoformat()[:16]
    )
    stored = world.table.get(*login_link_key(token_hash(token)))
    assert stored["tenant_id"] == "t_bia" and stored["type"] == "login_link" and stored["key_id"].startswith("key_")
    assert token not in "\n".join(table_state(world.resources))


def test_links_are_a_tenants_only(world: World) -> None:
    assert world.api("POST", "/api/v1/login-links", key=world.operator_key).status == 403
    assert world.api("POST", "/api/v1/login-links").status == 401
    assert world.api("GET", "/api/v1/login-links", key=world.tenant_key).status in {404, 405}


def test_without_a_public_origin_there_is_no_link(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "")
    before = table_state(world.resources)
    answer = world.api("POST", "/api/v1/login-links", key=world.tenant_key)
    assert answer.status == 503 and "PublicBaseUrl" in answer.body["error"]
    assert table_state(world.resources) == before


def test_the_openapi_document_lists_the_link_route(world: World) -> None:
    document = world.api("GET", "/api/v1/openapi.json").body
    assert "post" in document["paths"]["/api/v1/login-links"]


# -- opening it: a button, nothing spent -------------------------------------------------------------


def test_opening_the_link_shows_a_button_and_spends_nothing(world: World) -> None:
    token = world.login_link()
    before = table_state(world.resources)
    for _ in range(3):  # a link previewer, a mail scanner, the person
        page = world.app("GET", "/app/login", query={"token": token})
        assert page.status == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert 'method="post" action="/app/login"' in page.body
        assert f'name="token" value="{token}"' in page.body and "Entrar no painel" in page.body
        assert "<script" not in page.body
        assert page.headers["referrer-policy"] == "same-origin" and page.headers["cache-control"] == "no-store"
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
    assert table_state(world.resources) == before


def test_the_page_speaks_english_to_an_english_browser(world: World) -> None:
    page = world.app("GET", "/app/login", query={"token": world.login_link()}, headers={"accept-language": "en-US"})
    assert page.status == 200 and 'lang="en"' in page.body and "Sign in" in page.body


@pytest.mark.parametrize("query", ["", "token=", "token=short", "token=" + "A" * 43, "token=a&token=b", "x=1"])
def test_a_page_for_a_bad_link_says_so(world: World, query: str) -> None:
    before = table_state(world.resources)
    page = world.app("GET", "/app/login", query=query)
    assert page.status == 400 and "Link de acesso inválido" in page.body and "funil login" in page.body
    assert table_state(world.resources) == before


# -- signing in --------------------------------------------------------------------------------------


def test_signing_in_spends_the_link_and_sets_the_session_cookie(world: World) -> None:
    token = world.login_link()
    answer = world.app("POST", "/app/login", form=f"token={token}")
    assert answer.status == 303 and answer.headers["location"] == "/app"
    assert answer.headers["cache-control"] == "no-store"
    [cookie] = answer.cookies
    value = COOKIE_RE.match(cookie).group(1)  # type: ignore[union-attr]
    assert world.table.get(*login_link_key(token_hash(token))) is None  # spent
    stored = world.table.get(*session_key(token_hash(value)))
    assert stored["tenant_id"] == "t_bia" and stored["type"] == "session"
    assert stored["expires_at"] - to_epoch_s(utc_now()) in range(43200 - 60, 43201)
    assert value not in "\n".join(table_state(world.resources))  # the cookie is kept only as its hash
    session = world.app("GET", "/app/api/session", cookie=value)
    assert session.status == 200
    assert session.body == {"tenant_id": "t_bia", "tenant_name": "Loja da Bia", "csrf_token": stored["csrf_token"]}
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session.body["csrf_token"])


def test_a_link_signs_in_once(world: World) -> None:
    token = world.login_link()
    world.sign_in(token)
    before = table_state(world.resources)
    again = world.app("POST", "/app/login", form=f"token={token}")
    assert again.status == 400 and again.cookies == [] and "Link de acesso inválido" in again.body
    assert world.app("GET", "/app/login", query={"token": token}).status == 400
    assert table_state(world.resources) == before


def test_an_expired_link_signs_nobody_in_even_while_dynamodb_still_serves_it(world: World) -> None:
    token = world.login_link()
    key = login_link_key(token_hash(token))
    world.table.update(*key, "SET expires_at = :past", {":past": to_epoch_s(utc_now()) - 1})
    before = table_state(world.resources)
    assert world.app("GET", "/app/login", query={"token": token}).status == 400
    assert world.app("POST", "/app/login", form=f"token={token}").status == 400
    assert table_state(world.resources) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": f"http://{HOST}"},  # another scheme is another origin
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_a_sign_in_posted_from_another_site_is_refused_and_spends_nothing(
    world: World, headers: dict[str, str]
) -> None:
    token = world.login_link()
    before = table_state(world.resources)
    answer = world.app("POST", "/app/login", form=f"token={token}", headers=headers)
    assert answer.status == 403 and answer.cookies == [] and "Não foi possível entrar" in answer.body
    assert table_state(world.resources) == before
    assert world.app("GET", "/app/login", query={"token": token}).status == 200  # still good


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": PUBLIC, "host": "internal.example"},  # the public origin (a domain in front of the API)
        {"origin": f"https://{HOST}"},  # the origin the request was sent to
        {"origin": None, "sec-fetch-site": None},  # a client that sends neither
    ],
)
def test_a_sign_in_from_our_own_page_is_taken(world: World, headers: dict[str, str]) -> None:
    answer = world.app("POST", "/app/login", form=f"token={world.login_link()}", headers=headers)
    assert answer.status == 303


@pytest.mark.parametrize("form", ["", "token=", "tok=x", "token=a&token=b", "token=" + "A" * 43, "token=%FF"])
def test_a_bad_form_is_refused_and_changes_nothing(world: World, form: str) -> None:
    world.login_link()
    before = table_state(world.resources)
    answer = world.app("POST", "/app/login", form=form)
    assert answer.status == 400 and answer.cookies == []
    assert table_state(world.resources) == before


# -- sessions ------------------------------------------------------------------------------------------


def test_without_a_session_every_api_route_is_401(world: World) -> None:
    for path in ("/app/api/session", "/app/api/stats", "/app/api/trace", "/app/api/health"):
        answer = world.app("GET", path, query="from=2026-11-01&to=2026-11-30")
        assert answer.status == 401 and set(answer.body) == {"error"} and answer.cookies == []
        assert answer.headers["cache-control"] == "no-store"
    assert world.app("POST", "/app/logout").status == 401


def test_an_unknown_cookie_is_401_and_cleared(world: World) -> None:
    answer = world.app("GET", "/app/api/session", cookie="A" * 43)
    assert answer.status == 401 and answer.cookies == [CLEARED]


def test_an_expired_session_is_refused_even_while_dynamodb_still_serves_it(world: World) -> None:
    cookie = world.sign_in()
    world.table.update(*session_key(token_hash(cookie)), "SET expires_at = :past", {":past": to_epoch_s(utc_now())})
    assert world.app("GET", "/app/api/session", cookie=cookie).status == 401


def test_a_disabled_tenant_has_its_sessions_and_links_refused_at_once(world: World) -> None:
    cookie = world.sign_in()
    token = world.login_link()
    disabled = world.api("PATCH", "/api/v1/tenants/t_bia", {"enabled": False}, key=world.operator_key)
    assert disabled.status == 200
    assert world.app("GET", "/app/api/session", cookie=cookie).status == 401
    assert world.app("GET", "/app/api/health", cookie=cookie).status == 401
    before = table_state(world.resources)
    assert world.app("POST", "/app/login", form=f"token={token}").status == 400
    assert table_state(world.resources) == before
    world.api("PATCH", "/api/v1/tenants/t_bia", {"enabled": True}, key=world.operator_key)
    assert world.app("GET", "/app/api/session", cookie=cookie).status == 200


def test_each_session_is_its_own_tenants(world: World) -> None:
    other_key = create_tenant(world.table, TenantCreate(id="t_ana", name="Loja da Ana"), utc_now)[1].key
    mine, theirs = world.sign_in(), world.sign_in(world.login_link(other_key))
    assert world.app("GET", "/app/api/session", cookie=mine).body["tenant_id"] == "t_bia"
    assert world.app("GET", "/app/api/session", cookie=theirs).body["tenant_name"] == "Loja da Ana"


# -- signing out: CSRF -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-csrf-token": ""},
        {"x-csrf-token": "A" * 43},
        {"x-csrf-token": "<csrf>", "origin": "https://evil.example"},
        {"x-csrf-token": "<csrf>", "sec-fetch-site": "cross-site"},
    ],
)
def test_signing_out_without_the_csrf_token_or_from_another_site_is_403(world: World, headers: dict[str, str]) -> None:
    cookie = world.sign_in()
    csrf = world.csrf(cookie)
    before = table_state(world.resources)
    sent = {name: value.replace("<csrf>", csrf) for name, value in headers.items()}
    answer = world.app("POST", "/app/logout", cookie=cookie, headers=sent)
    assert answer.status == 403 and answer.cookies == []
    assert table_state(world.resources) == before
    assert world.app("GET", "/app/api/session", cookie=cookie).status == 200


def test_signing_out_ends_the_session_and_clears_the_cookie(world: World) -> None:
    cookie = world.sign_in()
    other = world.sign_in()  # another browser of the same tenant stays signed in
    answer = world.app(
        "POST", "/app/logout", cookie=cookie, headers={"x-csrf-token": world.csrf(cookie), "origin": PUBLIC}
    )
    assert answer.status == 204 and answer.cookies == [CLEARED]
    assert world.table.get(*session_key(token_hash(cookie))) is None
    assert world.app("GET", "/app/api/session", cookie=cookie).status == 401
    assert world.app("GET", "/app/api/session", cookie=other).status == 200


def test_one_sessions_csrf_token_does_not_sign_out_another(world: World) -> None:
    mine, other = world.sign_in(), world.sign_in()
    answer = world.app("POST", "/app/logout", cookie=mine, headers={"x-csrf-token": world.csrf(other)})
    assert answer.status == 403


def test_the_table_keeps_sign_in_items_under_their_own_keys(world: World) -> None:
    """Sign-in links and sessions are the only items the dashboard writes (its IAM policy says so)."""
    before = {json.loads(item)["pk"]["S"] for item in table_state(world.resources)}
    world.sign_in()
    after = {json.loads(item)["pk"]["S"] for item in table_state(world.resources)}
    assert all(pk.startswith(("SESSION#", "LOGIN#")) for pk in after - before)
    assert keys.tenant("t_bia")[0] in after


def test_two_sign_ins_racing_for_one_link_make_one_session(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second reads the link before the first spends it: the transaction's condition refuses it."""
    from funil.dashboard import sessions

    token = world.login_link()
    stale = world.table.get(*login_link_key(token_hash(token)))
    world.sign_in(token)
    monkeypatch.setattr(sessions, "find_login_link", lambda items, token, now: stale)
    before = table_state(world.resources)
    late = world.app("POST", "/app/login", form=f"token={token}")
    assert late.status == 400 and late.cookies == []
    assert table_state(world.resources) == before
