"""``/api/v1/offers`` through the real handler: one offer sold by several bots, one copy per bot.

What the bots sell is read the way the Telegram webhook reads it (``funil.bot.storage.load_bot``:
the bot's partition, one Query), so "created" means every bot named really offers it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from funil.bot.storage import load_bot
from funil.clock import utc_now
from funil.operator import offers
from funil.operator.models import Bot
from funil.operator.paging import encode_cursor
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import given
from hypothesis import strategies as st

from local import aws
from tests.admin_api import Answer, api_event, caller, hostile_body, post_untrusted, table_state
from tests.integration.test_hostile_input import route, with_body

TENANT = "t_bia"
OTHER = "t_outra"
DELIVERY = {"kind": "invite_link", "chat_id": -1001000000001, "button_text": "Entrar no VIP"}
VIP = {"id": "vip", "title": "Grupo VIP", "price_cents": 1990, "stars_price": 150, "delivery": DELIVERY}


@pytest.fixture
def api(invoke: Callable[..., Any]) -> Callable[..., Answer]:
    return caller(invoke)


@pytest.fixture
def tenant_key(table: Any) -> str:
    return create_tenant(table, TenantCreate(id=TENANT, name="Loja da Bia"), utc_now)[1].key


@pytest.fixture
def other_key(table: Any) -> str:
    return create_tenant(table, TenantCreate(id=OTHER, name="Outra loja"), utc_now)[1].key


def add_bot(table: Any, bot_id: str, tenant_id: str = TENANT) -> str:
    """A bot as the bots' route leaves it (written directly: that route is not this file's)."""
    username = "".join(part.capitalize() for part in bot_id.split("_")) + "Bot"
    table.put(Bot(tenant_id=tenant_id, bot_id=bot_id, username=username).to_item())
    return bot_id


def sold_by(table: Any, bot_id: str) -> dict[str, Any]:
    """What the webhook offers in this bot's chat, by offer id."""
    bot = load_bot(table, bot_id)
    assert bot is not None
    return {offer.offer_id: offer for offer in bot.offers}


# -- creating -------------------------------------------------------------------------------------


def test_an_offer_is_created_on_every_bot_of_the_tenant_and_each_bot_sells_it(
    api: Callable[..., Answer], table: Any, tenant_key: str
) -> None:
    bots = [add_bot(table, "bot_a"), add_bot(table, "bot_b")]
    created = api("POST", "/api/v1/offers", {**VIP, "description": "Acesso por 30 dias"}, key=tenant_key)
    assert created.status == 201, created.body
    assert created.body == {
        "id": "vip",
        "bot_ids": bots,
        "title": "Grupo VIP",
        "description": "Acesso por 30 dias",
        "price_cents": 1990,
        "price": "R$ 19,90",
        "currency": "BRL",
        "stars_price": 150,
        "delivery": {**DELIVERY, "kind": "invite_link"},
        "position": 0,
        "ask_phone": False,
        "enabled": True,
        "listed": True,
        "access_days": None,
        "renewal_reminder_days": [3, 1],
        "upsell_offer_id": None,
        "downsell_offer_id": None,
        "bump_offer_id": None,
        "pix_reminder_minutes": None,
        "pix_follow_up_minutes": None,
    }
    for bot_id in bots:
        offer = sold_by(table, bot_id)["vip"]
        assert (offer.title, offer.price_cents, offer.stars_price, offer.has_delivery) == ("Grupo VIP", 1990, 150, True)
        assert offer.description == "Acesso por 30 dias"
    assert api("GET", "/api/v1/offers/vip", key=tenant_key).body == created.body
    assert api("GET", "/api/v1/offers", key=tenant_key).body == {"items": [created.body], "next_cursor": None}


def test_bot_ids_choose_which_bots_sell_it(api: Callable[..., Answer], table: Any, tenant_key: str) -> None:
    add_bot(table, "bot_a")
    add_bot(table, "bot_b")
    body = {"id": "curso", "title": "Curso", "price_cents": 9700, "bot_ids": ["bot_b"]}
    body["delivery"] = {"url": "https://example.com/curso"}  # a URL delivery: a message with a url
    created = api("POST", "/api/v1/offers", body, key=tenant_key)
    assert created.status == 201, created.body
    assert created.body["bot_ids"] == ["bot_b"] and created.body["price"] == "R$ 97,00"
    assert "curso" in sold_by(table, "bot_b") and "curso" not in sold_by(table, "bot_a")


