"""``/api/v1/links`` through the real handler, and the links it makes followed by the real redirect.

"Created" means a visitor of ``/go/<slug>`` lands: RedirectFunction (events/redirect_get.json with
the slug, a phone's User-Agent) stores a click for one of the link's bots.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from funil.click.fields import click_fields
from funil.clock import utc_now
from funil.operator.models import Bot, Pixel
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import given
from hypothesis import strategies as st

from local import aws
from tests.admin_api import Answer, caller, hostile_body, post_untrusted, table_state
from tests.conftest import load_event
from tests.integration.test_hostile_input import route

TENANT = "t_bia"
OTHER = "t_outra"
PUBLIC = "https://funil.example.com"
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.113 Mobile Safari/537.36"
)
LINK = {"slug": "black-friday", "bots": [{"id": "bot_a", "weight": 3}, {"id": "bot_b"}], "pixel_id": "px_bia"}


@pytest.fixture
def api(invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Answer]:
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    return caller(invoke)


@pytest.fixture
def tenant_key(table: Any) -> str:
    return create_tenant(table, TenantCreate(id=TENANT, name="Loja da Bia"), utc_now)[1].key


@pytest.fixture
def other_key(table: Any) -> str:
    return create_tenant(table, TenantCreate(id=OTHER, name="Outra loja"), utc_now)[1].key


@pytest.fixture
def world(table: Any) -> None:
    add_world(table)


def add_world(table: Any) -> None:
    """The tenants' bots and pixels as their routes leave them (written directly: not this file's routes)."""
    for tenant_id, bot_id, username in [
        (TENANT, "bot_a", "BiaVendasBot"),
        (TENANT, "bot_b", "BiaVipBot"),
        (OTHER, "bot_dela", "OutraLojaBot"),
    ]:
        table.put(Bot(tenant_id=tenant_id, bot_id=bot_id, username=username).to_item())
    table.put(Pixel(tenant_id=TENANT, pixel_id="px_bia", meta_pixel_id="1234567890123456").to_item())
    table.put(Pixel(tenant_id=OTHER, pixel_id="px_dela", meta_pixel_id="6543210987654321").to_item())


def visit(invoke: Callable[..., Any], slug: str) -> dict[str, Any]:
    """A phone following the ad to ``/go/<slug>``, through the real redirect."""
    event = load_event("redirect_get.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/go/{slug}"
    event["pathParameters"] = {"slug": slug}
    event["headers"]["user-agent"] = event["requestContext"]["http"]["userAgent"] = PHONE
    answer: dict[str, Any] = invoke("RedirectFunction", event)
    return answer


def clicks(table: Any) -> list[dict[str, Any]]:
    found = table.client.scan(TableName=table.name)["Items"]
    return [table.get(item["pk"]["S"], "CLICK") for item in found if item["pk"]["S"].startswith("CLICK#")]


# -- creating, and the redirect following -----------------------------------------------------------


def test_a_link_created_here_is_followed_by_the_redirect_to_one_of_its_bots(
    api: Callable[..., Answer], invoke: Callable[..., Any], table: Any, tenant_key: str, world: None
) -> None:
    created = api("POST", "/api/v1/links", LINK, key=tenant_key)
    assert created.status == 201, created.body
    assert created.body == {
        "slug": "black-friday",
        "url": f"{PUBLIC}/go/black-friday",
        "bots": [{"id": "bot_a", "weight": 3}, {"id": "bot_b", "weight": 1}],
        "pixel_id": "px_bia",
        "attribution_window_days": 7,
        "enabled": True,
    }
    assert api("GET", "/api/v1/links/black-friday", key=tenant_key).body == created.body
    assert api("GET", "/api/v1/links", key=tenant_key).body == {"items": [created.body], "next_cursor": None}

    answer = visit(invoke, "black-friday")
    assert answer["statusCode"] == 200
    [click] = [click_fields(item) for item in clicks(table)]
    assert (click["tenant_id"], click["link_slug"], click["pixel_id"]) == (TENANT, "black-friday", "px_bia")
    assert click["bot_id"] in {"bot_a", "bot_b"}


def test_a_disabled_link_is_refused_by_the_redirect(
    api: Callable[..., Answer],
    invoke: Callable[..., Any],
    table: Any,
    tenant_key: str,
    world: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LINK_CACHE_SECONDS", "0")  # the redirect's cache would show the change 30 s later
    assert api("POST", "/api/v1/links", {**LINK, "slug": "pausado", "enabled": False}, key=tenant_key).status == 201
    assert visit(invoke, "pausado")["statusCode"] == 404
    api("POST", "/api/v1/links", LINK, key=tenant_key)
    assert visit(invoke, "black-friday")["statusCode"] == 200
    changed = api("PATCH", "/api/v1/links/black-friday", {"enabled": False}, key=tenant_key)
    assert changed.status == 200 and changed.body["enabled"] is False
    assert visit(invoke, "black-friday")["statusCode"] == 404
    assert len(clicks(table)) == 1


def test_the_patch_is_documented_to_show_within_the_redirects_cache_time(api: Callable[..., Answer]) -> None:
    document = api("GET", "/api/v1/openapi.json").body
    assert "LinkCacheSeconds" in json.dumps(document["paths"]["/api/v1/links/{slug}"]["patch"])


# -- what is refused ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"bots": [{"id": "bot_a", "weight": 0}, {"id": "bot_b", "weight": 0}]}, ["bots"]),
        ({"bots": [{"id": "bot_a", "weight": -1}]}, ["bots.0.weight"]),
        ({"bots": [{"id": "bot_a", "weight": 1001}]}, ["bots.0.weight"]),
        ({"bots": [{"id": "bot_a", "weight": 1.5}]}, ["bots.0.weight"]),
        ({"bots": []}, ["bots"]),
        ({"bots": [{"id": "bot_a"}, {"id": "bot_a", "weight": 2}]}, ["bots.1.id"]),
        ({"bots": [{"id": "bot_a"}, {"id": "bot_nenhum"}]}, ["bots.1.id"]),
        ({"bots": [{"id": "bot_a"}, {"id": "bot_dela"}]}, ["bots.1.id"]),  # another tenant's: as missing
        ({"bots": [{"bot_id": "bot_a"}]}, ["bots.0.bot_id", "bots.0.id"]),
        ({"pixel_id": "px_dela"}, ["pixel_id"]),
        ({"pixel_id": "px_nenhum"}, ["pixel_id"]),
        ({"slug": "Black Friday"}, ["slug"]),
        ({"slug": "a" * 64}, ["slug"]),
        ({"attribution_window_days": 29}, ["attribution_window_days"]),
        ({"bots": [{"id": "bot_nenhum", "weight": 0}], "pixel_id": "px_dela"}, ["bots", "bots.0.id", "pixel_id"]),
    ],
)
def test_invalid_links_name_each_bad_field_and_write_nothing(
    api: Callable[..., Answer],
    aws_env: aws.Resources,
    tenant_key: str,
    world: None,
    changes: dict[str, Any],
    fields: list[str],
) -> None:
    before = table_state(aws_env)
    answer = api("POST", "/api/v1/links", {**LINK, **changes}, key=tenant_key)
    assert answer.status == 422, answer.body
    assert sorted(answer.error_fields) == fields
    assert table_state(aws_env) == before


def test_another_tenants_bot_and_pixel_get_the_words_of_missing_ones(
    api: Callable[..., Answer], tenant_key: str, world: None
) -> None:
    def messages(bot: str, pixel: str) -> list[str]:
        body = {**LINK, "bots": [{"id": bot}], "pixel_id": pixel}
        answer = api("POST", "/api/v1/links", body, key=tenant_key).body
        return [problem["message"].replace(bot, "?").replace(pixel, "?") for problem in answer["fields"]]

    assert messages("bot_dela", "px_dela") == messages("bot_nenhum", "px_nenhum")


def test_a_taken_slug_is_a_409_whoever_holds_it_and_nothing_is_written(
    api: Callable[..., Answer], aws_env: aws.Resources, tenant_key: str, other_key: str, world: None
) -> None:
    assert api("POST", "/api/v1/links", LINK, key=tenant_key).status == 201
    theirs = {"slug": "promo", "bots": [{"id": "bot_dela"}]}
    assert api("POST", "/api/v1/links", theirs, key=other_key).status == 201
    before = table_state(aws_env)
    again = api("POST", "/api/v1/links", {**LINK, "attribution_window_days": 1}, key=tenant_key)
    taken = api("POST", "/api/v1/links", {**LINK, "slug": "promo"}, key=tenant_key)
    assert again.status == taken.status == 409
    assert "promo" in taken.body["error"]
    assert table_state(aws_env) == before


def test_another_tenants_link_is_a_404_like_a_missing_one(
    api: Callable[..., Answer], aws_env: aws.Resources, tenant_key: str, other_key: str, world: None
) -> None:
    api("POST", "/api/v1/links", {"slug": "promo", "bots": [{"id": "bot_dela"}]}, key=other_key)
    before = table_state(aws_env)
    for method, body in [("GET", None), ("PATCH", {"enabled": False}), ("PATCH", {"bots": [{"id": "bot_a"}]})]:
        theirs = api(method, "/api/v1/links/promo", body, key=tenant_key)
        nothing = api(method, "/api/v1/links/nenhum", body, key=tenant_key)
        assert theirs.status == nothing.status == 404
        assert theirs.body["error"] == nothing.body["error"].replace("nenhum", "promo")
    assert api("GET", "/api/v1/links", key=tenant_key).body["items"] == []
    assert table_state(aws_env) == before


# -- changing and listing -----------------------------------------------------------------------------


def test_a_patch_changes_bots_window_and_null_removes_the_pixel(
    api: Callable[..., Answer], aws_env: aws.Resources, table: Any, tenant_key: str, world: None
) -> None:
    created = api("POST", "/api/v1/links", LINK, key=tenant_key).body
    changed = api(
        "PATCH",
        "/api/v1/links/black-friday",
        {"bots": [{"id": "bot_b", "weight": 5}], "attribution_window_days": 1, "pixel_id": None},
        key=tenant_key,
    )
    assert changed.status == 200
    expected = {**created, "bots": [{"id": "bot_b", "weight": 5}], "attribution_window_days": 1, "pixel_id": None}
    assert changed.body == expected
    stored = table.get("LINK#black-friday", "LINK")
    assert "pixel_id" not in stored and stored["bots"] == [{"bot_id": "bot_b", "weight": 5}]
    assert stored["gsi1pk"] == f"TENANT#{TENANT}"
    assert (
        api("PATCH", "/api/v1/links/black-friday", {"pixel_id": "px_bia"}, key=tenant_key).body["pixel_id"] == "px_bia"
    )
    before = table_state(aws_env)
    for body, fields in [
        ({"enabled": None}, ["enabled"]),
        ({"bots": None}, ["bots"]),
        ({"bots": [{"id": "bot_a", "weight": 0}]}, ["bots"]),
        ({"bots": [{"id": "bot_dela"}]}, ["bots.0.id"]),
        ({"pixel_id": "px_dela"}, ["pixel_id"]),
        ({"slug": "outro"}, ["slug"]),
    ]:
        answer = api("PATCH", "/api/v1/links/black-friday", body, key=tenant_key)
        assert answer.status == 422 and answer.error_fields == fields, (body, answer.body)
    assert api("PATCH", "/api/v1/links/black-friday", {}, key=tenant_key).status == 200
    assert table_state(aws_env) == before


def test_pages_follow_next_cursor(api: Callable[..., Answer], tenant_key: str, other_key: str, world: None) -> None:
    slugs = [f"link-{index}" for index in range(5)]
    for slug in slugs:
        api("POST", "/api/v1/links", {**LINK, "slug": slug}, key=tenant_key)
    api("POST", "/api/v1/links", {"slug": "dela", "bots": [{"id": "bot_dela"}]}, key=other_key)
    seen, cursor = [], None
    while True:
        page = api("GET", "/api/v1/links", key=tenant_key, limit=2, **({"cursor": cursor} if cursor else {})).body
        seen += [link["slug"] for link in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == slugs
    theirs = api("GET", "/api/v1/links", key=other_key, limit=1).body
    assert [link["slug"] for link in theirs["items"]] == ["dela"]


def test_the_link_routes_take_a_tenants_key(api: Callable[..., Answer], table: Any) -> None:
    from funil.operator.api_keys import create_operator_key

    operator = create_operator_key(table, "deploy", utc_now).key
    assert api("POST", "/api/v1/links", LINK, key=operator).status == 403
    assert api("GET", "/api/v1/links/black-friday", key=operator).status == 403
    assert api("GET", "/api/v1/links").status == 401


# -- hostile bodies -------------------------------------------------------------------------------

VALID_BODIES = [
    LINK,
    {"slug": "curso", "bots": [{"id": "bot_b", "weight": 1}], "attribution_window_days": 28, "enabled": False},
    {"slug": "dela", "bots": [{"id": "bot_dela"}], "pixel_id": "px_dela"},
]
FIELDS = ["slug", "bots", "pixel_id", "attribution_window_days", "enabled", "tenant_id", "x"]
# Bodies of the right shape with values near and past each limit: the creations, 409s and 422s mixed.
BUILT = st.fixed_dictionaries(
    {
        "slug": st.from_regex(r"[a-z0-9][a-z0-9_-]{0,3}", fullmatch=True) | st.text(max_size=5),
        "bots": st.lists(
            st.fixed_dictionaries(
                {"id": st.sampled_from(["bot_a", "bot_b", "bot_dela", "bot_nenhum"])},
                optional={"weight": st.integers(-1, 1001)},
            ),
            max_size=3,
        ),
    },
    optional={
        "pixel_id": st.sampled_from([None, "px_bia", "px_dela", "px_nenhum"]),
        "attribution_window_days": st.integers(0, 29),
        "enabled": st.booleans(),
    },
)


@given(data=st.data())
@route(tests=1)
def test_hostile_bodies_never_fail_inside_and_change_nothing_when_refused(
    invoke: Callable[..., Any], aws_env: aws.Resources, table: Any, tenant_key: str, data: st.DataObject
) -> None:
    add_world(table)
    body = hostile_body(data, built=BUILT, valid=VALID_BODIES, fields=FIELDS, max_fields=5)
    created = post_untrusted(invoke, aws_env, "/api/v1/links", tenant_key, body)
    if created is None:
        return
    stored = table.get(f"LINK#{created['slug']}", "LINK")
    assert stored["tenant_id"] == TENANT
    assert {bot["bot_id"] for bot in stored["bots"]} <= {"bot_a", "bot_b"}
    assert stored.get("pixel_id") in {None, "px_bia"}
