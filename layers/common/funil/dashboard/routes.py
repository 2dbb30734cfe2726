"""``/app``: the dashboard's routes on one Powertools resolver (docs/dashboard.md).

Pages: ``GET /app``, ``/app/`` and any ``/app/<page>`` without a dot give the single-page app's shell
(``static/index.html``, never cached); ``GET /app/static/<file>`` its files (``funil.dashboard.static``);
``GET /app/login?token=`` the sign-in button and ``POST /app/login`` the sign-in
(``funil.dashboard.sessions``); ``POST /app/logout``.

JSON (``/app/api/…``): ``session``, ``stats``, ``trace``, ``health``. Each checks, in order: a live
session of an enabled tenant (401 otherwise, before the query is read: an anonymous caller learns
nothing), the query (422 naming each parameter), then reads that tenant's data only. Logging out,
like any state-changing request, also needs the session's CSRF token and a same-origin browser
(403). Every answer carries the security headers; pages a strict CSP (no inline script).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from funil import http
from funil.api import resolver
from funil.dashboard import login, sessions
from funil.dashboard.ports import DashboardDeps
from funil.dashboard.queries import QueryRefused, query_params, stats_params, trace_query
from funil.dashboard.static import StaticFiles
from funil.observability import count
from funil.operator.errors import Invalid
from funil.operator.login_links import find_login_link

__all__ = ["SHELL_CSP", "build"]

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
SHELL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
STATIC_CACHE = "public, max-age=300"
NO_STORE = "no-store"
SHELL = "index.html"
NOT_PAGES = frozenset({"api", "login", "logout", "static"})  # /app/<these>… are never the shell
MAX_FORM_BYTES = 1024
SIGNED_OUT = {"error": "not signed in: open a sign-in link (funil login gives one)"}


def _answer(
    status: int,
    body: str | bytes,
    content_type: str | None,
    headers: Mapping[str, str] | None = None,
    cookies: Sequence[str] = (),
) -> Response[Any]:
    merged = {**SECURITY_HEADERS, "Cache-Control": NO_STORE, **(headers or {})}
    cookie_values: Any = list(cookies)  # Set-Cookie values (Powertools' Cookie objects print as these)
    return Response(status_code=status, content_type=content_type, body=body, headers=merged, cookies=cookie_values)


def _json(status: int, payload: Any, cookies: Sequence[str] = ()) -> Response[Any]:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return _answer(status, text, "application/json", {"Content-Security-Policy": JSON_CSP}, cookies)


def _html(status: int, page: str, headers: Mapping[str, str], cookies: Sequence[str] = ()) -> Response[Any]:
    return _answer(status, page, "text/html; charset=utf-8", headers, cookies)


def _form_token(event: http.Event) -> str | None:
    """The ``token`` of a sign-in form's body (urlencoded, base64 when API Gateway encoded it)."""
    raw = http.body_bytes(event, limit=MAX_FORM_BYTES)
    if raw is None:
        return None
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, max_num_fields=4, errors="strict")
    except (ValueError, UnicodeDecodeError):
        return None
    tokens = [value for name, value in pairs if name == "token"]
    return tokens[0] if len(tokens) == 1 else None


def _event(app: APIGatewayHttpResolver) -> http.Event:
    raw: http.Event = app.current_event.raw_event
    return raw


def _signed_out(app: APIGatewayHttpResolver) -> Response[Any]:
    presented = sessions.presented_cookie(_event(app)) is not None
    return _json(401, SIGNED_OUT, [sessions.cleared_cookie()] if presented else ())


def build(deps: DashboardDeps, static: StaticFiles) -> APIGatewayHttpResolver:
    """The resolver: errors, then the routes in the order they are matched (the shell's catch-all last)."""
    app = resolver("dashboard")

    @app.not_found
    def not_found(_: Exception) -> Response[Any]:
        return _json(404, {"error": "no such page"})

    @app.exception_handler(QueryRefused)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
    def refused_query(error: QueryRefused) -> Response[Any]:
        return _json(422, error.body())

    @app.exception_handler(Invalid)  # type: ignore[untyped-decorator]
    def invalid(error: Invalid) -> Response[Any]:
        return _json(422, error.body())

    shell = _mount_files(app, static)
    _mount_sign_in(app, deps)
    _mount_api(app, deps)

    @app.get("/app/[^.]+")  # the app's own pages: matched last, after every route above
    def page() -> Response[Any]:
        path = str(_event(app).get("rawPath") or "")
        first = path.removeprefix("/app/").split("/", 1)[0]
        if first in NOT_PAGES or "%" in path:
            return _json(404, {"error": "no such page"})
        return shell()

    return app


