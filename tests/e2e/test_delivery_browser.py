"""The delivery page in a real browser: the browser Purchase carries the server's event id.

Headless Chromium (Debian's package) opens ``GET /d/{token}`` on the local stack; Meta's Pixel script
is the recording stub of conftest.py (https://connect.facebook.net/** intercepted). The payment is
written straight into the stack's table as the payments core leaves a paid one.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM, NO_CHROMIUM, PIXEL_URL, seed_data

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

ANDROID_TELEGRAM = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Mobile Safari/537.36 Telegram-Android/11.5.3 (Samsung SM-A546E; Android 14; SDK 34; HIGH)"
)


def _table(stack: Any) -> Any:
    from funil.adapters.dynamo import Table

    return Table(stack.resources.tables["AppTable"])


def _payment(stack: Any, status: str = "paid") -> tuple[str, str]:
    seed = seed_data(stack)
    payment_id, token = uuid.uuid4().hex, secrets.token_urlsafe(24)
    _table(stack).put(
        {
            "pk": f"PAYMENT#{payment_id}",
            "sk": "PAYMENT",
            "type": "payment",
            "tenant_id": seed["tenant_id"],
            "payment_id": payment_id,
            "bot_id": seed["bots"][0]["id"],
            "telegram_user_id": 555000111,
            "offer_id": "vip_mensal",
            "offer_name": "Grupo VIP — mensal",
            "amount_cents": 4990,
            "currency": "BRL",
            "status": status,
            "pixel_id": seed["pixel_id"],
            "delivery_token": token,
            "gsi2pk": f"DELIVERY#{token}",
            "gsi2sk": "PAYMENT",
        }
    )
    return payment_id, token


def _item_count(stack: Any) -> int:
    table = _table(stack)
    return int(table.client.scan(TableName=table.name, Select="COUNT")["Count"])


def _pixel_requests(visit: Any) -> list[str]:
    return [request.url for request in visit.requests if request.url.startswith("https://connect.facebook.net/")]


def test_paid_page_fires_purchase_with_the_server_event_id(stack: Any, bridge: Any) -> None:
    payment_id, token = _payment(stack)
    items_before = _item_count(stack)
    visit = bridge(ANDROID_TELEGRAM)
    document = visit.open(f"/d/{token}")
    assert document.status == 200
    visit.wait_until(lambda: len(visit.fbq_calls) >= 2, "the Pixel calls")
    visit.page.wait_for_timeout(200)  # nothing more comes
    assert visit.fbq_calls == [
        ["init", seed_data(stack)["meta_pixel_id"]],
        [
            "track",
            "Purchase",
            {"value": 49.9, "currency": "BRL", "content_ids": ["vip_mensal"], "content_type": "product"},
            {"eventID": f"purchase_{payment_id}"},
        ],
    ]
    assert _pixel_requests(visit) == [PIXEL_URL]
    assert visit.page.locator("h1").inner_text() == "Pagamento confirmado ✅"
    assert "Grupo VIP — mensal" in visit.page.content()
    assert visit.csp_violations == [] and visit.page_errors == [] and visit.console_errors() == []
    # Only the page itself from our origin: no beacon, no write; the server Purchase comes from the payment.
    ours = [request for request in visit.requests if request.url.startswith(stack.base_url)]
    assert [(request.method, request.url) for request in ours] == [("GET", f"{stack.base_url}/d/{token}")]
    assert _item_count(stack) == items_before


@pytest.mark.parametrize(
    ("status", "title"), [("pending", "Pagamento ainda não confirmado"), ("refunded", "Compra reembolsada")]
)
def test_unpaid_page_fires_nothing(stack: Any, bridge: Any, status: str, title: str) -> None:
    _, token = _payment(stack, status)
    visit = bridge(ANDROID_TELEGRAM)
    assert visit.open(f"/d/{token}").status == 200
    visit.page.wait_for_timeout(300)
    assert visit.page.locator("h1").inner_text() == title
    assert visit.fbq_calls == [] and _pixel_requests(visit) == []
    assert visit.page_errors == []


def test_unknown_token_is_a_clear_404_without_events(stack: Any, bridge: Any) -> None:
    visit = bridge(ANDROID_TELEGRAM)
    document = visit.open("/d/" + secrets.token_urlsafe(24))
    assert document.status == 404
    assert visit.page.locator("h1").inner_text() == "Página não encontrada"
    visit.page.wait_for_timeout(200)
    assert visit.fbq_calls == [] and _pixel_requests(visit) == []
    assert "Traceback" not in visit.html
