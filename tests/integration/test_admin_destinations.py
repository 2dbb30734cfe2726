"""``/api/v1/destinations`` through the real handler: each kind added with its secret encrypted (and
readable by DestinationsFunction), listed and changed per tenant only, removed; hostile bodies
never fail inside and change nothing when refused."""

from __future__ import annotations

import json
from collections.abc import Callable
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
from tests.admin_api import Answer, caller, hostile_body, post_untrusted
from tests.integration.test_hostile_input import route

PATH = "/api/v1/destinations"
UTMIFY = {"kind": "utmify", "api_token": "KVRxalfMiBfm8Rm1nP5YxfwYzArNsA0VLeWC"}
TIKTOK = {"kind": "tiktok", "pixel_code": "CABC123DEF456GHI", "access_token": "tt-token-0123456789abcdef"}
GA4 = {"kind": "ga4", "measurement_id": "G-ABC123XYZ", "api_secret": "ga4SecretAbc123"}
WEBHOOK = {"kind": "webhook", "url": "https://hooks.seller.com.br/funil?src=1"}


@dataclass
class World:
    api: Callable[..., Answer]
    invoke: Callable[..., Any]
    table: Any
    resources: aws.Resources
    bia: str
    outra: str

    def item(self, destination_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.table.get(f"DEST#{destination_id}", "DEST", consistent=True)
        return found


@pytest.fixture
def world(aws_env: aws.Resources, table: Any, invoke: Callable[..., Any]) -> World:
    bia = create_tenant(table, TenantCreate(id="t_bia", name="Loja da Bia"), utc_now)[1].key
    outra = create_tenant(table, TenantCreate(id="t_outra", name="Outra"), utc_now)[1].key
    return World(caller(invoke), invoke, table, aws_env, bia, outra)


def test_each_kind_is_stored_with_its_secret_encrypted_for_the_sender(world: World) -> None:
    for body, secret in ((UTMIFY, "api_token"), (TIKTOK, "access_token"), (GA4, "api_secret")):
        answer = world.api("POST", PATH, {**body, "id": f"dst_{body['kind']}"}, key=world.bia)
        assert answer.status == 201, answer.body
        assert answer.body["secret_set"] is True and body[secret] not in json.dumps(answer.body)
        item = world.item(f"dst_{body['kind']}")
        assert item is not None and item["tenant_id"] == "t_bia" and body[secret] not in json.dumps(item)
        assert encryption.destination_secret(Kms(), item) == body[secret]
    assert world.item("dst_tiktok")["config"] == {"pixel_code": "CABC123DEF456GHI"}  # type: ignore[index]


def test_a_webhook_gets_a_signing_secret_shown_once(world: World) -> None:
    answer = world.api("POST", PATH, {**WEBHOOK, "events": ["Purchase"]}, key=world.bia)
    assert answer.status == 201, answer.body
    secret = answer.body["signing_secret"]
    assert len(secret) >= 32 and answer.body["events"] == ["Purchase"]
    shown = world.api("GET", f"{PATH}/{answer.body['id']}", key=world.bia)
    assert shown.status == 200 and "signing_secret" not in shown.body and secret not in json.dumps(shown.body)
    item = world.item(answer.body["id"])
    assert item is not None and encryption.destination_secret(Kms(), item) == secret


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.seller.com/x",
        "https://localhost/x",
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://user:pw@hooks.seller.com/x",
        "https://hooks.seller.com/x#frag",
        "https://intranet/x",
        "https://hooks.seller.com:99999/x",
        "https://hooks.seller.com/ x",
    ],
)
def test_a_webhook_url_must_be_https_to_a_public_name(world: World, url: str) -> None:
    answer = world.api("POST", PATH, {**WEBHOOK, "url": url}, key=world.bia)
    assert answer.status == 422 and answer.error_fields == ["webhook.url"], answer.body


