"""The operator's HTTP API: one Powertools resolver, one router per collection (docs/operator-api.md).

``OperatorApi`` authenticates before anything else reads the request (a request without a valid key
gets its 401 whatever its body), then lets the resolver route and validate it. Each collection's
module gives ``routes(deps, access) -> Router``; its functions stay a few lines over ``funil.operator``.
Every failure is one JSON shape: ``{"error", "fields"?}`` (``funil.operator.errors``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from importlib import import_module
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query

from funil.api import json_answer, resolver
from funil.operator.api_keys import Caller, authenticate
from funil.operator.errors import FieldProblem, Forbidden, Invalid, OperatorError, Unauthorized
from funil.operator.paging import MAX_LIMIT
from funil.operator.ports import OperatorDeps
from funil.untrusted import UntrustedInput, load_json

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import SecurityScheme

PREFIX = "/api/v1"
OPENAPI_PATH = f"{PREFIX}/openapi.json"
DOCS_PATH = f"{PREFIX}/docs"
PUBLIC_PATHS = frozenset({OPENAPI_PATH, DOCS_PATH})
TITLE = "Funil operator API"
VERSION = "1.0.0"

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-100)")]
Cursor = Annotated[str | None, Query(max_length=2048, description="The next_cursor of the previous page")]

_caller: ContextVar[Caller | None] = ContextVar("funil_operator_caller", default=None)


class Access:
    """Who the current request is from, and what its key may do."""

    def caller(self) -> Caller:
        caller = _caller.get()
        if caller is None:  # a public route never asks; a private one always has a caller
            raise Unauthorized("an API key is required: Authorization: Bearer fnl_…")
        return caller

    def tenant(self) -> str:
        """The tenant the request acts for (a tenant's key); Forbidden for the operator's key."""
        caller = self.caller()
        if caller.tenant_id is None:
            raise Forbidden(TENANT_ONLY)
        return caller.tenant_id

    def operator(self) -> Caller:
        caller = self.caller()
        if not caller.is_operator:
            raise Forbidden(OPERATOR_ONLY)
        return caller


TENANT_ONLY = "this route takes a tenant's API key, not the operator's"
OPERATOR_ONLY = "this route takes the deployment operator's API key"
OPERATOR_PATHS = (f"{PREFIX}/tenants",)  # the operator's alone
EITHER_PATHS = (f"{PREFIX}/keys",)  # each kind of key manages its own kind; everything else is a tenant's


def _check_kind(path: str, caller: Caller) -> None:
    """The key's kind against the route's, before the body is validated: a wrong key learns nothing
    of what the route would accept. (Each route asks ``Access`` again: this is the early answer.)"""

    def under(prefixes: tuple[str, ...]) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)

    if under(OPERATOR_PATHS):
        if not caller.is_operator:
            raise Forbidden(OPERATOR_ONLY)
    elif not under(EITHER_PATHS) and caller.is_operator:
        raise Forbidden(TENANT_ONLY)


def new_router() -> Router:
    """A collection's router (``routes(deps, access)`` returns one)."""
    return Router()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped


def validation_problems(errors: Any) -> list[FieldProblem]:
    """Pydantic's errors as the fields they name: a body's field by its path, a query or path
    parameter by its name (the location's first part, ``body``/``query``/``path``, dropped)."""
    problems = []
    for error in errors or []:
        location = [str(part) for part in error.get("loc", ())]
        if location[:1] in (["body"], ["query"], ["path"], ["header"]):
            location = location[1:]
        field = "body" if error.get("type") == "json_invalid" else ".".join(location) or "body"
        problems.append(FieldProblem(field, str(error.get("msg") or "invalid")))
    return problems


def _mount_errors(app: APIGatewayHttpResolver) -> None:
    @app.not_found
    def no_route(_: Exception) -> Response[str]:
        return json_answer(404, {"error": "no such route: see /api/v1/openapi.json"})

    @app.exception_handler(OperatorError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
    def operator_error(error: OperatorError) -> Response[str]:
        return json_answer(error.status, error.body())

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid(error: RequestValidationError) -> Response[str]:
        problems = validation_problems(error.errors())
        return json_answer(422, Invalid("invalid input", problems).body())


RouterFactory = Callable[[OperatorDeps, Access], Any]

# The first path segment under /api/v1 → the module of ``funil.operator.routes`` that serves it. A
# request needs one collection: each is imported (its models with it) on its first request, not
# with the function (every collection's models at import cost about twice the cold-start floor).
ROUTE_MODULES = {
    "tenants": "tenants",
    "keys": "keys",
    "bots": "bots",
    "gateways": "gateways",
    "pixels": "pixels",
    "offers": "offers",
    "links": "links",
    "subjects": "subjects",
    "ad-accounts": "ad_accounts",
    "stats": "stats",
    "sales": "sales",
    "clicks": "sales",
    "leads": "sales",
    "login-links": "login_links",
    "broadcasts": "broadcasts",
    "domains": "domains",
    "destinations": "destinations",
    "notifications": "notifications",
    "incidents": "incidents",
}
EVERY_COLLECTION = "*"


def build(deps: OperatorDeps, modules: Mapping[str, str] = ROUTE_MODULES) -> OperatorApi:
    return OperatorApi(deps, modules)


def _resolver(deps: OperatorDeps, access: Access, names: list[str], *, document: bool) -> APIGatewayHttpResolver:
    """A resolver with the routes of ``names``; with ``document``, the OpenAPI document and docs."""
    app = resolver("operator api", enable_validation=True)
    _mount_errors(app)
    for name in names:
        routes: RouterFactory = import_module(f"{__name__}.{name}").routes
        app.include_router(routes(deps, access), prefix=PREFIX)
    if not document:
        return app

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi() -> Response[str]:
        document = json.loads(
            app.get_openapi_json_schema(
                title=TITLE, version=VERSION, security_schemes=_security_schemes(), security=[{"apiKey": []}]
            )
        )
        return json_answer(200, with_error_answers(document))

    app.enable_swagger(path=DOCS_PATH, title=TITLE, version=VERSION, security_schemes=_security_schemes())
    return app


def _security_schemes() -> dict[str, SecurityScheme]:
    # Off the cold path: Powertools' OpenAPI models take ~130 ms to import and only the document
    # and the docs page need them (request validation does not).
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return {"apiKey": HTTPBearer(bearerFormat="fnl_…", description="An API key")}


ERROR_ANSWERS = {
    "401": "No API key, an unknown or revoked one, or its tenant is disabled",
    "403": "The wrong kind of key for this route (a tenant's or the operator's)",
    "404": "No such resource for this tenant (another tenant's is answered the same)",
    "409": "The id is taken, or the resource changed while the request ran",
    "422": "Invalid input: each bad field named (also the outside world's verdict on a token or credentials)",
    "502": "Telegram, the gateway or Meta failed: nothing was written, retry",
    "503": "The deployment lacks what the request needs (PublicBaseUrl)",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def with_error_answers(document: dict[str, Any]) -> dict[str, Any]:
    """The document with the answers every route really gives on failure, in their one shape
    (Powertools documents its own 422 body, which ``_mount_errors`` replaces)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    schemas["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            answers.update({status: {"description": text, "content": error} for status, text in ERROR_ANSWERS.items()})
    return document


class OperatorApi:
    """The Lambda entry: authenticate, then route through the resolver of the path's collection."""

    def __init__(self, deps: OperatorDeps, modules: Mapping[str, str]) -> None:
        self.deps = deps
        self.modules = dict(modules)
        self.access = Access()
        self._apps: dict[str, APIGatewayHttpResolver] = {}

    def app_for(self, path: str) -> APIGatewayHttpResolver:
        """The resolver that serves ``path`` (built on its first request); the OpenAPI document and
        the docs page take every collection; an unknown collection, a resolver that answers 404."""
        if path in PUBLIC_PATHS:
            key, names = EVERY_COLLECTION, sorted(set(self.modules.values()))
        else:
            segment = path.removeprefix(PREFIX + "/").split("/", 1)[0] if path.startswith(PREFIX + "/") else ""
            key = self.modules.get(segment, "")
            names = [key] if key else []
        app = self._apps.get(key)
        if app is None:
            app = self._apps[key] = _resolver(self.deps, self.access, names, document=key == EVERY_COLLECTION)
        return app

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        path = str(event.get("rawPath") or "")
        caller: Caller | None = None
        try:
            if path not in PUBLIC_PATHS:
                headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
                caller = authenticate(self.deps.items, headers.get("authorization"), self.deps.now())
                _check_kind(path, caller)
            _check_body(event)
        except Unauthorized as refused:
            return _proxy_answer(refused, {"www-authenticate": "Bearer"})
        except (Forbidden, Invalid) as refused:
            return _proxy_answer(refused)
        token = _caller.set(caller)
        try:
            return self.app_for(path).resolve(event, context)
        finally:
            _caller.reset(token)


def _check_body(event: dict[str, Any]) -> None:
    """A body the resolver may parse: bounded in size and depth, numbers of sane length (its own
    ``json.loads`` would fail inside, with a 500, on a deep nesting or a 5,000-digit number)."""
    body = event.get("body")
    if not body:
        return
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body
        load_json(raw)
    except (UntrustedInput, binascii.Error) as error:
        raise Invalid.field("body", str(error) if isinstance(error, UntrustedInput) else "not base64") from None


def _proxy_answer(error: OperatorError, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An answer given before the resolver runs, in its shape."""
    return {
        "statusCode": error.status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(error.body(), ensure_ascii=False, separators=(",", ":")),
    }
