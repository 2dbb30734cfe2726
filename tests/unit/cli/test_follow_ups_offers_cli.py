"""``funil offers add`` / ``update``: the access period, reminders, linked offers and PIX follow-ups."""

from __future__ import annotations

from tests.unit.cli.conftest import Run
from tests.unit.cli.fake_api import FakeApi


def test_add_sends_every_new_field(tenant: Run, fake_api: FakeApi) -> None:
    result = tenant(
        "offers", "add", "vip", "--title", "VIP", "--price", "19,90", "--invite-chat", "-100123",
        "--unlisted", "--access-days", "30", "--reminder-day", "5", "--reminder-day", "1",
        "--upsell", "mentoria", "--downsell", "vip7", "--bump", "checklist",
        "--pix-reminder", "10", "--pix-follow-up", "30",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [request] = fake_api.sent("POST", "/api/v1/offers")
    assert request.body == {
        "id": "vip",
        "title": "VIP",
        "price_cents": 1990,
        "delivery": {"kind": "invite_link", "chat_id": -100123},
        "listed": False,
        "access_days": 30,
        "renewal_reminder_days": [5, 1],
        "upsell_offer_id": "mentoria",
        "downsell_offer_id": "vip7",
        "bump_offer_id": "checklist",
        "pix_reminder_minutes": 10,
        "pix_follow_up_minutes": 30,
    }


def test_add_leaves_them_out_by_default(tenant: Run, fake_api: FakeApi) -> None:
    assert tenant("offers", "add", "vip", "--title", "VIP", "--price", "10").exit_code == 0
    assert fake_api.sent("POST", "/api/v1/offers")[0].body == {"id": "vip", "title": "VIP", "price_cents": 1000}


def test_update_sends_only_what_was_given_and_removes_with_null(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.add("t_one", "offers", {"id": "vip", "title": "VIP", "price_cents": 1990, "upsell_offer_id": "x"})
    result = tenant(
        "offers", "update", "vip", "--listed", "--price", "24,90", "--access-days", "60",
        "--pix-reminder", "15", "--remove", "upsell", "--remove", "pix-follow-up", "--remove", "stars",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [request] = fake_api.sent("PATCH", "/api/v1/offers/vip")
    assert request.body == {
        "price_cents": 2490,
        "listed": True,
        "access_days": 60,
        "pix_reminder_minutes": 15,
        "upsell_offer_id": None,
        "pix_follow_up_minutes": None,
        "stars_price": None,
    }
    second = tenant("offers", "update", "vip", "--unlisted", "--no-ask-phone", "--bump", "checklist")
    assert second.exit_code == 0, second.stderr
    assert fake_api.sent("PATCH", "/api/v1/offers/vip")[1].body == {
        "ask_phone": False,
        "listed": False,
        "bump_offer_id": "checklist",
    }


def test_update_refuses_nothing_and_a_value_it_also_removes(tenant: Run, fake_api: FakeApi) -> None:
    fake_api.add("t_one", "offers", {"id": "vip", "title": "VIP", "price_cents": 1990})
    assert tenant("offers", "update", "vip").exit_code != 0
    assert tenant("offers", "update", "vip", "--bump", "b", "--remove", "bump").exit_code != 0
    assert tenant("offers", "update", "vip", "--remove", "title").exit_code != 0  # not removable
    assert fake_api.sent("PATCH", "/api/v1/offers/vip") == []
