"""Outgoing webhooks: a signed JSON POST to the seller's own HTTPS URL.

Headers (docs/destinations.md has the receiver's verification, in Python):

- ``Funil-Event-Id``: the event's id (``purchase_<payment>``…), the same on every retry: dedupe on it;
- ``Funil-Timestamp``: Unix seconds when this attempt was sent;
- ``Funil-Signature``: ``v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the signing secret>``.

Answers are classified by status (``funil.adapters.outgoing``); redirects are not followed. A URL
whose host resolves to an address that is not public (loopback, private, link-local: our own
network, the Lambda runtime's API) is not called: a permanent ``address_not_public``. The operator's
API already refuses IP literals and local names; this catches a public name pointed at a private
address. A name re-pointed between this check and the connection is not caught.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from funil.adapters.outgoing import Delivery, Failure, classify, post

if TYPE_CHECKING:
    import httpx

EVENT_ID_HEADER = "Funil-Event-Id"
TIMESTAMP_HEADER = "Funil-Timestamp"
SIGNATURE_HEADER = "Funil-Signature"
SIGNATURE_VERSION = "v1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex>``: HMAC-SHA256 over ``<timestamp>.<body>`` with the destination's signing secret."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(secret: str, timestamp: int, event_id: str, body: bytes) -> dict[str, str]:
    return {
        EVENT_ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def addresses(host: str) -> list[str]:
    """The host's addresses as a connection would find them; none when DNS fails (the POST then
    fails as a network error, retried)."""
    try:
        return [str(info[4][0]) for info in socket.getaddrinfo(host, None)]
    except (OSError, UnicodeError):
        return []


def reaches_private_network(url: str, resolve: Callable[[str], list[str]] = addresses) -> bool:
    """Whether any address of the URL's host is not a public one."""
    for address in resolve(urlsplit(url).hostname or ""):
        try:
            if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
                return True
        except ValueError:
            return True
    return False


def send(
    client: httpx.Client,
    url: str,
    secret: str,
    *,
    event_id: str,
    timestamp: int,
    body: bytes,
    refuse: Callable[[str], bool] | None = reaches_private_network,
) -> Delivery:
    """``refuse``: the check of the URL's addresses (None: any address, as the local stack needs)."""
    if refuse is not None and refuse(url):
        return Delivery(
            None, Failure.PERMANENT, "address_not_public", "the URL's host resolves to a non-public address"
        )
    return classify(post(client, url, body, signed_headers(secret, timestamp, event_id, body)))
