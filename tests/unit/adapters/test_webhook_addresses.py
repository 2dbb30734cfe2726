"""Outgoing webhooks reach only public addresses: the check a seller's URL goes through before each POST."""

from __future__ import annotations

import httpx
import pytest
from funil.adapters import webhooks

URL = "https://hooks.seller.example/funil"


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["10.1.2.3"],
        ["172.16.0.9"],
        ["192.168.1.1"],
        ["169.254.169.254"],  # link-local: instance metadata
        ["::1"],
        ["fd00::1"],
        ["fe80::1%eth0"],
        ["93.184.215.14", "10.0.0.1"],  # one private address among public ones is enough
        ["not-an-address"],
    ],
)
def test_a_host_with_any_non_public_address_is_refused(addresses: list[str]) -> None:
    assert webhooks.reaches_private_network(URL, lambda host: addresses)


@pytest.mark.parametrize("addresses", [["93.184.215.14"], ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"], []])
def test_public_addresses_or_no_answer_are_let_through(addresses: list[str]) -> None:
    """No answer: the POST itself fails as a network error, and is retried."""
    assert not webhooks.reaches_private_network(URL, lambda host: addresses)


def test_a_refused_url_is_a_permanent_failure_and_no_request() -> None:
    requests: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    client = httpx.Client(transport=httpx.MockTransport(record))
    refused = webhooks.send(
        client, URL, "s" * 32, event_id="purchase_p1", timestamp=1, body=b"{}", refuse=lambda url: True
    )
    assert (refused.ok, refused.failure, refused.reason) == (False, "permanent", "address_not_public") and not requests
    allowed = webhooks.send(client, URL, "s" * 32, event_id="purchase_p1", timestamp=1, body=b"{}", refuse=None)
    assert allowed.ok and len(requests) == 1