def test_destinations_are_the_tenants_own(world: World) -> None:
    assert world.api("POST", PATH, {**UTMIFY, "id": "dst_bia"}, key=world.bia).status == 201
    assert world.api("GET", PATH, key=world.outra).body["items"] == []
    assert [item["id"] for item in world.api("GET", PATH, key=world.bia).body["items"]] == ["dst_bia"]
    for method, body in (("GET", None), ("PATCH", {"enabled": False}), ("DELETE", None)):
        assert world.api(method, f"{PATH}/dst_bia", body, key=world.outra).status == 404
    assert world.item("dst_bia")["enabled"] is True  # type: ignore[index]
    assert world.api("POST", PATH, {**UTMIFY, "id": "dst_bia"}, key=world.outra).status == 409


def test_a_destination_is_changed_then_removed(world: World) -> None:
    assert world.api("POST", PATH, {**GA4, "id": "dst_ga"}, key=world.bia).status == 201
    changed = world.api(
        "PATCH", f"{PATH}/dst_ga", {"enabled": False, "events": ["Refund", "Purchase"], "secret": "newSecret123"},
        key=world.bia,
    )  # fmt: skip
    assert changed.status == 200 and changed.body["enabled"] is False
    assert changed.body["events"] == ["Purchase", "Refund"]
    assert encryption.destination_secret(Kms(), world.item("dst_ga") or {}) == "newSecret123"
    assert world.api("PATCH", f"{PATH}/dst_ga", {"enabled": None}, key=world.bia).status == 422
    assert world.api("DELETE", f"{PATH}/dst_ga", key=world.bia).status == 200
    assert world.item("dst_ga") is None
    assert world.api("DELETE", f"{PATH}/dst_ga", key=world.bia).status == 404


# -- hostile bodies -------------------------------------------------------------------------------

FIELDS = ["kind", "api_token", "access_token", "pixel_code", "measurement_id", "api_secret", "url", "events", "id"]
VALID = [UTMIFY, TIKTOK, GA4, WEBHOOK, {**WEBHOOK, "signing_secret": "s" * 40, "events": ["Refund"]}]
BUILT = st.one_of(
    st.fixed_dictionaries(
        {"kind": st.sampled_from(["utmify", "tiktok", "ga4", "webhook", "meta", ""]),
         "url": st.sampled_from(["https://a.example.com/x", "http://a.example.com", "https://10.0.0.1/", ""])
         | st.text(max_size=40)},
        optional={"events": st.lists(st.sampled_from(["Purchase", "Refund", "Lead", ""]), max_size=4),
                  "id": st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z") | st.text(max_size=70)},
    ),
    st.fixed_dictionaries(
        {"kind": st.just("tiktok"), "pixel_code": st.text(max_size=70) | st.from_regex(r"\A[A-Z0-9]{8,20}\Z"),
         "access_token": st.text(max_size=30) | st.just("tt-token-0123456789abcdef")},
    ),
    st.fixed_dictionaries(
        {"kind": st.just("ga4"), "measurement_id": st.text(max_size=20) | st.from_regex(r"\AG-[A-Z0-9]{4,20}\Z"),
         "api_secret": st.text(max_size=30)},
    ),
)  # fmt: skip


@given(data=st.data())
@route(tests=1)
def test_hostile_bodies_never_fail_inside_and_change_nothing_when_refused(world: World, data: st.DataObject) -> None:
    body = hostile_body(data, built=BUILT, valid=VALID, fields=FIELDS, max_fields=5)
    created = post_untrusted(world.invoke, world.resources, PATH, world.bia, body)
    if created is None:
        return
    item = world.item(created["id"])
    assert item is not None and item["tenant_id"] == "t_bia" and item["kind"] in ("utmify", "tiktok", "ga4", "webhook")
    assert item["config"].get("url", "https://").startswith("https://")
    world.table.delete(item["pk"], item["sk"])  # the next example may add it again


def test_the_openapi_document_describes_the_destination_routes(world: World) -> None:
    document = world.api("GET", "/api/v1/openapi.json").body
    assert set(document["paths"][PATH]) == {"get", "post"}
    assert set(document["paths"][f"{PATH}/{{destination_id}}"]) == {"get", "patch", "delete"}
    schemas = document["components"]["schemas"]
    assert {"UtmifyCreate", "TiktokCreate", "Ga4Create", "WebhookCreate", "DestinationUpdate"} <= set(schemas)
    assert "api_token" in schemas["UtmifyCreate"]["required"] and "url" in schemas["WebhookCreate"]["required"]
