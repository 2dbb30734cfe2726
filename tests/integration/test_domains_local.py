"""Tracking domains end to end: the `funil domains` CLI against the real local stack, clicks sent to
the stack under the domains' own ``Host`` (as a browser resolving the seller's CNAME would), the
demo link served there with its cookies on the parent domain, and the server PageView's
event_source_url on that host. Creating the validation record in the seller's DNS is stood in for
by ``POST /_local/domains/{host}/validate`` (docs/domains.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.server import LocalStack, start_stack
from tests.integration import test_cli_local
from tests.integration.test_cli_local import PHONE, Cli, as_json, eventually, ok

cli = test_cli_local.cli  # the fixture: the CLI with a config file of the test's own

FIRST = "go.demo.test"
SECOND = "promo.demo-loja.com.br"
OTHERS = "go.outra-loja.test"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with start_stack(port=0, schedule_speed=None) as started:
        yield started


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def seed(http: httpx.Client) -> dict[str, Any]:
    return dict(http.get("/_local/seed").json())


def click(http: httpx.Client, stack: LocalStack, host: str, query: str = "") -> httpx.Response:
    """A phone opening ``http://<host>/go/demo`` with the stack as the name's address."""
    port = stack.base_url.rsplit(":", 1)[1]
    path = "/go/demo" + (f"?{query}" if query else "")
    return http.get(path, headers={"host": f"{host}:{port}", "user-agent": PHONE})


def make_active(cli: Cli, http: httpx.Client, host: str) -> dict[str, Any]:
    added = as_json(cli("--json", "domains", "add", host))
    assert added["status"] == "pending_dns"
    assert [record["purpose"] for record in added["dns_records"]] == ["certificate validation"]
    assert http.post(f"/_local/domains/{host}/validate").status_code == 200  # the seller's DNS record
    shown = as_json(cli("--json", "domains", "show", host))
    assert shown["status"] == "active", shown
    return dict(shown)


def test_a_tenants_domains_serve_its_link_and_a_flagged_one_moves_to_the_spare(
    stack: LocalStack, http: httpx.Client, seed: dict[str, Any], cli: Cli
) -> None:
    ok(cli("login", "--url", stack.base_url, "--key", seed["api_key"]))
    pending = ok(cli("domains", "add", FIRST))
    assert "pending_dns" in pending.stdout
    assert "CNAME" in pending.stderr and f"funil domains show {FIRST}" in pending.stderr  # what to do next
    assert http.post(f"/_local/domains/{FIRST}/validate").status_code == 200
    assert as_json(cli("--json", "domains", "show", FIRST))["status"] == "active"
    second = make_active(cli, http, SECOND)
    assert second["cookie_domain"] == "demo-loja.com.br"
    listed = ok(cli("domains", "list")).stdout
    assert FIRST in listed and SECOND in listed

    # The second domain serves the demo link: cookies on its parent domain, the click's host kept.
    answer = click(http, stack, SECOND, "fbclid=IwAR0localDomainWalk")
    assert answer.status_code == 200
    cookies = answer.headers.get_list("set-cookie")
    assert {cookie.split("=", 1)[0] for cookie in cookies} == {"_fbp", "_fbc"}
    assert all("; Domain=demo-loja.com.br;" in cookie for cookie in cookies)
    token = re.search(r"start=([A-Za-z0-9_-]{22})", answer.text)
    assert token is not None
    page_view = eventually(
        lambda: http.get("/_local/capi", params={"token": token.group(1)}).json(), "the click's server PageView"
    )
    assert [event["event_source_url"] for event in page_view] == [f"https://{SECOND}/go/demo"]

    # Flagged: the first domain's visitors are sent to the same link on the spare, query and all.
    flagged = as_json(cli("--json", "domains", "flag", FIRST))
    assert flagged["status"] == "flagged"
    moved = click(http, stack, FIRST, "utm_source=fb")
    assert moved.status_code == 302
    port = stack.base_url.rsplit(":", 1)[1]
    assert moved.headers["location"] == f"http://{SECOND}:{port}/go/demo?utm_source=fb"


def test_another_tenants_domain_cannot_serve_this_tenants_slugs(
    stack: LocalStack, http: httpx.Client, seed: dict[str, Any], cli: Cli
) -> None:
    created = as_json(
        cli("--api-url", stack.base_url, "--api-key", seed["operator_key"], "--json", "tenants", "create", "Outra")
    )
    ok(cli("login", "--url", stack.base_url, "--key", created["api_key"]["key"]))
    make_active(cli, http, OTHERS)
    taken = cli("--api-key", seed["api_key"], "domains", "add", OTHERS)  # one tenant per host
    assert taken.exit_code == 1 and "409" in taken.stderr

    refused = click(http, stack, OTHERS)  # the demo tenant's link on this tenant's domain
    assert refused.status_code == 404
    assert "set-cookie" not in refused.headers