def test_a_tenant_without_bots_is_told_to_add_one_first(
    api: Callable[..., Answer], aws_env: aws.Resources, tenant_key: str
) -> None:
    before = table_state(aws_env)
    answer = api("POST", "/api/v1/offers", VIP, key=tenant_key)
    assert answer.status == 422 and answer.error_fields == ["bot_ids"]
    assert "POST /api/v1/bots" in answer.body["fields"][0]["message"]
    assert table_state(aws_env) == before


@pytest.mark.parametrize(
    ("delivery", "field"),
    [
        ({"kind": "message"}, "delivery.text"),
        ({"kind": "message", "button_text": "Abrir"}, "delivery.text"),
        ({"kind": "invite_link"}, "delivery.chat_id"),
        ({"kind": "join_request", "text": "Bem-vindo"}, "delivery.chat_id"),
        ({"kind": "pombo_correio", "text": "x"}, "delivery.kind"),
        ({"url": "http://example.com/sem-tls"}, "delivery.url"),
        ({"text": "x" * 3000}, "delivery.text"),
        ({"kind": "invite_link", "chat_id": "o grupo"}, "delivery.chat_id"),
        ({"kind": "invite_link", "chat_id": -(10**40)}, "delivery.chat_id"),
        ({"kind": "join_request", "chat_id": 2**52}, "delivery.chat_id"),
        ({"text": "oi", "surpresa": 1}, "delivery.surpresa"),
        ({"text": "oi", "link_expire_hours": 0}, "delivery.link_expire_hours"),
        ("https://example.com", "delivery"),
    ],
)
def test_a_delivery_problem_names_its_field_and_writes_nothing(
    api: Callable[..., Answer], aws_env: aws.Resources, table: Any, tenant_key: str, delivery: Any, field: str
) -> None:
    add_bot(table, "bot_a")
    before = table_state(aws_env)
    answer = api("POST", "/api/v1/offers", {**VIP, "delivery": delivery}, key=tenant_key)
    assert answer.status == 422, answer.body
    assert answer.error_fields == [field]
    assert table_state(aws_env) == before


def test_invalid_fields_are_each_named(
    api: Callable[..., Answer], aws_env: aws.Resources, table: Any, tenant_key: str
) -> None:
    add_bot(table, "bot_a")
    before = table_state(aws_env)
    body = {"id": "x" * 41, "title": "t" * 33, "price_cents": 0, "stars_price": 0, "position": -1, "cor": "azul"}
    answer = api("POST", "/api/v1/offers", body, key=tenant_key)
    assert answer.status == 422
    assert sorted(answer.error_fields) == ["cor", "id", "position", "price_cents", "stars_price", "title"]
    assert api("POST", "/api/v1/offers", {**VIP, "bot_ids": []}, key=tenant_key).error_fields == ["bot_ids"]
    assert api("POST", "/api/v1/offers", {**VIP, "price_cents": 19.9}, key=tenant_key).error_fields == ["price_cents"]
    lone_surrogate = json.dumps({**VIP, "title": "MARK"}).replace("MARK", "\\ud800")
    assert api("POST", "/api/v1/offers", lone_surrogate, key=tenant_key).error_fields == ["title"]
    assert table_state(aws_env) == before


def test_an_offer_id_one_of_the_bots_already_sells_is_a_409_that_writes_nothing(
    api: Callable[..., Answer], aws_env: aws.Resources, table: Any, tenant_key: str
) -> None:
    add_bot(table, "bot_a")
    add_bot(table, "bot_b")
    assert api("POST", "/api/v1/offers", {**VIP, "bot_ids": ["bot_a"]}, key=tenant_key).status == 201
    before = table_state(aws_env)
    answer = api("POST", "/api/v1/offers", {**VIP, "title": "Outro"}, key=tenant_key)  # on bot_a and bot_b
    assert answer.status == 409
    assert "bot_a" in answer.body["error"] and "bot_b" not in answer.body["error"]
    assert table_state(aws_env) == before
    assert "vip" not in sold_by(table, "bot_b")
    assert sold_by(table, "bot_a")["vip"].title == "Grupo VIP"


