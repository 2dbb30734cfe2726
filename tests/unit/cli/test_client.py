"""ApiClient alone: pages, a server that loops its cursor, answers that are not JSON (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest
from funil_cli.client import ApiClient, api_root
from funil_cli.errors import ApiError, CliError
from funil_cli.i18n import Translator


def test_the_root_is_the_same_however_the_url_is_given() -> None:
    for url in ("https://x.example", "https://x.example/", "https://x.example/api/v1", " https://x.example/api/v1/ "):
        assert api_root(url) == "https://x.example"


def test_a_cursor_that_comes_back_stops_the_listing() -> None:
    pages: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        pages.append(request.url.params.get("cursor"))
        return httpx.Response(200, json={"items": [{"id": "b1"}], "next_cursor": "same"})

    client = ApiClient("https://x.example", "fnl_k", transport=httpx.MockTransport(answer))
    with client, pytest.raises(CliError) as refused:
        client.list_all("/bots")
    assert refused.value.key == "error.pagination_loop"
    assert pages == [None, "same"]


def test_a_success_that_is_not_json_is_an_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>login</html>"))
    with ApiClient("https://x.example", "fnl_k", transport=transport) as client, pytest.raises(CliError) as refused:
        client.get("/bots")
    assert refused.value.render(Translator("en")) == "the API answered 200 without JSON"


def test_fields_are_named_in_order() -> None:
    body = {"error": "invalid input", "fields": [{"field": "a.0", "message": "m1"}, {"field": "b", "message": "m2"}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(422, json=body))
    with ApiClient("https://x.example", "fnl_k", transport=transport) as client, pytest.raises(ApiError) as refused:
        client.post("/links", {})
    assert refused.value.render(Translator("pt")) == "a API respondeu 422: invalid input (a.0: m1; b: m2)"


def test_a_timeout_says_so() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = ApiClient("https://x.example", "fnl_k", transport=httpx.MockTransport(slow))
    with client, pytest.raises(CliError) as refused:
        client.get("/bots")
    assert refused.value.render(Translator("en")) == "could not reach https://x.example: timeout (timed out)"