def _mount_files(app: APIGatewayHttpResolver, static: StaticFiles) -> Callable[[], Response[Any]]:
    """The shell at /app and /app/, the files under /app/static/; gives the shell's answer."""

    def shell() -> Response[Any]:
        page = static.get(SHELL)
        if page is None:
            return _json(503, {"error": "this deployment has no dashboard page (functions/dashboard/static)"})
        headers = {"Content-Security-Policy": SHELL_CSP, "Vary": "Accept-Encoding"}
        if page.gzipped is not None and http.accepts_gzip(_event(app)):
            return _answer(200, page.gzipped, page.content_type, {**headers, "Content-Encoding": "gzip"})
        return _answer(200, page.body, page.content_type, headers)

    @app.get("/app")
    def root() -> Response[Any]:
        return shell()

    @app.get("/app/")
    def home() -> Response[Any]:
        return shell()

    @app.get("/app/static/.+")
    def static_file() -> Response[Any]:
        event = _event(app)
        found = static.get(str(event.get("rawPath") or "").removeprefix("/app/static/"))
        if found is None:
            return _json(404, {"error": "no such file"})
        headers = {"Cache-Control": STATIC_CACHE, "ETag": found.etag, "Vary": "Accept-Encoding"}
        if found.etag in (http.header(event, "if-none-match") or "").split(", "):
            return _answer(304, "", None, headers)
        if found.gzipped is not None and http.accepts_gzip(event):
            return _answer(200, found.gzipped, found.content_type, {**headers, "Content-Encoding": "gzip"})
        return _answer(200, found.body, found.content_type, headers)

    return shell


def _mount_sign_in(app: APIGatewayHttpResolver, deps: DashboardDeps) -> None:
    @app.get("/app/login")
    def login_page() -> Response[Any]:
        event = _event(app)
        try:
            token = query_params(event).get("token", "")
        except QueryRefused:
            token = ""
        language = http.header(event, "accept-language")
        if find_login_link(deps.items, token, deps.now()) is None:
            page, nonce = login.refused_page(language)
            return _html(400, page, login.page_headers(nonce))
        page, nonce = login.sign_in_page(token, language)
        return _html(200, page, login.page_headers(nonce))

    @app.post("/app/login")
    def sign_in() -> Response[Any]:
        event = _event(app)
        language = http.header(event, "accept-language")
        if not sessions.origin_allowed(event, deps.public_base_url):
            count("DashboardSignInsRefused")
            page, nonce = login.refused_page(language, cross_site=True)
            return _html(403, page, login.page_headers(nonce))
        try:
            created = sessions.sign_in(deps, _form_token(event) or "")
        except sessions.RefusedSignIn:
            count("DashboardSignInsRefused")
            page, nonce = login.refused_page(language)
            return _html(400, page, login.page_headers(nonce))
        count("DashboardSignIns")
        return _answer(303, "", None, {"Location": "/app"}, [sessions.session_cookie(created.cookie_value)])

    @app.post("/app/logout")
    def sign_out() -> Response[Any]:
        event = _event(app)
        session = sessions.current_session(deps, event)
        if session is None:
            return _signed_out(app)
        if not sessions.csrf_allowed(event, session, deps.public_base_url):
            return _json(403, {"error": "refused: the X-CSRF-Token header or the Origin is not this dashboard's"})
        sessions.sign_out(deps, session)
        return _answer(204, "", None, cookies=[sessions.cleared_cookie()])


def _mount_api(app: APIGatewayHttpResolver, deps: DashboardDeps) -> None:
    @app.get("/app/api/session")
    def session_view() -> Response[Any]:
        session = sessions.current_session(deps, _event(app))
        return _signed_out(app) if session is None else _json(200, session.as_json())

    @app.get("/app/api/stats")
    def stats() -> Response[Any]:
        session = sessions.current_session(deps, _event(app))
        if session is None:
            return _signed_out(app)
        from funil.analytics.dimensions import DIMENSIONS
        from funil.operator.routes.stats import stats_answer

        params = stats_params(query_params(_event(app)), DIMENSIONS)
        return _json(200, stats_answer(deps.items, session.tenant_id, params))

    @app.get("/app/api/trace")
    def trace() -> Response[Any]:
        session = sessions.current_session(deps, _event(app))
        if session is None:
            return _signed_out(app)
        from funil.analytics.trace import TraceNotFound, sale_trace

        asked = trace_query(query_params(_event(app)))
        try:
            found = sale_trace(
                deps.items,
                session.tenant_id,
                payment_id=asked.payment_id,
                click_token=asked.click_token,
                bot_id=asked.bot_id,
                telegram_user_id=asked.telegram_user_id,
                now=deps.now(),
            )
        except TraceNotFound:
            return _json(404, {"error": "nothing of yours by that id"})
        return _json(200, found.model_dump(mode="json"))

    @app.get("/app/api/health")
    def health() -> Response[Any]:
        session = sessions.current_session(deps, _event(app))
        if session is None:
            return _signed_out(app)
        from funil.dashboard.health import tenant_health  # its reads' modules: only when asked

        return _json(200, tenant_health(deps.items, session.tenant_id, deps.now()))
