"""``/api/v1/pixels`` through the real handler, with the fake Graph API (local/fakes/meta_graph.py) over HTTP.

The access token is proven by one test event before anything is written; Meta's refusals become
422 on the field at fault, its failures 502, and neither leaves anything in the table. A pixel the
API wrote is one the sender can use: its token decrypts with ``funil.encryption.pixel_access_token``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from funil import encryption
from funil.adapters.kms import Kms
from funil.clock import utc_now
from funil.operator.pixels import CHECK_EVENT_NAME
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import event, given
from hypothesis import strategies as st

from local import aws
from local.fakes.meta_graph import FakeMetaGraph, Fault
from tests.admin_api import Answer, caller, table_state
from tests.integration import test_hostile_input as hostile
from tests.integration.test_hostile_input import Records, route

logs = hostile.logs  # the fixture: every log record of the test, checked with Records.check

META_PIXEL = "123456789012345"
TOKEN = "EAAGfakeTokenForTestsOnly0123456789abcdefABCDEF"
OTHER_TOKEN = "EAAGanotherFakeTokenForTests9876543210zyxwvu"


@dataclass
class World:
    api: Callable[..., Answer]
    table: Any
    resources: aws.Resources
    graph: FakeMetaGraph
    bia: str  # tenant keys
    outra: str

    def add(self, body: Any, key: str | None = None) -> Answer:
        return self.api("POST", "/api/v1/pixels", body, key=key or self.bia)

    def item(self, pixel_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.table.get(f"PIXEL#{pixel_id}", "PIXEL", consistent=True)
        return found


def serve_graph(fake: FakeMetaGraph) -> tuple[ThreadingHTTPServer, str]:
    """The fake on a local HTTP server; a timeout fault holds the answer past the client's timeout."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            status, payload, timed_out = fake.serve("POST", urlsplit(self.path).path, self.headers, body)
            if timed_out:
                time.sleep(fake.timeout_sleep_seconds)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fake-graph-api", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def graph() -> Iterator[tuple[FakeMetaGraph, str]]:
    fake = FakeMetaGraph(access_tokens={TOKEN, OTHER_TOKEN})
    server, base_url = serve_graph(fake)
    yield fake, base_url
    server.shutdown()
    server.server_close()


@pytest.fixture
def world(
    aws_env: aws.Resources,
    table: Any,
    invoke: Callable[..., Any],
    graph: tuple[FakeMetaGraph, str],
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    fake, base_url = graph
    monkeypatch.setenv("META_GRAPH_BASE_URL", base_url)  # after aws_env: the handler loads on the first call
    bia = create_tenant(table, TenantCreate(id="t_bia", name="Loja da Bia"), utc_now)[1].key
    outra = create_tenant(table, TenantCreate(id="t_outra", name="Outra"), utc_now)[1].key
    return World(caller(invoke), table, aws_env, fake, bia, outra)


# -- adding a pixel -------------------------------------------------------------------------------


def test_a_pixel_is_proven_then_stored_for_the_sender(world: World) -> None:
    answer = world.add(
        {
            "meta_pixel_id": META_PIXEL,
            "access_token": TOKEN,
            "test_event_code": "TEST4242",
            "events": {"PageView": False},
        }
    )
    assert answer.status == 201, answer.body
    receipt = answer.body.pop("test_event")
    assert receipt["events_received"] == 1 and receipt["fbtrace_id"]
    assert answer.body == {
        "id": f"px_{META_PIXEL}",
        "meta_pixel_id": META_PIXEL,
        "enabled": True,
        "events": {"PageView": False, "Lead": True, "InitiateCheckout": True, "Purchase": True},
        "action_source": "website",
        "test_event_code": "TEST4242",
        "access_token_set": True,
        "created_at": answer.body["created_at"],
    }
    [received] = world.graph.recorded
    assert (received.pixel_id, received.test_event_code) == (META_PIXEL, "TEST4242")
    assert received.event["event_name"] == CHECK_EVENT_NAME and received.event["action_source"] == "other"
    assert set(received.event["user_data"]) == {"external_id"}  # nobody's: it matches no person
    item = world.item(f"px_{META_PIXEL}")
    assert item is not None and item["tenant_id"] == "t_bia" and item["gsi1sk"] == f"PIXEL#px_{META_PIXEL}"
    # What CapiSenderFunction does with the item it reads:
    assert encryption.pixel_access_token(Kms(), item) == TOKEN
    assert TOKEN not in "\n".join(table_state(world.resources)) and TOKEN not in json.dumps(answer.body)


def test_without_a_test_event_code_the_check_is_still_inert(world: World) -> None:
    answer = world.add({"meta_pixel_id": META_PIXEL, "access_token": TOKEN, "id": "px_loja", "action_source": "chat"})
    assert answer.status == 201 and answer.body["id"] == "px_loja" and answer.body["action_source"] == "chat"
    [received] = world.graph.recorded
    assert received.test_event_code is None and received.event["event_name"] == CHECK_EVENT_NAME


@pytest.mark.parametrize(
    ("fault", "field"),
    [
        (None, "access_token"),  # the fake knows no such token: code 190
        (Fault(status=400, code=190, subcode=463, is_transient=False, message="Session has expired"), "access_token"),
        (Fault(status=403, code=10, is_transient=False, message="Permission denied"), "access_token"),
        (Fault(status=400, code=200, is_transient=False, message="Permissions error"), "access_token"),
        (Fault(status=400, code=100, subcode=33, is_transient=False, message="Object does not exist"), "meta_pixel_id"),
    ],
)
def test_a_token_meta_refuses_is_422_on_its_field_and_writes_nothing(
    world: World, fault: Fault | None, field: str
) -> None:
    before = table_state(world.resources)
    if fault is not None:
        world.graph.fail(fault)
    token = TOKEN if fault is not None else "EAAGaTokenMetaNeverIssued000000000"
    answer = world.add({"meta_pixel_id": META_PIXEL, "access_token": token})
    assert answer.status == 422 and answer.error_fields == [field]
    assert token not in json.dumps(answer.body)
    assert table_state(world.resources) == before


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=500, code=2, message="Service temporarily unavailable"),
        Fault(status=400, code=17, is_transient=False, message="User request limit reached"),
        Fault(timeout=True),
    ],
)
def test_meta_down_or_throttling_is_502_and_writes_nothing(world: World, fault: Fault) -> None:
    before = table_state(world.resources)
    world.graph.fail(fault)
    answer = world.add({"meta_pixel_id": META_PIXEL, "access_token": TOKEN})
    assert answer.status == 502 and "nothing was saved" in answer.body["error"]
    assert table_state(world.resources) == before
    assert world.add({"meta_pixel_id": META_PIXEL, "access_token": TOKEN}).status == 201  # retrying works


