"""funil.access's pure parts: when an access is next due, its dates in Brasília, its messages on the wire."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from funil.access import texts
from funil.access.models import brasilia_date, next_due
from funil.delivery.entry import renewal_message

from local.fakes.telegram_api import validate_call

END = datetime(2026, 12, 31, 2, 30, tzinfo=UTC)  # 30/12 at 23:30 in Brasília


def test_next_due_is_the_earliest_reminder_not_sent_then_the_end() -> None:
    assert next_due(END, (3, 1), ()) == END - timedelta(days=3)
    assert next_due(END, (1, 3), {3}) == END - timedelta(days=1)
    assert next_due(END, (3, 1), {3, 1}) == END
    assert next_due(END, (), ()) == END


def test_dates_are_brasilias_the_day_before_in_utc_late_at_night() -> None:
    assert brasilia_date(END) == "30/12/2026 às 23:30"
    assert texts.renewed(END) == (
        "Acesso renovado até 30/12/2026 às 23:30 (horário de Brasília). Você continua no grupo: nada muda."
    )


def test_reminders_say_tomorrow_or_in_n_days() -> None:
    assert "termina amanhã" in texts.reminder("VIP", END, END - timedelta(days=1))
    assert "termina em 3 dias" in texts.reminder("VIP", END, END - timedelta(days=3, minutes=2))
    assert "termina amanhã" in texts.reminder("", END, END - timedelta(hours=2))  # never "em 0 dias"


def test_the_messages_pass_the_bot_api_spec() -> None:
    keyboard = {"inline_keyboard": [[{"text": texts.pix_button(True), "callback_data": "b:grupo_vip"}],
                                    [{"text": texts.stars_button(), "callback_data": "s:grupo_vip"}]]}  # fmt: skip
    for text in (texts.reminder("x" * 500, END, END), texts.ended("Grupo VIP")):
        call = {"chat_id": 42, "text": text, "reply_markup": json.dumps(keyboard)}
        assert validate_call("sendMessage", call) == []
    text, button = renewal_message(
        {"payment_id": "p", "offer_name": "VIP", "delivery_token": "T" * 20}, END, "https://f.example"
    )
    assert button is None and "https://f.example/d/" + "T" * 20 in text
    assert validate_call("sendMessage", {"chat_id": 42, "text": text}) == []
