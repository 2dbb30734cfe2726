"""A person, in a browser, through the whole sale on the local stack the README starts.

Click the demo link (bridge page, its cookies, Pixel stub), open the chat page with the token the
page sends to Telegram, press Start, tap the PIX offer, see the QR code, pay in the sandbox, receive
the invite link; Meta's fake Graph API then holds PageView (from the stored click, through the
table's stream), Lead, InitiateCheckout and Purchase, once each.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM, NO_CHROMIUM, WAIT_MS, demo_bot_id, get_json, run_until, stored_click
from tests.e2e.test_bridge_browser import DESKTOP_CHROME, WEB_LINK

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

WANTED = Counter({"PageView": 1, "Lead": 1, "InitiateCheckout": 1, "Purchase": 1})


def _events(stack: Any) -> Counter[str]:
    """Every event the fake Graph API holds but the test event that proved the demo pixel's token
    when the stack added it through the operator's API (funil.operator.pixels.CHECK_EVENT_NAME)."""
    from funil.operator.pixels import CHECK_EVENT_NAME

    names = (str(event.get("event_name")) for event in get_json(stack, "/_local/capi"))
    return Counter(name for name in names if name != CHECK_EVENT_NAME)


def test_click_start_buy_pay_and_receive_the_delivery(stack: Any, bridge: Any) -> None:
    visit = bridge(DESKTOP_CHROME)
    visit.open("/go/demo?utm_source=facebook&fbclid=IwAR0browserSale_0123456789")
    link = WEB_LINK.fullmatch(visit.wait_for_telegram())
    assert link, "the bridge page sends the visitor to the bot with the click's token"
    token = link["token"]
    bot_id = demo_bot_id(stack, link["bot"])
    click = stored_click(stack, token)  # stored by the redirect before it answered
    assert click["bot_id"] == bot_id

    page = visit.context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{stack.base_url}/_local/chat/{bot_id}?start={token}")
    page.click("#startButton")
    page.get_by_role("button", name=re.compile(r"Grupo VIP .*\(PIX\)")).click()
    page.wait_for_function(
        "[...document.querySelectorAll('.msg.bot img')].some(img => img.complete && img.naturalWidth > 0)"
    )
    pending = get_json(stack, f"/_local/telegram/{bot_id}/pending")[0]  # the newest: this one
    brcode = next(
        charge["brcode"]
        for charge in get_json(stack, "/_local/sandbox/charges")
        if charge["reference"] == pending["payment_id"]
    )
    assert page.locator(".msg.bot code", has_text=brcode).first.is_visible(), "the copy-paste code is shown"
    assert page.get_by_role("button", name=re.compile("Copiar")).first.is_visible()
    page.get_by_role("button", name=re.compile("Pagar este PIX no sandbox")).click()
    invite = page.get_by_role("link", name="Entrar no grupo VIP")
    invite.wait_for(timeout=WAIT_MS)
    assert (invite.get_attribute("href") or "").startswith("https://t.me/+")

    # The stack's queue consumers send them to the fake Graph API, in the background.
    run_until(
        page,
        lambda: _events(stack) == WANTED,
        f"the fake Graph API to hold {dict(WANTED)}",
        state=lambda: _events(stack),
    )
    assert _events(stack) == WANTED
    # The server PageView carries the cookies the browser kept from the redirect (what its Pixel read).
    cookies = visit.cookies()
    events = get_json(stack, f"/_local/capi?token={token}")
    (page_view,) = [event for event in events if event["event_name"] == "PageView"]
    assert page_view["event_id"] == f"pv_{token}"
    assert page_view["user_data"]["fbp"] == cookies["_fbp"]["value"] == click["fbp"]
    assert page_view["user_data"]["fbc"] == cookies["_fbc"]["value"] == click["fbc"]
    assert errors == []
    assert get_json(stack, "/_local/telegram/violations") == []