def test_a_bot_of_another_tenant_is_refused_as_a_missing_one_and_nothing_is_created(
    api: Callable[..., Answer], aws_env: aws.Resources, table: Any, tenant_key: str, other_key: str
) -> None:
    add_bot(table, "bot_a")
    add_bot(table, "bot_dela", tenant_id=OTHER)
    before = table_state(aws_env)
    foreign = api("POST", "/api/v1/offers", {**VIP, "bot_ids": ["bot_a", "bot_dela"]}, key=tenant_key)
    missing = api("POST", "/api/v1/offers", {**VIP, "bot_ids": ["bot_a", "bot_nenhum"]}, key=tenant_key)
    assert foreign.status == missing.status == 422
    assert foreign.error_fields == missing.error_fields == ["bot_ids.1"]
    assert foreign.body["fields"][0]["message"] == missing.body["fields"][0]["message"].replace("nenhum", "dela")
    twice = api("POST", "/api/v1/offers", {**VIP, "bot_ids": ["bot_a", "bot_a"]}, key=tenant_key)
    assert twice.status == 422 and twice.error_fields == ["bot_ids.1"]
    assert table_state(aws_env) == before
    assert sold_by(table, "bot_dela") == {}


# -- reading --------------------------------------------------------------------------------------


def test_another_tenants_offer_is_a_404_like_a_missing_one(
    api: Callable[..., Answer], aws_env: aws.Resources, table: Any, tenant_key: str, other_key: str
) -> None:
    add_bot(table, "bot_a")
    add_bot(table, "bot_dela", tenant_id=OTHER)
    assert api("POST", "/api/v1/offers", VIP, key=other_key).status == 201
    before = table_state(aws_env)
    for method, body in [("GET", None), ("PATCH", {"title": "Roubada"}), ("PATCH", {"bot_ids": ["bot_a"]})]:
        theirs = api(method, "/api/v1/offers/vip", body, key=tenant_key)
        nothing = api(method, "/api/v1/offers/nada", body, key=tenant_key)
        assert theirs.status == nothing.status == 404
        assert theirs.body["error"] == nothing.body["error"].replace("nada", "vip")
    assert api("GET", "/api/v1/offers", key=tenant_key).body["items"] == []
    assert table_state(aws_env) == before


