"""Google Analytics 4's Measurement Protocol: ``POST /mp/collect?measurement_id=…&api_secret=…``.

The API secret travels in the query string (Google's design): the URL is never logged. Google
answers 2xx to anything it received, valid or not (only its validation server, ``/debug/mp/collect``,
says what is wrong), so a 2xx is delivered and the payload is built to Google's reference.
Docs: https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from funil.adapters.outgoing import Delivery, classify, encode, post

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://www.google-analytics.com"
COLLECT_PATH = "/mp/collect"


def send_events(
    client: httpx.Client, base_url: str, measurement_id: str, api_secret: str, body: Mapping[str, Any]
) -> Delivery:
    query = urlencode({"measurement_id": measurement_id, "api_secret": api_secret})
    return classify(post(client, f"{base_url.rstrip('/')}{COLLECT_PATH}?{query}", encode(body), {}))
