"""The operator's API through its real handler: API keys, tenants, errors, the OpenAPI document.

Collections have their own files (test_admin_<collection>.py); this one holds what every route
shares: authentication before anything else, one error shape, 422 naming each field, nothing
written by a refused request, and a document that validates as OpenAPI 3.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from funil.clock import utc_now
from funil.operator.api_keys import create_operator_key, key_hash
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import given
from hypothesis import strategies as st

from local import aws
from tests.admin_api import Answer, caller, table_state
from tests.conftest import modules_after_import
from tests.integration.test_hostile_input import route


@pytest.fixture
def api(invoke: Callable[..., Any]) -> Callable[..., Answer]:
    return caller(invoke)


@pytest.fixture
def operator_key(table: Any) -> str:
    return create_operator_key(table, "deploy", utc_now).key


@pytest.fixture
def tenant_key(table: Any) -> str:
    return create_tenant(table, TenantCreate(id="t_bia", name="Loja da Bia"), utc_now)[1].key


# -- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic Zm5sXzpmbmxf",
        "Bearer fnl_not-a-key-of-ours",
        "fnl_without_scheme",
        "Bearer " + "x" * 300,
    ],
)
def test_a_request_without_a_valid_key_is_refused_before_its_body_is_read(
    api: Callable[..., Answer], invoke: Callable[..., Any], authorization: str | None
) -> None:
    from tests.admin_api import api_event

    event = api_event("POST", "/api/v1/tenants", "{not json", key="x")
    if authorization is None:
        del event["headers"]["authorization"]
    else:
        event["headers"]["authorization"] = authorization
    answer = invoke("AdminApiFunction", event)
    assert answer["statusCode"] == 401  # not 422: an anonymous caller learns nothing about the routes
    assert answer["headers"]["www-authenticate"] == "Bearer"
    assert set(json.loads(answer["body"])) == {"error"}


def test_a_revoked_key_stops_working_at_once(api: Callable[..., Answer], tenant_key: str) -> None:
    created = api("POST", "/api/v1/keys", {"name": "n8n"}, key=tenant_key)
    assert created.status == 201
    second = created.body["key"]
    assert api("GET", "/api/v1/keys", key=second).status == 200
    revoked = api("DELETE", f"/api/v1/keys/{created.body['id']}", key=tenant_key)
    assert revoked.status == 200 and revoked.body["revoked_at"]
    assert api("GET", "/api/v1/keys", key=second).status == 401
    assert api("GET", "/api/v1/keys", key=tenant_key).status == 200


def test_a_key_is_shown_once_and_stored_only_as_its_hash(
    api: Callable[..., Answer], aws_env: aws.Resources, tenant_key: str
) -> None:
    created = api("POST", "/api/v1/keys", {"name": "painel"}, key=tenant_key).body
    plaintext = created["key"]
    assert plaintext.startswith("fnl_") and len(plaintext) >= 4 + 43  # 256 random bits, base64url
    stored = "\n".join(table_state(aws_env))
    assert plaintext not in stored and key_hash(plaintext) in stored
    listed = api("GET", "/api/v1/keys", key=tenant_key).body["items"]
    assert {key["name"] for key in listed} == {"primeira chave", "painel"}
    assert all("key" not in key for key in listed)
    assert plaintext not in json.dumps(listed)


def test_last_used_at_is_written_at_most_once_a_minute(
    api: Callable[..., Answer], table: Any, tenant_key: str, aws_calls: list[tuple[str, str]]
) -> None:
    api("GET", "/api/v1/keys", key=tenant_key)
    first = api("GET", "/api/v1/keys", key=tenant_key).body["items"][0]["last_used_at"]
    aws_calls.clear()
    for _ in range(3):
        api("GET", "/api/v1/keys", key=tenant_key)
    assert ("dynamodb", "UpdateItem") not in aws_calls
    assert api("GET", "/api/v1/keys", key=tenant_key).body["items"][0]["last_used_at"] == first


# -- kinds of key and tenants ---------------------------------------------------------------------


def test_the_operator_creates_a_tenant_whose_first_key_works(api: Callable[..., Answer], operator_key: str) -> None:
    created = api("POST", "/api/v1/tenants", {"id": "t_loja", "name": "Loja", "country": "pt"}, key=operator_key)
    assert created.status == 201
    assert created.body["tenant"] == {
        "id": "t_loja",
        "name": "Loja",
        "timezone": "America/Sao_Paulo",
        "country": "pt",
        "enabled": True,
    }
    key = created.body["api_key"]["key"]
    listed = api("GET", "/api/v1/keys", key=key)
    assert listed.status == 200 and [item["tenant_id"] for item in listed.body["items"]] == ["t_loja"]
    assert api("GET", "/api/v1/tenants/t_loja", key=operator_key).body["name"] == "Loja"
    assert api("PATCH", "/api/v1/tenants/t_loja", {"name": None}, key=operator_key).error_fields == ["name"]
    assert api("PATCH", "/api/v1/tenants/t_loja", {"enabled": False}, key=operator_key).body["enabled"] is False
    assert api("GET", "/api/v1/keys", key=key).status == 401  # a disabled tenant's keys stop working at once
    api("PATCH", "/api/v1/tenants/t_loja", {"enabled": True}, key=operator_key)
    assert api("GET", "/api/v1/keys", key=key).status == 200


def test_tenants_are_the_operators_and_a_tenant_key_is_forbidden_there(
    api: Callable[..., Answer], tenant_key: str
) -> None:
    for method, path, body in [
        ("GET", "/api/v1/tenants", None),
        ("POST", "/api/v1/tenants", {"name": "Outra"}),
        ("GET", "/api/v1/tenants/t_bia", None),
        ("PATCH", "/api/v1/tenants/t_bia", {"name": "Minha"}),
    ]:
        answer = api(method, path, body, key=tenant_key)
        assert answer.status == 403, (method, path)
        assert "operator" in answer.body["error"]


def test_the_wrong_kind_of_key_is_refused_before_the_body_is_read(
    api: Callable[..., Answer], operator_key: str, tenant_key: str
) -> None:
    assert api("POST", "/api/v1/bots", {"token": "not a token"}, key=operator_key).status == 403
    assert api("POST", "/api/v1/tenants", {"nome": 1}, key=tenant_key).status == 403
    assert api("POST", "/api/v1/keys", {}, key=operator_key).status == 422  # keys take either kind


def test_a_keys_page_cursor_names_a_key_id_never_a_stored_hash(
    api: Callable[..., Answer], tenant_key: str, table: Any
) -> None:
    import base64

    for name in ("a", "b"):
        api("POST", "/api/v1/keys", {"name": name}, key=tenant_key)
    page = api("GET", "/api/v1/keys", key=tenant_key, limit=1).body
    cursor = page["next_cursor"]
    decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert decoded == {"after": page["items"][0]["id"]}
    assert "APIKEY" not in json.dumps(decoded)


@pytest.mark.parametrize(
    "key",
    [
        {"gsi2pk": "TENANTS"},
        {"gsi2pk": "TENANTS", "gsi2sk": "t_0"},
        {"pk": 1, "sk": "x", "gsi2pk": "TENANTS", "gsi2sk": "t"},
    ],
)
def test_a_crafted_cursor_is_refused_as_input(
    api: Callable[..., Answer], operator_key: str, key: dict[str, Any]
) -> None:
    from funil.operator.paging import encode_cursor

    answer = api("GET", "/api/v1/tenants", key=operator_key, cursor=encode_cursor(key))
    assert answer.status == 422 and answer.error_fields == ["cursor"]


def test_operator_keys_and_tenant_keys_list_and_revoke_only_their_own(
    api: Callable[..., Answer], operator_key: str, tenant_key: str, table: Any
) -> None:
    other = create_tenant(table, TenantCreate(id="t_outra", name="Outra"), utc_now)[1]
    operator_keys = api("GET", "/api/v1/keys", key=operator_key).body["items"]
    assert [key["tenant_id"] for key in operator_keys] == [None]
    assert api("DELETE", f"/api/v1/keys/{other.id}", key=tenant_key).status == 404
    assert api("DELETE", f"/api/v1/keys/{other.id}", key=operator_key).status == 404
    assert api("GET", "/api/v1/keys", key=other.key).status == 200


def test_a_taken_tenant_id_is_a_conflict_that_writes_no_key(
    api: Callable[..., Answer], aws_env: aws.Resources, operator_key: str, tenant_key: str
) -> None:
    before = table_state(aws_env)
    answer = api("POST", "/api/v1/tenants", {"id": "t_bia", "name": "De novo"}, key=operator_key)
    assert answer.status == 409
    assert table_state(aws_env) == before


def test_pages_follow_next_cursor_and_a_cursor_is_bound_to_its_list(
    api: Callable[..., Answer], operator_key: str, table: Any
) -> None:
    for index in range(3):
        create_tenant(table, TenantCreate(id=f"t_{index}", name=f"Loja {index}"), utc_now)
    seen, cursor = [], None
    while True:
        page = api("GET", "/api/v1/tenants", key=operator_key, limit=2, **({"cursor": cursor} if cursor else {})).body
        assert len(page["items"]) <= 2
        seen += [tenant["id"] for tenant in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == ["t_0", "t_1", "t_2"]
    tenant_keys = api("GET", "/api/v1/keys", key=create_tenant(table, TenantCreate(name="X"), utc_now)[1].key, limit=1)
    foreign = api("GET", "/api/v1/tenants", key=operator_key, limit=2).body["next_cursor"]
    answer = api("GET", "/api/v1/keys", key=operator_key, cursor=foreign)
    assert answer.status == 422 and answer.error_fields == ["cursor"]
    assert tenant_keys.status == 200


# -- errors ---------------------------------------------------------------------------------------


def test_invalid_input_names_each_bad_field_and_writes_nothing(
    api: Callable[..., Answer], aws_env: aws.Resources, operator_key: str
) -> None:
    before = table_state(aws_env)
    answer = api("POST", "/api/v1/tenants", {"id": "has space", "name": "", "country": "BRA", "x": 1}, key=operator_key)
    assert answer.status == 422
    assert sorted(answer.error_fields) == ["country", "id", "name", "x"]
    assert api("POST", "/api/v1/tenants", "{not json", key=operator_key).error_fields == ["body"]
    assert api("GET", "/api/v1/tenants", key=operator_key, limit=0).error_fields == ["limit"]
    assert table_state(aws_env) == before


def test_unknown_routes_and_methods_answer_json(api: Callable[..., Answer], tenant_key: str) -> None:
    answer = api("GET", "/api/v1/nothing-here", key=tenant_key)
    assert answer.status == 404 and "openapi.json" in answer.body["error"]


@given(
    authorization=st.one_of(st.none(), st.text(max_size=80), st.just("Bearer fnl_").map(lambda p: p + "a" * 43)),
    body=st.one_of(
        st.text(max_size=200),
        st.dictionaries(st.sampled_from(["id", "name", "timezone", "country", "enabled"]), st.from_type(object)),
    ),
)
@route(tests=1)
def test_hostile_requests_never_fail_inside_and_change_nothing_when_refused(
    invoke: Callable[..., Any], aws_env: aws.Resources, authorization: str | None, body: Any
) -> None:
    from tests.admin_api import api_event

    raw = body if isinstance(body, str) else json.dumps(body, default=repr)
    event = api_event("POST", "/api/v1/tenants", raw, key="x")
    if authorization is None:
        del event["headers"]["authorization"]
    else:
        event["headers"]["authorization"] = authorization
    before = table_state(aws_env)
    answer = invoke("AdminApiFunction", event)
    assert answer["statusCode"] in {401, 403, 422}, answer
    assert "Traceback" not in answer["body"]
    assert table_state(aws_env) == before


# -- the document ---------------------------------------------------------------------------------


def test_the_openapi_document_validates_and_lists_every_collection(api: Callable[..., Answer]) -> None:
    from openapi_spec_validator import validate

    answer = api("GET", "/api/v1/openapi.json")
    assert answer.status == 200
    document = answer.body
    validate(document)
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/tenants", "/api/v1/keys", "/api/v1/keys/{key_id}"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    # Failures are documented as they are answered: one shape, every status a route can give.
    assert "HTTPValidationError" not in json.dumps(document)
    create = document["paths"]["/api/v1/tenants"]["post"]["responses"]
    assert {"201", "401", "403", "409", "422"} <= set(create)
    assert create["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    docs = api("GET", "/api/v1/docs")
    assert docs.status == 200 and "swagger" in docs.body.lower()


def test_each_path_is_served_by_the_collection_its_first_segment_names(api: Callable[..., Answer]) -> None:
    """The function imports a collection's routes on its first request, by the path's first segment
    (``ROUTE_MODULES``): each documented path must belong to the module that segment names."""
    from funil import wiring
    from funil.config import settings
    from funil.operator.routes import PREFIX, ROUTE_MODULES, build

    paths = set(api("GET", "/api/v1/openapi.json").body["paths"])
    operator_api = build(wiring.operator(settings()))
    served: dict[str, set[str]] = {}
    for path in paths:
        segment = path.removeprefix(PREFIX + "/").split("/", 1)[0]
        assert segment in ROUTE_MODULES, path
        module = ROUTE_MODULES[segment]
        if module not in served:
            schema = operator_api.app_for(f"{PREFIX}/{segment}").get_openapi_schema(title="t", version="1")
            served[module] = set(schema.paths or {})
        assert path in served[module], (path, module)
    assert set(ROUTE_MODULES.values()) == set(served)  # no collection left undocumented
    import pkgutil

    from funil.operator import routes

    on_disk = {module.name for module in pkgutil.iter_modules(routes.__path__)}
    assert on_disk == set(served), "a module of funil.operator.routes no path segment reaches"


def test_the_function_imports_no_collection_before_its_first_request(aws_env: aws.Resources) -> None:
    assert modules_after_import(aws_env, "AdminApiFunction", "funil.operator.routes.") == []