def test_pages_show_each_offer_once_with_all_its_bots(api: Callable[..., Answer], table: Any, tenant_key: str) -> None:
    bots = [add_bot(table, f"bot_{name}") for name in "abc"]
    ids = ["a1", "b2", "c3", "d4", "e5"]
    for offer_id in ids:
        assert api("POST", "/api/v1/offers", {**VIP, "id": offer_id}, key=tenant_key).status == 201
    # The index orders copies by bot, then offer: a page of items would cut offers in three.
    seen, cursor, pages = [], None, 0
    while True:
        page = api("GET", "/api/v1/offers", key=tenant_key, limit=2, **({"cursor": cursor} if cursor else {})).body
        pages += 1
        assert len(page["items"]) <= 2
        for offer in page["items"]:
            assert offer["bot_ids"] == bots
        seen += [offer["id"] for offer in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids and pages == 3
    for bad in ["nonsense", encode_cursor({"after": 5}), "eyJnc2kxcGsiOiJURU5BTlQjdF9iaWEifQ"]:
        answer = api("GET", "/api/v1/offers", key=tenant_key, cursor=bad)
        assert answer.status == 422 and answer.error_fields == ["cursor"]


# -- changing -------------------------------------------------------------------------------------


def test_a_patch_adds_a_bot_and_removes_another_in_one_transaction(
    api: Callable[..., Answer], table: Any, tenant_key: str, aws_calls: list[tuple[str, str]]
) -> None:
    for name in "abc":
        add_bot(table, f"bot_{name}")
    api("POST", "/api/v1/offers", {**VIP, "bot_ids": ["bot_a", "bot_b"]}, key=tenant_key)
    aws_calls.clear()
    changed = api(
        "PATCH",
        "/api/v1/offers/vip",
        {"bot_ids": ["bot_b", "bot_c"], "title": "VIP anual", "price_cents": 19900},
        key=tenant_key,
    )
    assert changed.status == 200, changed.body
    assert changed.body["bot_ids"] == ["bot_b", "bot_c"]
    assert (changed.body["title"], changed.body["price"]) == ("VIP anual", "R$ 199,00")
    writes = [operation for _, operation in aws_calls if operation in {"PutItem", "DeleteItem", "TransactWriteItems"}]
    assert writes == ["TransactWriteItems"]
    assert "vip" not in sold_by(table, "bot_a")
    for bot_id in ["bot_b", "bot_c"]:
        offer = sold_by(table, bot_id)["vip"]
        assert (offer.title, offer.price_cents, offer.stars_price) == ("VIP anual", 19900, 150)
    assert api("GET", "/api/v1/offers/vip", key=tenant_key).body == changed.body


def test_a_patch_changes_only_what_it_names_and_null_removes_stars_and_delivery(
    api: Callable[..., Answer], aws_env: aws.Resources, table: Any, tenant_key: str
) -> None:
    add_bot(table, "bot_a")
    created = api("POST", "/api/v1/offers", {**VIP, "position": 3, "ask_phone": True}, key=tenant_key).body
    disabled = api("PATCH", "/api/v1/offers/vip", {"enabled": False}, key=tenant_key)
    assert disabled.body == {**created, "enabled": False}
    assert "vip" not in sold_by(table, "bot_a")  # the webhook shows only enabled offers
    cleared = api(
        "PATCH", "/api/v1/offers/vip", {"stars_price": None, "delivery": None, "enabled": True}, key=tenant_key
    )
    assert cleared.status == 200
    assert cleared.body == {**created, "stars_price": None, "delivery": None}
    stored = table.get("BOT#bot_a", "OFFER#vip")
    assert "stars_price" not in stored and "delivery" not in stored
    assert sold_by(table, "bot_a")["vip"].stars_price is None
    before = table_state(aws_env)
    for body, fields in [
        ({"title": None}, ["title"]),
        ({"bot_ids": []}, ["bot_ids"]),
        ({"delivery": {"kind": "invite_link"}}, ["delivery.chat_id"]),
        ({"id": "novo"}, ["id"]),
        ({"bot_ids": ["bot_a", "bot_zz"]}, ["bot_ids.1"]),
    ]:
        answer = api("PATCH", "/api/v1/offers/vip", body, key=tenant_key)
        assert answer.status == 422 and answer.error_fields == fields, (body, answer.body)
    assert api("PATCH", "/api/v1/offers/vip", {}, key=tenant_key).body == cleared.body
    assert table_state(aws_env) == before


def test_the_seeds_offers_written_without_the_api_are_listed_once_and_change_on_every_bot(
    api: Callable[..., Answer], table: Any, seed: Any
) -> None:
    from funil.operator.api_keys import create_key

    key = create_key(table, seed.tenant_id, "demo", utc_now).key
    bots = sorted(bot["id"] for bot in seed.bots)
    listed = api("GET", "/api/v1/offers", key=key).body["items"]
    ids = ["checklist", "curso", "grupo_vip", "grupo_vip_7d", "mentoria"]
    assert [(offer["id"], offer["bot_ids"]) for offer in listed] == [(offer_id, bots) for offer_id in ids]
    changed = api("PATCH", "/api/v1/offers/grupo_vip", {"title": "VIP (60 dias)", "price_cents": 2990}, key=key)
    assert changed.status == 200, changed.body
    for bot_id in bots:
        offer = sold_by(table, bot_id)["grupo_vip"]
        assert (offer.title, offer.price_cents, offer.stars_price) == ("VIP (60 dias)", 2990, 150)


class Meanwhile:
    """The table, where another request's change lands between this request's read and its write."""

    def __init__(self, table: Any, change: Callable[[], None]) -> None:
        self.table, self.change = table, change

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)

    def transact_write(self, writes: Any) -> None:
        self.change()
        self.table.transact_write(writes)


