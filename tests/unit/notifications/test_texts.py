"""What the admin chats read: where a sale came from, how long it took, and what an alert asks of the seller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from funil.notifications import texts

PAID = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def told(attribution: dict[str, Any]) -> str:
    return texts.sale(
        offer="VIP", amount="R$ 19,90", gateway="PIX", attribution=attribution, click_to_sale=None, paid_at=PAID
    )


@pytest.mark.parametrize(
    ("attribution", "origin"),
    [
        ({"ad": {"campaign_name": "Natal <1>", "ad_id": "120"}, "utm": {"utm_source": "fb"}},
         "Campanha: Natal &lt;1&gt;\nAnúncio: 120"),
        ({"utm": {"utm_source": "tiktok", "utm_campaign": "natal"}, "clicked_at": "x", "link_slug": "demo"},
         "Origem: tiktok / natal"),
        ({"clicked_at": "2026-11-22T17:00:00Z", "link_slug": "promo"}, "Origem: link promo (sem dados de campanha)"),
        ({}, "Origem: orgânica (sem clique de anúncio)"),
    ],
)  # fmt: skip
def test_the_origin_is_the_best_the_click_tells(attribution: dict[str, Any], origin: str) -> None:
    assert origin in told(attribution)


def test_the_time_from_click_to_sale_reads_as_people_say_it() -> None:
    assert [texts.duration(timedelta(seconds=s)) for s in (40, 720, 3 * 3600 + 300, 2 * 86400 + 3 * 3600)] == [
        "40 s", "12 min", "3 h 05 min", "2 d 3 h"
    ]  # fmt: skip


def test_every_alert_kind_has_a_title_and_an_open_alert_says_what_to_do() -> None:
    from funil.messages import AlertKind, AlertNotice

    for kind in AlertKind:
        notice = AlertNotice(
            tenant_id="t1",
            incident_id="i1",
            kind=kind,
            state="open",
            subject="bot_<b>",
            detail="x & y",
            occurred_at=PAID,
        )
        text = texts.alert(notice)
        assert texts.ALERT_TITLES[kind] in text and texts.ALERT_ACTIONS[kind] in text
        assert "bot_&lt;b&gt;" in text and "<i>x &amp; y</i>" in text
        resolved = texts.alert(notice.model_copy(update={"state": "resolved"}))
        assert "Resolvido" in resolved and texts.ALERT_ACTIONS[kind] not in resolved
