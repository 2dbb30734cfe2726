"""Banco Central's API Pix OpenAPI (``tests/oracles/bacen-pix-api-2.9.0.yaml``) as a request oracle.

``validate_request`` finds the operation for a recorded ``httpx.Request`` (path template + method),
checks its path and query parameters and its JSON body against the spec's schemas (OpenAPI 3.0
dialect, ``$ref`` resolved inside the document, formats such as ``date-time`` checked), and
enforces the anchored ``^[a-zA-Z0-9]{26,35}$`` for txid, since the spec's patterns are unanchored.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(__file__).resolve().parents[2] / "oracles" / "bacen-pix-api-2.9.0.yaml"
BASE = "urn:bacen-pix-api"
TXID_ANCHORED = re.compile(r"^[a-zA-Z0-9]{26,35}$")


class OracleViolation(AssertionError):
    pass


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert loaded["info"]["version"] == "2.9.0"
    return loaded


@cache
def _registry() -> Registry:  # type: ignore[type-arg]
    return Registry().with_resource(BASE, Resource.from_contents(spec(), default_specification=DRAFT4))


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _validate(instance: Any, pointer: str, what: str) -> None:
    validator = OAS30Validator(
        {"$ref": f"{BASE}#/{pointer}"}, registry=_registry(), format_checker=OAS30Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.path))
    if errors:
        raise OracleViolation(f"{what}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5]))


def _resolve(node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Follow a local ``$ref`` once; return the node and its JSON pointer when it was a ref."""
    ref = node.get("$ref")
    if not ref:
        return node, None
    target: Any = spec()
    for part in ref.removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target, ref.removeprefix("#/")


def operation_for(method: str, path: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    for template, item in spec()["paths"].items():
        names = re.findall(r"{([^}]+)}", template)
        regex = "^" + re.sub(r"{[^}]+}", "([^/]+)", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")) + "$"
        match = re.match(regex, path)
        if match and method.lower() in item:
            return template, item, dict(zip(names, match.groups(), strict=True))
    raise OracleViolation(f"{method} {path}: no such operation in API Pix 2.9.0")


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return int(value) if re.fullmatch(r"-?\d+", value) else value
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


def validate_request(request: httpx.Request, *, base_path: str, extra_query: frozenset[str] = frozenset()) -> str:
    """Raise ``OracleViolation`` unless ``request`` is a valid API Pix call; return its template."""
    if not request.url.path.startswith(base_path + "/"):
        raise OracleViolation(f"{request.url.path}: outside the API base path {base_path}")
    path = request.url.path[len(base_path) :]
    method = request.method.lower()
    template, item, path_values = operation_for(request.method, path)
    operation = item[method]
    if not request.headers.get("authorization", "").startswith("Bearer "):
        raise OracleViolation(f"{request.method} {template}: no OAuth2 bearer token")
    entries = [
        (_pointer("paths", template, "parameters", str(i)), raw) for i, raw in enumerate(item.get("parameters", []))
    ] + [
        (_pointer("paths", template, method, "parameters", str(i)), raw)
        for i, raw in enumerate(operation.get("parameters", []))
    ]
    seen_query: set[str] = set()
    for pointer, raw in entries:
        parameter, ref = _resolve(raw)
        name, where = parameter["name"], parameter["in"]
        owner = ref or pointer
        schema_pointer = f"{owner}/schema"
        if where == "path":
            value = path_values[name]
            _validate(value, schema_pointer, f"path parameter {name}")
            if name == "txid" and not TXID_ANCHORED.fullmatch(value):
                raise OracleViolation(f"txid {value!r} does not match ^[a-zA-Z0-9]{{26,35}}$")
        elif where == "query":
            seen_query.add(name)
            if name not in request.url.params:
                if parameter.get("required"):
                    raise OracleViolation(f"{request.method} {template}: query parameter {name} is required")
                continue
            schema, _ = _resolve(parameter["schema"])
            _validate(_coerce(request.url.params[name], schema), schema_pointer, f"query parameter {name}")
            if name == "txid" and not TXID_ANCHORED.fullmatch(request.url.params[name]):
                raise OracleViolation("query txid does not match ^[a-zA-Z0-9]{26,35}$")
    unknown = set(request.url.params) - seen_query - extra_query
    if unknown:
        raise OracleViolation(f"{request.method} {template}: unknown query parameters {sorted(unknown)}")
    if "requestBody" in operation:
        body_node, body_ref = _resolve(operation["requestBody"])
        body_pointer = body_ref or _pointer("paths", template, method, "requestBody")
        content = body_node["content"]["application/json"]
        if not request.content:
            if body_node.get("required"):
                raise OracleViolation(f"{request.method} {template}: a JSON body is required")
        else:
            if "json" not in request.headers.get("content-type", ""):
                raise OracleViolation(f"{request.method} {template}: body is not application/json")
            schema_pointer = f"{body_pointer}/content/{_pointer('application/json')}/schema"
            _validate(json.loads(request.content), schema_pointer, f"{request.method} {template} body")
            assert content  # the spec names a schema for it
    elif request.content:
        raise OracleViolation(f"{request.method} {template}: the operation takes no body")
    return template