def test_a_change_that_lands_meanwhile_makes_the_patch_a_409_and_the_copies_stay_alike(
    api: Callable[..., Answer], table: Any, tenant_key: str
) -> None:
    for name in "ab":
        add_bot(table, f"bot_{name}")
    api("POST", "/api/v1/offers", VIP, key=tenant_key)

    def other_patch() -> None:
        offers.update_offer(table, TENANT, "vip", offers.OfferUpdate(price_cents=2990))

    with pytest.raises(offers.Conflict):
        offers.update_offer(Meanwhile(table, other_patch), TENANT, "vip", offers.OfferUpdate(title="Perdido"))
    view = api("GET", "/api/v1/offers/vip", key=tenant_key).body
    assert (view["title"], view["price_cents"]) == ("Grupo VIP", 2990)
    assert {
        (offer.title, offer.price_cents) for bot in ["bot_a", "bot_b"] for offer in sold_by(table, bot).values()
    } == {("Grupo VIP", 2990)}


def test_the_offer_routes_take_a_tenants_key(api: Callable[..., Answer], table: Any) -> None:
    from funil.operator.api_keys import create_operator_key

    operator = create_operator_key(table, "deploy", utc_now).key
    assert api("GET", "/api/v1/offers", key=operator).status == 403
    assert api("POST", "/api/v1/offers", VIP, key=operator).status == 403
    assert api("GET", "/api/v1/offers").status == 401


# -- hostile bodies -------------------------------------------------------------------------------

VALID_BODIES = [
    VIP,
    {"id": "curso", "title": "Curso", "price_cents": 9700, "bot_ids": ["bot_a"], "delivery": {"text": "Obrigado!"}},
    {**VIP, "id": "anual", "description": "Um ano", "position": 2, "ask_phone": True, "enabled": False},
]
FIELDS = [*offers.OfferCreate.model_fields, "bot_ids", "tenant_id", "revision", "x"]
DELIVERIES = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(["message", "invite_link", "join_request", "pombo"]),
        "text": st.text(max_size=20),
        "url": st.sampled_from(["https://example.com/curso", "http://example.com", "https://"]),
        "chat_id": st.integers(-(2**60), 2**60),
        "button_text": st.text(max_size=41),
        "link_expire_hours": st.integers(0, 24 * 30 + 1),
    },
)
# Bodies of the right shape with values near and past each limit: the creations, 409s and 422s mixed.
BUILT = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"[A-Za-z0-9_-]{1,4}", fullmatch=True),
        "title": st.text(max_size=34),
        "price_cents": st.integers(-1, 10**8 + 1),
    },
    optional={
        "bot_ids": st.lists(st.sampled_from(["bot_a", "bot_b", "bot_dela", "bot_nenhum"]), max_size=3),
        "description": st.text(max_size=260),
        "stars_price": st.none() | st.integers(0, 100_001),
        "delivery": st.none() | DELIVERIES,
        "position": st.integers(-1, 1001),
        "ask_phone": st.booleans(),
        "enabled": st.booleans(),
    },
)


@given(data=st.data())
@route(tests=1)
def test_hostile_bodies_never_fail_inside_and_change_nothing_when_refused(
    invoke: Callable[..., Any], aws_env: aws.Resources, table: Any, tenant_key: str, data: st.DataObject
) -> None:
    add_bot(table, "bot_a")
    add_bot(table, "bot_b")
    add_bot(table, "bot_dela", tenant_id=OTHER)
    body = hostile_body(data, built=BUILT, valid=VALID_BODIES, fields=FIELDS, max_fields=6)
    created = post_untrusted(invoke, aws_env, "/api/v1/offers", tenant_key, body)
    if created is None:
        return
    for bot_id in created["bot_ids"]:
        assert bot_id in {"bot_a", "bot_b"}
        stored = table.get(f"BOT#{bot_id}", f"OFFER#{created['id']}")
        assert stored["tenant_id"] == TENANT and stored["title"] == created["title"]


@pytest.mark.parametrize(
    "body",
    [b"\x80", b"[" * 5000 + b"]" * 5000, b"9" * 5000],
    ids=["not-utf8", "nested-5000-deep", "integer-of-5000-digits"],
)
def test_an_unreadable_body_is_refused_as_input_on_body(
    invoke: Callable[..., Any], aws_env: aws.Resources, table: Any, tenant_key: str, body: bytes
) -> None:
    add_bot(table, "bot_a")
    before = table_state(aws_env)
    answer = invoke("AdminApiFunction", with_body(api_event("POST", "/api/v1/offers", key=tenant_key), body, False))
    assert answer["statusCode"] == 422
    assert [problem["field"] for problem in json.loads(answer["body"])["fields"]] == ["body"]
    assert table_state(aws_env) == before
