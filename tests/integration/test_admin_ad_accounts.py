"""``/api/v1/ad-accounts`` through the real handler, with the fake Marketing API (local/fakes/meta_graph.py)
over HTTP.

The token is proven by reading the account before anything is written; Meta's refusals become 422
on the field at fault, its failures 502, and neither leaves anything in the table. An account the
API wrote is one the spend import can use: its token decrypts under the item's own context.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from funil import encryption
from funil.adapters.kms import Kms
from funil.clock import utc_now
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import given
from hypothesis import strategies as st

from local import aws
from local.fakes.meta_graph import FakeAdAccount, FakeMetaGraph, Fault
from tests.admin_api import Answer, caller, hostile_body, post_untrusted, table_state
from tests.integration.test_hostile_input import route
from tests.integration.test_spend_import import ads, serve_graph

TOKEN = "EAAGadAccountsTokenForTests0123456789"
OTHER_TOKEN = "EAAGanotherAdAccountsToken9876543210"
NEVER_ISSUED = "EAAGaTokenMetaNeverIssued000000000"
ACCOUNT = "111222333"
SHARED = "555666777"  # readable with both tokens (an agency and its client)
DISABLED = "888999000"
CLOSED = "888999001"
GRACE = "888999002"
PATH = "/api/v1/ad-accounts"


@dataclass
class World:
    api: Callable[..., Answer]
    invoke: Callable[..., Any]
    table: Any
    resources: aws.Resources
    graph: FakeMetaGraph
    bia: str  # tenant keys
    outra: str
    operator: str

    def add(self, body: Any, key: str | None = None) -> Answer:
        return self.api("POST", PATH, body, key=key or self.bia)

    def item(self, digits: str, tenant_id: str = "t_bia") -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.table.get(f"ADACCOUNT#{tenant_id}#{digits}", "ADACCOUNT", consistent=True)
        return found


@pytest.fixture
def graph() -> Iterator[tuple[FakeMetaGraph, str]]:
    fake = FakeMetaGraph(access_tokens={TOKEN, OTHER_TOKEN})
    fake.add_ad_account(FakeAdAccount(ACCOUNT, "Loja da Bia - anúncios", ads=ads("2021000", 2), tokens={TOKEN}))
    fake.add_ad_account(FakeAdAccount(SHARED, "Agência", tokens={TOKEN, OTHER_TOKEN}, timezone_name="America/Manaus"))
    fake.add_ad_account(FakeAdAccount(DISABLED, "Bloqueada", account_status=2))
    fake.add_ad_account(FakeAdAccount(CLOSED, "Fechada", account_status=101))
    fake.add_ad_account(FakeAdAccount(GRACE, "Em carência", account_status=9, currency="USD"))
    server, base_url = serve_graph(fake, deque())
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
    from funil.operator.api_keys import create_operator_key

    fake, base_url = graph
    monkeypatch.setenv("META_GRAPH_BASE_URL", base_url)  # after aws_env: the handler loads on the first call
    bia = create_tenant(table, TenantCreate(id="t_bia", name="Loja da Bia"), utc_now)[1].key
    outra = create_tenant(table, TenantCreate(id="t_outra", name="Outra"), utc_now)[1].key
    operator = create_operator_key(table, "tests", utc_now).key
    return World(caller(invoke), invoke, table, aws_env, fake, bia, outra, operator)


# -- adding an ad account -------------------------------------------------------------------------------


def test_an_ad_account_is_proven_then_stored_for_the_import(world: World) -> None:
    answer = world.add({"account_id": f"act_{ACCOUNT}", "access_token": TOKEN})
    assert answer.status == 201, answer.body
    assert answer.body == {
        "id": f"act_{ACCOUNT}",
        "name": "Loja da Bia - anúncios",
        "currency": "BRL",
        "timezone_name": "America/Sao_Paulo",
        "account_status": 1,
        "status": "active",
        "status_reason": None,
        "status_at": None,
        "access_token_set": True,
        "created_at": answer.body["created_at"],
        "imported_through": None,
        "last_import": None,
    }
    [read] = world.graph.marketing_requests
    assert (read["kind"], read["account_id"], read["token_in"]) == ("account", ACCOUNT, "header")
    assert set(read["params"]["fields"].split(",")) == {"name", "currency", "account_status", "timezone_name"}
    item = world.item(ACCOUNT)
    assert item is not None and item["tenant_id"] == "t_bia" and item["type"] == "ad_account"
    assert (item["gsi1pk"], item["gsi1sk"]) == ("TENANT#t_bia", f"ADACCOUNT#{ACCOUNT}")
    assert (item["gsi2pk"], item["gsi2sk"]) == ("ADACCOUNTS", f"0#t_bia#{ACCOUNT}")  # first in the import's line
    # What SpendImportFunction does with the item it reads, and the context binding it to this item:
    key = (f"ADACCOUNT#t_bia#{ACCOUNT}", "ADACCOUNT")
    assert encryption.decrypt_field(Kms(), key, "access_token_ciphertext", item["access_token_ciphertext"]) == TOKEN
    with pytest.raises(Exception, match="InvalidCiphertext"):
        encryption.decrypt_field(Kms(), (f"PIXEL#{ACCOUNT}", "PIXEL"), "access_token_ciphertext", item["access_token_ciphertext"])  # fmt: skip
    assert TOKEN not in "\n".join(table_state(world.resources)) and TOKEN not in json.dumps(answer.body)


def test_the_digits_alone_and_a_name_of_ones_own_are_taken(world: World) -> None:
    answer = world.add({"account_id": GRACE, "access_token": TOKEN, "name": "Conta antiga (USD)"})
    assert answer.status == 201, answer.body
    assert (answer.body["id"], answer.body["name"], answer.body["currency"]) == (
        f"act_{GRACE}",
        "Conta antiga (USD)",
        "USD",
    )
    assert answer.body["account_status"] == 9  # IN_GRACE_PERIOD: its ads still run


@pytest.mark.parametrize(
    ("account_id", "token", "fault", "field"),
    [
        (ACCOUNT, NEVER_ISSUED, None, "access_token"),  # the fake knows no such token: code 190
        (ACCOUNT, TOKEN, Fault(status=400, code=190, subcode=463, is_transient=False), "access_token"),
        (ACCOUNT, TOKEN, Fault(status=403, code=10, is_transient=False, message="Permission denied"), "access_token"),
        (ACCOUNT, TOKEN, Fault(status=400, code=200, is_transient=False, message="Permissions error"), "access_token"),
        (ACCOUNT, OTHER_TOKEN, None, "account_id"),  # a valid token that cannot reach this account: 100/33
        ("1234", TOKEN, None, "account_id"),  # no such account
        (DISABLED, TOKEN, None, "account_id"),  # account_status 2
        (CLOSED, TOKEN, None, "account_id"),  # account_status 101
    ],
)
def test_what_meta_refuses_is_422_on_its_field_and_writes_nothing(
    world: World, account_id: str, token: str, fault: Fault | None, field: str
) -> None:
    before = table_state(world.resources)
    if fault is not None:
        world.graph.fail_marketing(fault)
    answer = world.add({"account_id": f"act_{account_id}", "access_token": token})
    assert answer.status == 422 and answer.error_fields == [field], answer.body
    assert token not in json.dumps(answer.body)
    assert table_state(world.resources) == before


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=500, code=2, message="Service temporarily unavailable"),
        Fault(status=400, code=80004, is_transient=True, message="There have been too many calls to this ad-account"),
        Fault(status=400, code=17, subcode=2446079, is_transient=True, message="User request limit reached"),
        Fault(status=400, code=613, subcode=1487742, is_transient=True, message="Calls within one hour exceeded"),
    ],
)
def test_meta_down_or_throttling_is_502_and_writes_nothing(world: World, fault: Fault) -> None:
    before = table_state(world.resources)
    world.graph.fail_marketing(fault)
    answer = world.add({"account_id": f"act_{ACCOUNT}", "access_token": TOKEN})
    assert answer.status == 502 and "nothing was saved" in answer.body["error"]
    assert f"code {fault.code}" in answer.body["error"] and fault.message not in answer.body["error"]
    assert table_state(world.resources) == before
    assert world.add({"account_id": f"act_{ACCOUNT}", "access_token": TOKEN}).status == 201  # retrying works


def test_an_account_added_twice_is_409_before_meta_is_asked(world: World) -> None:
    assert world.add({"account_id": f"act_{ACCOUNT}", "access_token": TOKEN}).status == 201
    before, reads = table_state(world.resources), world.graph.marketing_count()
    answer = world.add({"account_id": ACCOUNT, "access_token": TOKEN})
    assert answer.status == 409 and "delete it first" in answer.body["error"]
    assert table_state(world.resources) == before and world.graph.marketing_count() == reads


def test_two_tenants_may_each_add_the_same_meta_account(world: World) -> None:
    assert world.add({"account_id": f"act_{SHARED}", "access_token": TOKEN}).status == 201
    theirs = world.add({"account_id": f"act_{SHARED}", "access_token": OTHER_TOKEN}, key=world.outra)
    assert theirs.status == 201 and theirs.body["timezone_name"] == "America/Manaus"
    bia, outra = world.item(SHARED), world.item(SHARED, "t_outra")
    assert bia is not None and outra is not None and bia["pk"] != outra["pk"]


# -- reading and removing -----------------------------------------------------------------------------


def test_another_tenants_account_is_404_like_a_missing_one(world: World) -> None:
    world.add({"account_id": f"act_{ACCOUNT}", "access_token": TOKEN})
    before = table_state(world.resources)
    for account_id in (f"act_{ACCOUNT}", "act_42"):
        for method in ("GET", "DELETE"):
            answer = world.api(method, f"{PATH}/{account_id}", key=world.outra)
            assert answer.status == 404 and answer.body == {"error": f"no ad account {account_id}"}
    assert world.api("GET", PATH, key=world.outra).body == {"items": [], "next_cursor": None}
    assert table_state(world.resources) == before


def test_the_list_pages_through_the_tenants_accounts_only(world: World) -> None:
    for account_id in (ACCOUNT, SHARED, GRACE):
        assert world.add({"account_id": account_id, "access_token": TOKEN}).status == 201
    world.add({"account_id": SHARED, "access_token": OTHER_TOKEN}, key=world.outra)
    seen, cursor = [], None
    while True:
        page = world.api("GET", PATH, key=world.bia, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page.status == 200 and len(page.body["items"]) <= 2
        assert all("access_token" not in item and "access_token_ciphertext" not in item for item in page.body["items"])
        seen += [item["id"] for item in page.body["items"]]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(f"act_{digits}" for digits in (ACCOUNT, SHARED, GRACE))
    forged = world.api("GET", PATH, key=world.outra, cursor=cursor or "eyJwayI6IkFEQUNDT1VOVCMifQ")
    assert forged.status == 422 and forged.error_fields == ["cursor"]


def test_delete_removes_the_account_and_keeps_its_spend(world: World) -> None:
    world.add({"account_id": f"act_{ACCOUNT}", "access_token": TOKEN})
    world.table.put({"pk": "SPEND#t_bia", "sk": "2026-11-20#2021000000", "type": "spend", "tenant_id": "t_bia"})
    shown = world.api("GET", f"{PATH}/{ACCOUNT}", key=world.bia)
    gone = world.api("DELETE", f"{PATH}/act_{ACCOUNT}", key=world.bia)
    assert gone.status == 200 and gone.body == shown.body
    assert world.item(ACCOUNT) is None
    assert world.api("GET", f"{PATH}/act_{ACCOUNT}", key=world.bia).status == 404
    assert world.api("DELETE", f"{PATH}/act_{ACCOUNT}", key=world.bia).status == 404
    assert world.table.get("SPEND#t_bia", "2026-11-20#2021000000") is not None


def test_ids_that_are_not_ad_account_ids_are_422_and_the_operators_key_is_403(world: World) -> None:
    for bad in ("act_", "act_12a", "12345678901234567890123", "act_1%2F..%2Fx", "ACT_1"):
        answer = world.api("GET", f"{PATH}/{bad}", key=world.bia)
        assert answer.status in {404, 422}, (bad, answer)
        assert answer.status == 404 or answer.error_fields == ["account_id"]
    refused = world.api("POST", PATH, {"account_id": ACCOUNT, "access_token": TOKEN}, key=world.operator)
    assert refused.status == 403 and world.graph.marketing_count() == 0
    assert world.api("GET", PATH).status == 401


# -- hostile bodies -------------------------------------------------------------------------------------

FIELDS = ["account_id", "access_token", "name", "id", "x"]
VALID = [
    {"account_id": f"act_{ACCOUNT}", "access_token": TOKEN},
    {"account_id": GRACE, "access_token": TOKEN, "name": "Carência"},
    {"account_id": f"act_{SHARED}", "access_token": OTHER_TOKEN},
]
BUILT = st.fixed_dictionaries(
    {
        "account_id": st.sampled_from([ACCOUNT, f"act_{ACCOUNT}", DISABLED, "act_1", "act_", "1" * 21])
        | st.from_regex(r"\A(act_)?[0-9]{1,20}\Z")
        | st.text(max_size=25),
        "access_token": st.sampled_from([TOKEN, OTHER_TOKEN, NEVER_ISSUED, "EAA G", "EAA\u00e9" * 9]),
    },
    optional={"name": st.text(max_size=110) | st.sampled_from(["", "\x00", " ", "Conta\nnova"])},
)


@given(data=st.data())
@route(tests=1)
def test_hostile_bodies_never_fail_inside_and_change_nothing_when_refused(world: World, data: st.DataObject) -> None:
    body = hostile_body(data, built=BUILT, valid=VALID, fields=FIELDS, max_fields=4)
    created = post_untrusted(world.invoke, world.resources, PATH, world.bia, body)
    if created is None:
        return
    item = world.item(created["id"].removeprefix("act_"))
    assert item is not None and item["tenant_id"] == "t_bia" and item["status"] == "active"
    assert TOKEN not in json.dumps(created) and OTHER_TOKEN not in json.dumps(created)
    world.table.delete(item["pk"], item["sk"])  # the next example may add it again


def test_the_openapi_document_describes_the_ad_account_routes(world: World) -> None:
    document = world.api("GET", "/api/v1/openapi.json").body
    assert {PATH, f"{PATH}/{{account_id}}"} <= set(document["paths"])
    assert set(document["paths"][PATH]) == {"get", "post"}
    assert set(document["paths"][f"{PATH}/{{account_id}}"]) == {"get", "delete"}
    create = document["components"]["schemas"]["AdAccountCreate"]
    assert sorted(create["required"]) == ["access_token", "account_id"]
    assert "422" in document["paths"][PATH]["post"]["responses"]