def test_a_taken_id_is_409_before_meta_is_asked(world: World) -> None:
    assert world.add({"meta_pixel_id": META_PIXEL, "access_token": TOKEN}).status == 201
    before, requests = table_state(world.resources), world.graph.request_count()
    answer = world.add({"meta_pixel_id": META_PIXEL, "access_token": OTHER_TOKEN}, key=world.outra)
    assert answer.status == 409
    assert table_state(world.resources) == before and world.graph.request_count() == requests


# -- reading and changing ---------------------------------------------------------------------------


def test_another_tenants_pixel_is_404_like_a_missing_one(world: World) -> None:
    world.add({"meta_pixel_id": META_PIXEL, "access_token": TOKEN, "id": "px_bia"})
    before, requests = table_state(world.resources), world.graph.request_count()
    for pixel_id in ("px_bia", "px_nenhum"):
        assert world.api("GET", f"/api/v1/pixels/{pixel_id}", key=world.outra).status == 404
        for body in ({"enabled": False}, {"access_token": OTHER_TOKEN}):
            answer = world.api("PATCH", f"/api/v1/pixels/{pixel_id}", body, key=world.outra)
            assert answer.status == 404 and answer.body == {"error": f"no pixel {pixel_id}"}
    assert world.api("GET", "/api/v1/pixels", key=world.outra).body == {"items": [], "next_cursor": None}
    assert table_state(world.resources) == before and world.graph.request_count() == requests


