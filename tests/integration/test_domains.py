"""Tracking domains of a tenant's own: ``/api/v1/domains`` through the real AdminApi handler on moto's
ACM and API Gateway v2, then clicks through the real redirect with the custom host as API Gateway
passes it (``requestContext.domainName`` and ``Host``), events/redirect_get.json otherwise."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from funil.click.fields import click_fields
from funil.clock import utc_now
from funil.operator.tenants import TenantCreate, create_tenant
from hypothesis import given
from hypothesis import strategies as st

from local import aws
from local.domains_local import validate_certificates
from tests.admin_api import Answer, caller, table_state
from tests.conftest import load_event, page_text
from tests.integration import test_hostile_input as hostile
from tests.integration.test_admin_links import LINK, OTHER, PHONE, TENANT, add_world
from tests.integration.test_hostile_input import HEADER_TEXT, Records, forget, route, snapshot, unchanged

BIA_HOST = "go.bia-loja.com.br"
BIA_SPARE = "promo.bia-loja.com.br"
OTHER_HOST = "go.outra.com"
SLUG = str(LINK["slug"])
QUERY = "utm_source=facebook&fbclid=IwAR0domainTest"

logs = hostile.logs  # the fixture: every log record of the test, checked with Records.check


@pytest.fixture
def api(invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Answer]:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://funil.example.com")
    return caller(invoke)


@pytest.fixture
def keys(table: Any) -> dict[str, str]:
    """Each tenant's API key, with their bots and pixels (the links' world) in the table."""
    add_world(table)
    return {
        tenant: create_tenant(table, TenantCreate(id=tenant, name=tenant), utc_now)[1].key for tenant in (TENANT, OTHER)
    }


def acm() -> Any:
    return boto3.client("acm", region_name=aws.REGION)


def gateway() -> Any:
    return boto3.client("apigatewayv2", region_name=aws.REGION)


def active(api: Callable[..., Answer], key: str, host: str) -> dict[str, Any]:
    """Add ``host`` and take it to active: the seller's DNS record (its stand-in), then a look."""
    added = api("POST", "/api/v1/domains", {"host": host}, key=key)
    assert added.status == 201, added.body
    assert validate_certificates(host)
    shown = api("GET", f"/api/v1/domains/{host}", key=key)
    assert shown.status == 200 and shown.body["status"] == "active", shown.body
    return dict(shown.body)


