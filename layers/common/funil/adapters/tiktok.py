"""TikTok's Events API 2.0: ``POST /open_api/v1.3/event/track/`` with the ``Access-Token`` header.

TikTok answers most errors with HTTP 200 and a non-zero ``code`` in the body (``{"code", "message",
"request_id"}``): code 0 is delivered; the rate limit (40100) and TikTok's own errors (5xxxx) are
transient; an invalid or expired token (40001, 40104, 40105) is ``auth_rejected``; anything else
(40002 invalid parameter…) is a permanent rejection. Non-200 statuses are classified by status.
Docs: https://business-api.tiktok.com/portal/docs?id=1771101027431425 (Events API 2.0, web events).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from funil.adapters.outgoing import Delivery, Failure, classify, encode, post

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://business-api.tiktok.com"
TRACK_PATH = "/open_api/v1.3/event/track/"
RATE_LIMITED = 40100
AUTH_CODES = frozenset({40001, 40104, 40105})


def send_events(client: httpx.Client, base_url: str, access_token: str, body: Mapping[str, Any]) -> Delivery:
    answer = post(client, base_url.rstrip("/") + TRACK_PATH, encode(body), {"Access-Token": access_token})
    by_status = classify(answer)
    if not by_status.ok:
        return by_status
    parsed = answer.json()
    if not isinstance(parsed, dict) or not isinstance(parsed.get("code"), int):
        return Delivery(answer.status_code, Failure.TRANSIENT, "tiktok_unreadable_answer", answer.detail())
    code, request_id = parsed["code"], parsed.get("request_id")
    reference = str(request_id) if request_id else None
    if code == 0:
        return Delivery(answer.status_code, reference=reference)
    detail = str(parsed.get("message") or "")[:300] or None
    if code == RATE_LIMITED or code >= 50000:
        return Delivery(answer.status_code, Failure.TRANSIENT, f"tiktok_{code}", detail, reference)
    reason = "auth_rejected" if code in AUTH_CODES else f"tiktok_{code}"
    return Delivery(answer.status_code, Failure.PERMANENT, reason, detail, reference)
