"""The bot's menu: one button per listed offer, and one more for its Telegram Stars price.

Each button's ``callback_data`` (``b:<offer>``, ``s:<offer>``) is what ``funil.bot.checkout`` answers.
"""

from __future__ import annotations

from funil.adapters.telegram import Button
from funil.bot import texts
from funil.bot.views import BotView


def offers_keyboard(bot: BotView) -> list[list[Button]]:
    rows: list[list[Button]] = []
    for offer in bot.menu:
        rows.append([Button(texts.buy_button(offer), callback_data=f"b:{offer.offer_id}")])
        if offer.stars_price:
            rows.append([Button(texts.stars_button(offer), callback_data=f"s:{offer.offer_id}")])
    return rows
