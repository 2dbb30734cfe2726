"""The operator API's contract (docs/operator-api.md) in memory, over real HTTP, for the CLI's tests.

Just enough of it: Bearer keys of two kinds (401, 403), tenant isolation (404), ids taken (409),
missing or refused fields (422 naming them), pages of ``limit`` with ``next_cursor``, and canned
answers (``answer_with``) for what only the outside world causes (502, a proxy's HTML page).
Every request is recorded (``requests``) so a test can see what the CLI sent.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OPERATOR_KEY = "fnl_operator_key"
TENANT_KEY = "fnl_tenant_key"
OTHER_TENANT_KEY = "fnl_other_tenant_key"
COLLECTIONS = {"bots": "id", "gateways": "id", "pixels": "id", "offers": "id", "links": "slug"}
REQUIRED = {"bots": ("token",), "gateways": ("kind",), "pixels": ("meta_pixel_id", "access_token"), "offers": ("id",)}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Canned:
    status: int
    body: str
    content_type: str = "application/json"


class Refused(Exception):
    def __init__(self, status: int, error: str, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.body: dict[str, Any] = {"error": error, **({"fields": fields} if fields else {})}


@dataclass
class FakeApi:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # plaintext → key record
    tenants: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(default_factory=dict)  # (tenant, collection)
    canned: dict[tuple[str, str], Canned] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self.add_key(OPERATOR_KEY, None)
        for tenant_id, plaintext in (("t_one", TENANT_KEY), ("t_two", OTHER_TENANT_KEY)):
            self.tenants[tenant_id] = {"id": tenant_id, "name": tenant_id, "timezone": "America/Sao_Paulo"}
            self.tenants[tenant_id] |= {"country": "br", "enabled": True}
            self.add_key(plaintext, tenant_id)

    # -- test helpers --------------------------------------------------------------------------

    def add_key(self, plaintext: str, tenant_id: str | None, name: str = "first") -> dict[str, Any]:
        record = {"id": f"key_{len(self.keys):016x}", "name": name, "prefix": plaintext[:10], "tenant_id": tenant_id}
        record |= {"created_at": "2026-01-01T00:00:00.000Z", "last_used_at": None, "revoked_at": None}
        self.keys[plaintext] = record
        return record

    def add(self, tenant_id: str, collection: str, item: dict[str, Any]) -> None:
        self.items.setdefault((tenant_id, collection), {})[item[COLLECTIONS[collection]]] = {"enabled": True, **item}

    def answer_with(
        self, method: str, path: str, status: int, body: Any, content_type: str = "application/json"
    ) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        self.canned[(method, path)] = Canned(status, text, content_type)

    def sent(self, method: str, path: str) -> list[Recorded]:
        return [request for request in self.requests if request.method == method and request.path == path]

    # -- the server ----------------------------------------------------------------------------

    def start(self) -> FakeApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._serve(self)

            do_POST = do_PATCH = do_DELETE = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        serve = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="fake-operator-api", daemon=True)
        serve.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        headers = {name.lower(): value for name, value in handler.headers.items()}
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        self.requests.append(Recorded(handler.command, parts.path, query, headers, body))
        canned = self.canned.get((handler.command, parts.path))
        if canned is not None:
            status, text, content_type = canned.status, canned.body, canned.content_type
        else:
            try:
                status, answer = self._route(handler.command, parts.path, query, headers, body)
            except Refused as refused:
                status, answer = refused.status, refused.body
            text, content_type = json.dumps(answer), "application/json"
        payload = text.encode()
        handler.send_response(status)
        handler.send_header("content-type", content_type)
        handler.send_header("content-length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    # -- the contract --------------------------------------------------------------------------

    def _route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        scheme, _, plaintext = headers.get("authorization", "").partition(" ")
        key = self.keys.get(plaintext) if scheme == "Bearer" else None
        if key is None or key["revoked_at"]:
            raise Refused(401, "unknown or revoked API key")
        tenant_id = key["tenant_id"]
        route = re.fullmatch(r"/api/v1/(\w+)(?:/([^/]+))?", path)
        if route is None:
            raise Refused(404, "no such route")
        collection, item_id = route.groups()
        if collection == "tenants":
            if tenant_id is not None:
                raise Refused(403, "this route takes the deployment operator's API key")
            return self._tenants(method, item_id, query, body)
        if collection == "keys":
            return self._keys(method, tenant_id, item_id, query, body)
        if tenant_id is None:
            raise Refused(403, "this route takes a tenant's API key, not the operator's")
        if collection == "subjects":
            return self._subjects(item_id, body)
        if collection not in COLLECTIONS:
            raise Refused(404, "no such route")
        return self._resources(method, tenant_id, collection, item_id, query, body)

    def _page(self, items: list[dict[str, Any]], query: dict[str, str]) -> tuple[int, Any]:
        limit = int(query.get("limit", "50"))
        if not 1 <= limit <= 100:
            raise Refused(422, "invalid input", [{"field": "limit", "message": "between 1 and 100"}])
        start = int(query.get("cursor", "0"))
        end = start + limit
        return 200, {"items": items[start:end], "next_cursor": str(end) if end < len(items) else None}

    def _tenants(self, method: str, tenant_id: str | None, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if method == "POST":
            new_id = body.get("id") or f"t_{len(self.tenants)}"
            if new_id in self.tenants:
                raise Refused(409, f"tenant {new_id} already exists")
            tenant = {"id": new_id, "name": body["name"], "timezone": body.get("timezone", "America/Sao_Paulo")}
            self.tenants[new_id] = tenant | {"country": body.get("country", "br"), "enabled": True}
            plaintext = f"fnl_key_of_{new_id}"
            return 201, {
                "tenant": self.tenants[new_id],
                "api_key": {**self.add_key(plaintext, new_id), "key": plaintext},
            }
        if tenant_id is None:
            return self._page(list(self.tenants.values()), query)
        if tenant_id not in self.tenants:
            raise Refused(404, f"no tenant {tenant_id}")
        if method == "PATCH":
            self.tenants[tenant_id] |= body
        return 200, self.tenants[tenant_id]

    def _keys(
        self, method: str, tenant_id: str | None, key_id: str | None, query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if method == "POST":
            plaintext = f"fnl_new_{len(self.keys)}"
            return 201, {**self.add_key(plaintext, tenant_id, body["name"]), "key": plaintext}
        own = [record for record in self.keys.values() if record["tenant_id"] == tenant_id]
        if method == "DELETE":
            for record in own:
                if record["id"] == key_id:
                    record["revoked_at"] = "2026-01-02T00:00:00.000Z"
                    return 200, record
            raise Refused(404, f"no key {key_id}")
        return self._page(own, query)

    def _subjects(self, action: str | None, body: Any) -> tuple[int, Any]:
        if len(body or {}) != 1:
            raise Refused(422, "invalid input", [{"field": "body", "message": "give exactly one identifier"}])
        if action == "export":
            return 200, {"subject": body, "leads": [{"bot_id": "b1", "first_name": "Ana"}]}
        kind = next(iter(body))
        return 200, {"subject": {"kind": kind}, "erased": {"leads": 1, "touches": 3}, "request_id": "r1"}

    def _resources(
        self, method: str, tenant_id: str, collection: str, item_id: str | None, query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        stored = self.items.setdefault((tenant_id, collection), {})
        if item_id is not None:
            if item_id not in stored:  # another tenant's too: 404, as the contract says
                raise Refused(404, f"no {collection[:-1]} {item_id}")
            if method == "PATCH":
                stored[item_id] |= body
            return 200, stored[item_id]
        if method == "GET":
            return self._page(list(stored.values()), query)
        missing = [name for name in REQUIRED.get(collection, ()) if not body.get(name)]
        if missing:
            raise Refused(422, "invalid input", [{"field": name, "message": "Field required"} for name in missing])
        return 201, self._create(tenant_id, collection, stored, body)

    def _create(
        self, tenant_id: str, collection: str, stored: dict[str, dict[str, Any]], body: dict[str, Any]
    ) -> dict[str, Any]:
        key_field = COLLECTIONS[collection]
        new_id = body.get(key_field) or f"{collection[0]}{len(stored) + 1}"
        if new_id in stored:
            raise Refused(409, f"{collection[:-1]} {new_id} already exists")
        item = {key: value for key, value in body.items() if key not in ("token", "access_token", "credentials")}
        item[key_field] = new_id
        extra: dict[str, Any] = {}
        if collection == "bots":
            if body["token"] == "refused":
                raise Refused(422, "invalid input", [{"field": "token", "message": "Telegram refused this token"}])
            item |= {"username": f"Bot{new_id}", "health": {"status": "healthy"}}
        if collection == "links":
            known = self.items.get((tenant_id, "bots"), {})
            unknown = [
                {"field": f"bots.{n}.id", "message": f"no bot {bot['id']}"}
                for n, bot in enumerate(body.get("bots") or [])
                if bot["id"] not in known
            ]
            if unknown:
                raise Refused(422, "invalid input", unknown)
            item["url"] = f"{self.url}/go/{new_id}"
        if collection == "gateways":
            extra["webhook_url"] = f"{self.url}/pay/{new_id}/s3cr3t"
        self.add(tenant_id, collection, item)
        return {**stored[new_id], **extra}