def visit(invoke: Callable[..., Any], host: str, slug: str = SLUG, query: str = QUERY) -> dict[str, Any]:
    """A phone following the ad to ``https://<host>/go/<slug>``, as API Gateway hands it to the redirect."""
    event = load_event("redirect_get.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/go/{slug}"
    event["pathParameters"] = {"slug": slug}
    event["rawQueryString"] = query
    event["queryStringParameters"] = dict(pair.split("=", 1) for pair in query.split("&")) if query else None
    event["cookies"] = []
    event["headers"]["user-agent"] = event["requestContext"]["http"]["userAgent"] = PHONE
    event["headers"]["host"] = event["requestContext"]["domainName"] = host
    event["requestContext"]["domainPrefix"] = host.split(".", 1)[0]
    answer: dict[str, Any] = invoke("RedirectFunction", event)
    return answer


def stored_clicks(table: Any) -> list[dict[str, Any]]:
    found = table.client.scan(TableName=table.name)["Items"]
    from funil.adapters.dynamo import deserialize

    return [click_fields(deserialize(item)) for item in found if item["sk"]["S"] == "CLICK"]


# -- the operator's API -----------------------------------------------------------------------------


def test_adding_a_domain_requests_its_certificate_and_shows_the_dns_records(
    api: Callable[..., Answer], keys: dict[str, str]
) -> None:
    added = api("POST", "/api/v1/domains", {"host": " Go.Bia-Loja.COM.br. "}, key=keys[TENANT])
    assert added.status == 201, added.body
    assert added.body["host"] == BIA_HOST
    assert added.body["status"] == "pending_dns"
    assert added.body["cookie_domain"] == "bia-loja.com.br"  # the registrable parent, by the PSL
    certificates = acm().list_certificates()["CertificateSummaryList"]
    assert [summary["DomainName"] for summary in certificates] == [BIA_HOST]
    validation = acm().describe_certificate(CertificateArn=certificates[0]["CertificateArn"])["Certificate"]
    record = validation["DomainValidationOptions"][0]["ResourceRecord"]
    assert added.body["dns_records"] == [
        {"purpose": "certificate validation", "type": "CNAME", "name": record["Name"], "value": record["Value"]}
    ]
    listed = api("GET", "/api/v1/domains", key=keys[TENANT])
    assert [item["host"] for item in listed.body["items"]] == [BIA_HOST]
    assert api("GET", "/api/v1/domains", key=keys[OTHER]).body["items"] == []


def test_an_international_name_is_stored_as_its_ascii_form(api: Callable[..., Answer], keys: dict[str, str]) -> None:
    added = api("POST", "/api/v1/domains", {"host": "promoção.lojinha.com.br"}, key=keys[TENANT])
    assert added.status == 201, added.body
    assert added.body["host"] == "promoção".encode("idna").decode() + ".lojinha.com.br"  # the stdlib's codec agrees
    assert api("GET", "/api/v1/domains/promoção.lojinha.com.br", key=keys[TENANT]).body["host"] == added.body["host"]


def test_a_domain_becomes_active_once_its_certificate_is_issued(
    api: Callable[..., Answer], keys: dict[str, str]
) -> None:
    api("POST", "/api/v1/domains", {"host": BIA_HOST}, key=keys[TENANT])
    still = api("GET", f"/api/v1/domains/{BIA_HOST}", key=keys[TENANT])
    assert still.body["status"] == "pending_dns"
    with pytest.raises(gateway().exceptions.NotFoundException):
        gateway().get_domain_name(DomainName=BIA_HOST)

    validate_certificates(BIA_HOST)  # the seller created the validation record
    shown = api("GET", f"/api/v1/domains/{BIA_HOST}", key=keys[TENANT])
    assert shown.body["status"] == "active"
    assert shown.body["activated_at"]
    domain = gateway().get_domain_name(DomainName=BIA_HOST)
    certificate_arn = acm().list_certificates()["CertificateSummaryList"][0]["CertificateArn"]
    assert domain["DomainNameConfigurations"][0]["CertificateArn"] == certificate_arn
    assert domain["DomainNameConfigurations"][0]["EndpointType"] == "REGIONAL"
    mappings = gateway().get_api_mappings(DomainName=BIA_HOST)["Items"]
    assert [(m["ApiId"], m["Stage"]) for m in mappings] == [(os.environ["HTTP_API_ID"], "$default")]
    again = api("GET", f"/api/v1/domains/{BIA_HOST}", key=keys[TENANT])
    assert again.body == shown.body  # nothing made twice
    assert len(gateway().get_api_mappings(DomainName=BIA_HOST)["Items"]) == 1


@pytest.mark.parametrize(
    "host",
    [
        "https://go.loja.com",
        "go.loja.com:443",
        "go.loja.com/go/demo",
        "*.loja.com",
        "com.br",
        "localhost",
        "203.0.113.7",
        "a..loja.com",
        "-go.loja.com",
        "go_loja.com",
        "abc123.execute-api.us-east-1.amazonaws.com",
        "x" * 64 + ".loja.com",
        "x" * 56 + ".loja.com",  # 65 characters: more than ACM takes
        "",
        "go loja.com",
    ],
)
def test_what_is_no_domain_of_ones_own_is_refused_and_nothing_is_written(
    api: Callable[..., Answer], keys: dict[str, str], aws_env: aws.Resources, host: str
) -> None:
    before = table_state(aws_env)
    refused = api("POST", "/api/v1/domains", {"host": host}, key=keys[TENANT])
    assert refused.status == 422, refused.body
    assert refused.error_fields == ["host"]
    assert table_state(aws_env) == before
    assert acm().list_certificates()["CertificateSummaryList"] == []


def test_a_host_is_one_tenants(api: Callable[..., Answer], keys: dict[str, str], aws_env: aws.Resources) -> None:
    active(api, keys[TENANT], BIA_HOST)
    before = table_state(aws_env)
    taken = api("POST", "/api/v1/domains", {"host": BIA_HOST}, key=keys[OTHER])
    assert taken.status == 409
    assert len(acm().list_certificates()["CertificateSummaryList"]) == 1
    for method, path in [
        ("GET", f"/api/v1/domains/{BIA_HOST}"),
        ("POST", f"/api/v1/domains/{BIA_HOST}/flag"),
        ("POST", f"/api/v1/domains/{BIA_HOST}/unflag"),
        ("DELETE", f"/api/v1/domains/{BIA_HOST}"),
    ]:
        assert api(method, path, key=keys[OTHER]).status == 404, (method, path)
    assert table_state(aws_env) == before
    gateway().get_domain_name(DomainName=BIA_HOST)  # still served


def test_flag_unflag_and_remove(api: Callable[..., Answer], keys: dict[str, str], aws_env: aws.Resources) -> None:
    key = keys[TENANT]
    api("POST", "/api/v1/domains", {"host": BIA_SPARE}, key=key)
    assert api("POST", f"/api/v1/domains/{BIA_SPARE}/flag", key=key).status == 409  # pending: nothing to flag
    active(api, key, BIA_HOST)

    flagged = api("POST", f"/api/v1/domains/{BIA_HOST}/flag", key=key)
    assert flagged.status == 200 and flagged.body["status"] == "flagged"
    assert flagged.body["flag_reason"] == "operator" and flagged.body["flagged_at"]
    assert api("POST", f"/api/v1/domains/{BIA_HOST}/flag", key=key).body == flagged.body  # once
    back = api("POST", f"/api/v1/domains/{BIA_HOST}/unflag", key=key)
    assert back.body["status"] == "active" and "flagged_at" not in back.body

    removed = api("DELETE", f"/api/v1/domains/{BIA_HOST}", key=key)
    assert removed.status == 200, removed.body
    assert removed.body["status"] == "removed" and removed.body["certificate_deleted"] is True
    with pytest.raises(gateway().exceptions.NotFoundException):
        gateway().get_domain_name(DomainName=BIA_HOST)
    assert [c["DomainName"] for c in acm().list_certificates()["CertificateSummaryList"]] == [BIA_SPARE]
    assert api("GET", f"/api/v1/domains/{BIA_HOST}", key=key).status == 404
    assert [item["host"] for item in api("GET", "/api/v1/domains", key=key).body["items"]] == [BIA_SPARE]


def test_without_the_apis_id_the_routes_say_the_deployment_cannot(
    invoke: Callable[..., Any], keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HTTP_API_ID")
    answer = caller(invoke)("POST", "/api/v1/domains", {"host": BIA_HOST}, key=keys[TENANT])
    assert answer.status == 503
    assert acm().list_certificates()["CertificateSummaryList"] == []


# -- the redirect on a tenant's domain --------------------------------------------------------------


def test_a_click_on_the_tenants_domain_sets_its_cookies_on_the_parent_and_keeps_the_host(
    api: Callable[..., Answer], keys: dict[str, str], invoke: Callable[..., Any], table: Any
) -> None:
    assert api("POST", "/api/v1/links", LINK, key=keys[TENANT]).status == 201
    active(api, keys[TENANT], BIA_HOST)

    answer = visit(invoke, BIA_HOST)
    assert answer["statusCode"] == 200
    assert "t.me/" in page_text(answer)
    cookies = {cookie.split("=", 1)[0]: cookie for cookie in answer["cookies"]}
    assert set(cookies) == {"_fbp", "_fbc"}
    for cookie in cookies.values():
        assert "; Domain=bia-loja.com.br;" in cookie
        assert cookie.endswith("; Path=/; Domain=bia-loja.com.br; SameSite=Lax; Secure")
    [click] = stored_clicks(table)
    assert click["host"] == BIA_HOST
    assert click["link_slug"] == SLUG

    ours = visit(invoke, "abc123.execute-api.us-east-1.amazonaws.com")  # the deployment's own host
    assert ours["statusCode"] == 200
    assert all("Domain=" not in cookie for cookie in ours["cookies"])
    assert sorted(click.get("host", "") for click in stored_clicks(table)) == ["", BIA_HOST]


def test_another_tenants_domain_does_not_serve_this_tenants_links(
    api: Callable[..., Answer], keys: dict[str, str], invoke: Callable[..., Any], table: Any
) -> None:
    assert api("POST", "/api/v1/links", LINK, key=keys[TENANT]).status == 201
    active(api, keys[OTHER], OTHER_HOST)

    foreign = visit(invoke, OTHER_HOST)
    unknown = visit(invoke, OTHER_HOST, slug="no-such-link")
    assert foreign["statusCode"] == unknown["statusCode"] == 404
    without_nonce = [re.sub(r'nonce="[^"]+"', "", page_text(answer)) for answer in (foreign, unknown)]
    assert without_nonce[0] == without_nonce[1]
    assert "cookies" not in foreign or not foreign["cookies"]
    assert stored_clicks(table) == []


def test_a_domain_not_yet_active_serves_nothing(
    api: Callable[..., Answer], keys: dict[str, str], invoke: Callable[..., Any], table: Any
) -> None:
    assert api("POST", "/api/v1/links", LINK, key=keys[TENANT]).status == 201
    api("POST", "/api/v1/domains", {"host": BIA_HOST}, key=keys[TENANT])
    assert visit(invoke, BIA_HOST)["statusCode"] == 404
    assert stored_clicks(table) == []


def test_a_flagged_domains_visitors_go_to_the_spare(
    api: Callable[..., Answer], keys: dict[str, str], invoke: Callable[..., Any], table: Any
) -> None:
    assert api("POST", "/api/v1/links", LINK, key=keys[TENANT]).status == 201
    active(api, keys[TENANT], BIA_HOST)
    active(api, keys[TENANT], BIA_SPARE)
    active(api, keys[OTHER], OTHER_HOST)  # another tenant's active domain is never a spare
    assert api("POST", f"/api/v1/domains/{BIA_HOST}/flag", key=keys[TENANT]).status == 200

    moved = visit(invoke, BIA_HOST)
    assert moved["statusCode"] == 302
    assert moved["headers"]["location"] == f"https://{BIA_SPARE}/go/{SLUG}?{QUERY}"
    assert stored_clicks(table) == []  # recorded where it lands, once

    landed = visit(invoke, BIA_SPARE)
    assert landed["statusCode"] == 200
    [click] = stored_clicks(table)
    assert click["host"] == BIA_SPARE


def test_a_flagged_domain_without_a_spare_still_serves(
    api: Callable[..., Answer], keys: dict[str, str], invoke: Callable[..., Any], table: Any
) -> None:
    assert api("POST", "/api/v1/links", LINK, key=keys[TENANT]).status == 201
    active(api, keys[TENANT], BIA_HOST)
    api("POST", f"/api/v1/domains/{BIA_HOST}/flag", key=keys[TENANT])
    assert visit(invoke, BIA_HOST)["statusCode"] == 200  # the visitor is here: served rather than lost
    assert [click["host"] for click in stored_clicks(table)] == [BIA_HOST]


HOSTS = st.one_of(
    HEADER_TEXT,
    st.sampled_from(
        [BIA_HOST, BIA_HOST.upper() + ":443", BIA_HOST + ".", OTHER_HOST, "[::1]:3000", "127.0.0.1", "a..b", "é.com"]
    ),
    st.from_regex(r"[a-z0-9.:-]{1,300}", fullmatch=True),
)


@route(1)
@given(host=HOSTS, context_host=st.none() | HOSTS)
def test_hostile_hosts_never_break_the_redirect(
    invoke: Callable[..., Any],
    api: Callable[..., Answer],
    keys: dict[str, str],
    aws_env: aws.Resources,
    logs: Records,
    host: str,
    context_host: str | None,
) -> None:
    if not api("GET", "/api/v1/domains", key=keys[TENANT]).body["items"]:  # once per test, not per example
        assert api("POST", "/api/v1/links", LINK, key=keys[TENANT]).status == 201
        active(api, keys[TENANT], BIA_HOST)
        active(api, keys[OTHER], OTHER_HOST)
    event = load_event("redirect_get.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/go/{SLUG}"
    event["pathParameters"] = {"slug": SLUG}
    event["headers"]["host"] = host
    if context_host is None:
        del event["requestContext"]["domainName"]
    else:
        event["requestContext"]["domainName"] = context_host
    before = snapshot(aws_env)
    answer = invoke("RedirectFunction", event)
    assert answer["statusCode"] in (200, 302, 404), answer["statusCode"]
    logs.check()
    after = snapshot(aws_env)
    if answer["statusCode"] != 200:
        unchanged(before, after)
    forget(aws_env, after - before, "CLICK")


def test_the_spare_follows_the_tenants_domains(
    api: Callable[..., Answer], keys: dict[str, str], invoke: Callable[..., Any], table: Any
) -> None:
    key = keys[TENANT]
    assert api("POST", "/api/v1/links", LINK, key=key).status == 201
    active(api, key, BIA_HOST)
    active(api, key, BIA_SPARE)
    assert api("POST", f"/api/v1/domains/{BIA_HOST}/flag", key=key).body["spare_host"] == BIA_SPARE
    api("POST", f"/api/v1/domains/{BIA_SPARE}/flag", key=key)  # no active domain left
    assert "spare_host" not in api("GET", f"/api/v1/domains/{BIA_HOST}", key=key).body
    third = "vip.bia-loja.com.br"
    active(api, key, third)
    for host in (BIA_HOST, BIA_SPARE):
        assert api("GET", f"/api/v1/domains/{host}", key=key).body["spare_host"] == third
    api("POST", f"/api/v1/domains/{BIA_SPARE}/unflag", key=key)  # served longer than the third
    assert api("GET", f"/api/v1/domains/{BIA_HOST}", key=key).body["spare_host"] == BIA_SPARE
    api("DELETE", f"/api/v1/domains/{BIA_SPARE}", key=key)
    assert api("GET", f"/api/v1/domains/{BIA_HOST}", key=key).body["spare_host"] == third

    moved = visit(invoke, BIA_HOST, query="")
    assert moved["statusCode"] == 302
    assert moved["headers"]["location"] == f"https://{third}/go/{SLUG}"