def test_the_list_pages_through_the_tenants_pixels_only(world: World) -> None:
    for index in range(3):
        assert world.add({"meta_pixel_id": f"1000{index}", "access_token": TOKEN}).status == 201
    world.add({"meta_pixel_id": "99999", "access_token": OTHER_TOKEN}, key=world.outra)
    seen, cursor = [], None
    while True:
        page = world.api("GET", "/api/v1/pixels", key=world.bia, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page.status == 200 and len(page.body["items"]) <= 2
        assert all(
            "access_token" not in pixel and encryption.PIXEL_ACCESS_TOKEN not in pixel for pixel in page.body["items"]
        )
        seen += [pixel["id"] for pixel in page.body["items"]]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == ["px_10000", "px_10001", "px_10002"]


def test_patch_switches_events_clears_the_test_code_and_proves_a_new_token(world: World) -> None:
    world.add({"meta_pixel_id": META_PIXEL, "access_token": TOKEN, "id": "px_bia", "test_event_code": "TEST1"})
    path = "/api/v1/pixels/px_bia"
    changed = world.api("PATCH", path, {"events": {"Lead": False}, "test_event_code": None}, key=world.bia)
    assert changed.status == 200 and "test_event" not in changed.body
    assert changed.body["events"] == {"PageView": True, "Lead": False, "InitiateCheckout": True, "Purchase": True}
    assert changed.body["test_event_code"] is None
    item = world.item("px_bia")
    assert item is not None and "test_event_code" not in item

    refused = world.api("PATCH", path, {"access_token": "EAAGaTokenMetaNeverIssued000000000"}, key=world.bia)
    assert refused.status == 422 and refused.error_fields == ["access_token"]
    assert world.item("px_bia") == item

    renewed = world.api("PATCH", path, {"access_token": OTHER_TOKEN, "test_event_code": "TEST2"}, key=world.bia)
    assert renewed.status == 200 and renewed.body["test_event"]["events_received"] == 1
    assert world.graph.recorded[-1].test_event_code == "TEST2"
    stored = world.item("px_bia")
    assert stored is not None and encryption.pixel_access_token(Kms(), stored) == OTHER_TOKEN
    assert world.api("GET", path, key=world.bia).body["test_event_code"] == "TEST2"
    invalid = world.api("PATCH", path, {"enabled": None, "meta_pixel_id": "1", "events": {"Foo": True}}, key=world.bia)
    assert invalid.status == 422 and sorted(invalid.error_fields) == ["events.Foo", "meta_pixel_id"]
    nulls = world.api("PATCH", path, {"enabled": None, "action_source": None}, key=world.bia)
    assert nulls.status == 422 and nulls.error_fields == ["action_source", "enabled"]


# -- hostile bodies -------------------------------------------------------------------------------

FIELDS = ["meta_pixel_id", "access_token", "id", "test_event_code", "events", "action_source", "enabled", "x"]
ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
PLAUSIBLE = {
    "meta_pixel_id": st.from_regex(r"\A[0-9]{5,20}\Z") | st.sampled_from([META_PIXEL, "1234", "12345x"]),
    "access_token": st.sampled_from(
        [TOKEN, OTHER_TOKEN, "EAAGaTokenMetaNeverIssued000000000", "EAA G", "EAA\u00e9" * 9]
    ),
    "id": st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z") | st.text(max_size=70),
    "test_event_code": st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z") | st.text(max_size=70),
    "events": st.dictionaries(st.sampled_from(["PageView", "Lead", "Purchase", "Other"]), st.booleans() | ANYTHING),
    "action_source": st.sampled_from(["website", "chat", "email", ""]),
}
BODIES = st.one_of(
    st.text(max_size=200),
    st.dictionaries(st.sampled_from(FIELDS), ANYTHING, max_size=6),
    st.fixed_dictionaries(
        {"meta_pixel_id": PLAUSIBLE["meta_pixel_id"], "access_token": PLAUSIBLE["access_token"]},
        optional={name: PLAUSIBLE[name] for name in ("id", "test_event_code", "events", "action_source")},
    ),
    st.fixed_dictionaries(
        {"meta_pixel_id": PLAUSIBLE["meta_pixel_id"] | ANYTHING, "access_token": PLAUSIBLE["access_token"] | ANYTHING},
        optional={name: PLAUSIBLE[name] | ANYTHING for name in ("id", "test_event_code", "events", "action_source")},
    ),
)


@given(body=BODIES)
@route(tests=1)
def test_hostile_bodies_never_fail_inside_and_change_nothing_when_refused(
    world: World, logs: Records, body: Any
) -> None:
    before = table_state(world.resources)
    answer = world.add(body if isinstance(body, str) else json.dumps(body))
    text = json.dumps(answer.body)
    assert answer.status in {201, 409, 422}, answer
    event(f"status {answer.status}")
    assert "Traceback" not in text and TOKEN not in text and OTHER_TOKEN not in text
    logs.check((TOKEN, OTHER_TOKEN))  # no traceback, no token in any log record
    if answer.status == 201:
        item = world.item(answer.body["id"])
        assert item is not None and encryption.pixel_access_token(Kms(), item) in {TOKEN, OTHER_TOKEN}
    else:
        assert table_state(world.resources) == before


def test_the_openapi_document_describes_the_pixel_routes(world: World) -> None:
    document = world.api("GET", "/api/v1/openapi.json").body
    assert {"/api/v1/pixels", "/api/v1/pixels/{pixel_id}"} <= set(document["paths"])
    assert set(document["paths"]["/api/v1/pixels/{pixel_id}"]) == {"get", "patch"}
    create = document["components"]["schemas"]["PixelCreate"]
    assert sorted(create["required"]) == ["access_token", "meta_pixel_id"]
