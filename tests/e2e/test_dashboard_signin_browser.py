"""Signing in to the dashboard in Debian's Chromium, on the local stack: the link's button, the
``__Host-`` session cookie a real browser keeps, CSRF on signing out, and a site that auto-posts
someone's link (refused, the link left unspent). The dashboard's own pages are tested by the
frontend's browser tests (tests/e2e/test_dashboard_browser.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, NO_CHROMIUM, WAIT_MS

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]
EVIL = "https://evil.example/"


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from local.server import start_stack

    running = start_stack(host="127.0.0.1", port=0, schedule_speed=None)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="pt-BR")
    context.set_default_timeout(WAIT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def login_link(stack: Any) -> str:
    request = Request(
        stack.base_url + "/api/v1/login-links", method="POST", headers={"authorization": f"Bearer {stack.seed.api_key}"}
    )
    with urlopen(request) as answer:
        return str(json.loads(answer.read())["url"])


def status_of(url: str) -> int:
    try:
        with urlopen(url) as answer:
            return int(answer.status)
    except HTTPError as refused:
        return refused.code


def fetch_status(page: Any, path: str, method: str = "GET", csrf: str | None = None) -> int:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return int(
        page.evaluate(
            "([path, method, headers]) => fetch(path, {method, headers}).then(r => r.status)", [path, method, headers]
        )
    )


def test_a_person_signs_in_with_the_button_and_out_with_the_csrf_token(stack: Any, page: Any) -> None:
    url = login_link(stack)
    page.goto(url)
    assert page.title() == "Entrar no painel"
    with page.expect_navigation():
        page.get_by_role("button", name="Entrar no painel").click()
    assert page.url == stack.base_url + "/app"
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (
        "__Host-funil_session",
        True,
        True,
        "Strict",
    )
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads it
    session = page.evaluate("fetch('/app/api/session').then(r => r.json())")
    assert session["tenant_id"] == stack.seed.tenant_id
    assert fetch_status(page, "/app/logout", "POST") == 403
    assert fetch_status(page, "/app/logout", "POST", session["csrf_token"]) == 204
    assert page.context.cookies() == []
    assert fetch_status(page, "/app/api/session") == 401
    page.goto(url)
    assert page.title() == "Link de acesso inválido"  # spent


def test_a_site_that_posts_someones_link_signs_nobody_in(stack: Any, page: Any) -> None:
    url = login_link(stack)
    token = url.partition("token=")[2]
    attack = (
        f'<form method="post" action="{stack.base_url}/app/login"><input name="token" value="{token}"></form>'
        "<script>document.forms[0].submit()</script>"
    )
    page.route(EVIL, lambda route: route.fulfill(status=200, content_type="text/html", body=attack))
    with page.expect_navigation(url=stack.base_url + "/app/login"):
        page.goto(EVIL)
    assert page.title() == "Não foi possível entrar"
    assert page.context.cookies() == []
    assert status_of(url) == 200  # the link is still good for its owner
