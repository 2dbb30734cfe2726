"""Host names of tracking domains (``funil.domains.hosts``), the cookie domain against Meta's
parameter builder (PyPI ``capi_param_builder_python``, the test oracle of ``funil.meta_cookies``)."""

from __future__ import annotations

import pytest
from capi_param_builder import ParamBuilder
from capi_param_builder.util.etld_plus_one_resolver import EtldPlusOneResolver
from funil.domains import hosts
from hypothesis import given
from hypothesis import strategies as st


def builder_cookie_domain(host: str, resolver: EtldPlusOneResolver | None = None) -> str:
    """The Domain the builder sets ``_fbp`` on for a request to ``host``."""
    cookies = ParamBuilder(resolver).process_request(host, {}, {}, None)
    [fbp] = [cookie for cookie in cookies if cookie.name == "_fbp"]
    return str(fbp.domain)


class PublicSuffixResolver(EtldPlusOneResolver):
    """What a caller hands the builder to resolve eTLD+1 properly: ours, by the Public Suffix List."""

    def resolve(self, host_name: str) -> str:
        return hosts.cookie_domain(host_name) or host_name


@pytest.mark.parametrize(
    ("host", "parent"),
    [
        ("go.example.com", "example.com"),
        ("go.example.com.br", "example.com.br"),
        ("promo.loja-da-bia.com.br", "loja-da-bia.com.br"),
        ("example.com", "example.com"),
        ("go.demo.test", "demo.test"),
    ],
)
def test_the_cookie_domain_is_the_one_the_builder_sets(host: str, parent: str) -> None:
    assert hosts.cookie_domain(host) == parent
    assert builder_cookie_domain(host) == parent  # its own guess: one label off the host
    assert builder_cookie_domain(host, PublicSuffixResolver()) == parent


def test_deeper_hosts_get_the_registrable_domain_where_the_builders_guess_stops_short() -> None:
    assert hosts.cookie_domain("a.b.example.co.uk") == "example.co.uk"
    assert builder_cookie_domain("a.b.example.co.uk") == "b.example.co.uk"  # its fallback without a resolver
    assert builder_cookie_domain("a.b.example.co.uk", PublicSuffixResolver()) == "example.co.uk"


def test_a_private_suffix_keeps_the_sellers_own_name() -> None:
    assert hosts.cookie_domain("loja.github.io") == "loja.github.io"  # browsers refuse Domain=github.io


@pytest.mark.parametrize(
    ("raw", "host"),
    [(" Go.Example.COM. ", "go.example.com"), ("promoção.loja.com.br", "xn--promoo-7ta5a.loja.com.br")],
)
def test_hosts_are_stored_lowercase_as_ascii(raw: str, host: str) -> None:
    assert hosts.normalise(raw) == host
    assert host == ".".join(label.encode("idna").decode() for label in raw.strip(" .").lower().split("."))


@given(st.text(max_size=300))
def test_any_text_is_a_host_or_a_bad_host(raw: str) -> None:
    try:
        host = hosts.normalise(raw)
    except hosts.BadHost:
        return
    assert hosts.request_host(host) == host  # what is stored is what the redirect looks up
    assert hosts.cookie_domain(host) is not None


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("go.example.com", "go.example.com"),
        ("GO.Example.com:3000", "go.example.com"),
        ("go.example.com.", "go.example.com"),
        ("localhost:3000", None),
        ("127.0.0.1", None),
        ("[::1]:3000", None),
        ("a..b.com", None),
        ("go.exa mple.com", None),
        ("", None),
        (None, None),
    ],
)
def test_the_request_host(value: object, host: str | None) -> None:
    assert hosts.request_host(value) == host
