"""GET /go/{slug} through the real handler, against moto's DynamoDB provisioned from template.yaml."""

import re
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

import pytest
from capi_param_builder import ParamBuilder
from funil import clock, meta_cookies
from funil.click import privacy
from funil.click.fields import click_fields, click_item_from_fields
from funil.config import settings

from local.seed import DEMO_BOTS

RUN = "RedirectFunction"
INSTAGRAM = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Instagram 325.0.4.32.96 (iPhone14,5; iOS 17_4; pt_BR; pt; scale=3.00; 1170x2532; 581245013)"
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


def token_of(answer):
    found = re.search(r"start=([A-Za-z0-9_-]{22})", answer["body"] or answer["headers"].get("location", ""))
    return found.group(1)


def clicks(table):
    return [item for item in table.client.scan(TableName=table.name)["Items"] if item["pk"]["S"].startswith("CLICK#")]


def test_human_click_stores_every_captured_field_with_ttl(invoke, event, seed, table, aws_calls):
    before = datetime.now(UTC)
    answer = invoke(RUN, event("redirect_get.json"))
    after = datetime.now(UTC)
    cold_calls = list(aws_calls)

    assert answer["statusCode"] == 200
    headers = answer["headers"]
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    nonce = re.search(r"'nonce-([A-Za-z0-9_-]+)'", headers["content-security-policy"]).group(1)
    assert f'<script nonce="{nonce}">' in answer["body"]
    token = token_of(answer)
    stored = table.get(f"CLICK#{token}", "CLICK")
    item = click_fields(stored, visitor=True)

    clicked_at = clock.parse_iso(item["clicked_at"])
    assert before - timedelta(milliseconds=1) <= clicked_at <= after
    assert item["token"] == token
    assert item["tenant_id"] == seed.tenant_id and item["link_slug"] == "demo"
    assert item["bot_id"] in {bot["id"] for bot in seed.bots}
    bot_username = next(bot["username"] for bot in seed.bots if bot["id"] == item["bot_id"])
    assert bot_username in answer["body"]
    assert item["pixel_id"] == seed.pixel_id
    assert item["utm"] == {
        "utm_source": "facebook",
        "utm_medium": "paid",
        "utm_campaign": "black_friday",
        "utm_content": "video_1",
        "utm_term": "vip",
    }
    assert item["ad"] == {
        "campaign_id": "120210000000000001",
        "adset_id": "120210000000000002",
        "ad_id": "120210000000000003",
        "campaign_name": "BF VIP",
        "adset_name": "Lookalike 1%",
        "ad_name": "Video 1",
        "placement": "Instagram_Stories",
        "site_source_name": "ig",
    }
    fbclid = "IwZXh0bgNhZW0BMABhZGlkAasUJ4Q2d9YBHQ_aem_AbCdEf-123_xyZ"
    assert item["click_ids"] == {"fbclid": fbclid}
    assert item["fbc"] == f"fb.1.{item['clicked_at_ms']}.{fbclid}" and item["fbc_source"] == "fbclid"
    assert item["fbp"] == "fb.1.1732000000000.1234567890"  # the visitor's own cookie, kept
    assert item["ip"] == "2804:14c:65a1:8000:1234:5678:9abc:def0"
    assert item["ip_anon"] == "2804:14c:65a1::"
    assert item["ip_hmac"] == privacy.ip_hmac(item["ip"], settings().ip_hash_secret)
    assert item["user_agent"] == INSTAGRAM
    assert item["accept_language"] == "pt-BR,pt;q=0.9,en-US;q=0.8"
    assert item["referer"] == "https://l.instagram.com/"
    assert item["visitor"] == {"device": "mobile", "os": "ios", "browser": "webview", "in_app": "instagram"}
    window_end = clicked_at + timedelta(days=7)
    assert item["attribution_ends_at"] == clock.iso(window_end)
    assert item["expires_at"] == int((window_end + timedelta(days=2)).timestamp())
    # Stored compact (docs/data-model.md): short names, nothing derivable, one write unit.
    assert set(stored) == {
        "pk", "sk", "type", "tenant_id", "expires_at", "l", "b", "px", "t", "w", "ci", "u", "ad", "fbp", "ip", "ih",
        "ua", "al", "rf",
    }  # fmt: skip
    assert stored["t"] == item["clicked_at_ms"] and stored["w"] == 7
    assert click_item_from_fields(item) == stored
    # In-app browser: the button opens the app directly.
    assert f"tg://resolve?domain={bot_username}&amp;start={token}" in answer["body"]
    assert "eventID:c.eventId" in answer["body"] and f'"eventId":"pv_{token}"' in answer["body"]
    # The visitor had _fbp (kept, not set again) but no _fbc: the one built from the fbclid is set.
    assert set_cookies(answer) == {"_fbc": item["fbc"]}

    # Cold container: link + (bots, pixel) reads, then the one write. Warm: the write only, no SQS.
    assert cold_calls == [("dynamodb", "GetItem"), ("dynamodb", "BatchGetItem"), ("dynamodb", "PutItem")]
    aws_calls.clear()
    invoke(RUN, event("redirect_get.json"))
    assert aws_calls == [("dynamodb", "PutItem")]


def set_cookies(answer) -> dict[str, str]:
    """name → value of the response's Set-Cookie headers (API Gateway v2's ``cookies`` list)."""
    assert "set-cookie" not in {name.lower() for name in answer["headers"]}
    jar = {}
    for header in answer.get("cookies") or []:
        name, _, rest = header.partition("=")
        jar[name] = rest.split(";", 1)[0]
    return jar


def cookie_attributes(answer, name: str) -> dict[str, str]:
    header = next(header for header in answer["cookies"] if header.startswith(f"{name}="))
    parsed = SimpleCookie()
    parsed.load(header)
    morsel = parsed[name]
    return {key: str(value) for key, value in morsel.items() if value}


def oracle(event_: dict) -> ParamBuilder:
    """Meta's parameter builder given the same request (host, query, cookies)."""
    builder = ParamBuilder()
    cookies = dict(part.split("=", 1) for part in event_.get("cookies") or [])
    builder.process_request(event_["headers"]["host"], parse_qs(event_["rawQueryString"]), cookies)
    return builder


def test_first_visit_gets_fbp_and_fbc_cookies_as_metas_parameter_builder_sets_them(invoke, event, seed, table):
    request = event("redirect_get.json")
    request["cookies"] = []
    before_ms = int(datetime.now(UTC).timestamp() * 1000)
    answer = invoke(RUN, request)
    after_ms = int(datetime.now(UTC).timestamp() * 1000)
    builder = oracle(request)
    theirs = {cookie.name: cookie for cookie in builder.get_cookies_to_set()}
    ours = set_cookies(answer)

    assert set(ours) == set(theirs) == {"_fbp", "_fbc"}
    item = click_fields(table.get(f"CLICK#{token_of(answer)}", "CLICK"))
    # The stored click knows the fbp the browser's Pixel will adopt, and the fbc it will keep.
    assert item["fbp"] == ours["_fbp"] and item["fbc"] == ours["_fbc"]
    for name in ("_fbp", "_fbc"):
        mine, their = ours[name].split("."), theirs[name].value.split(".")
        assert mine[0] == their[0] == "fb"
        assert mine[1] == "1"  # as the Pixel writes on a registrable domain (the builder counts the host's dots)
        assert before_ms <= int(mine[2]) <= after_ms and abs(int(mine[2]) - int(their[2])) < 5000
        assert int(mine[2]) == item["clicked_at_ms"]  # minted and built at the click's time
        assert len(mine) == 4 and len(their) == 5  # no appendix: it names the builder's language and version
        attributes = cookie_attributes(answer, name)
        assert attributes == {"max-age": str(theirs[name].max_age), "path": "/", "samesite": "Lax", "secure": "True"}
        assert "domain" not in attributes  # host-only: the API's own host, whose page the Pixel runs on
    assert (
        ours["_fbc"].split(".")[3] == theirs["_fbc"].value.split(".")[3] == request["queryStringParameters"]["fbclid"]
    )
    payload = ours["_fbp"].split(".")[3]
    assert payload.isdigit() and 0 <= int(payload) <= 2**31 - 1  # the builder's randint(0, 2147483647)
    assert theirs["_fbp"].value.split(".")[3].isdigit()
    assert meta_cookies.valid_fbp(ours["_fbp"]) and meta_cookies.valid_fbc(ours["_fbc"])


def test_an_existing_fbp_and_the_same_clicks_fbc_are_kept_and_not_set_again(invoke, event, seed, table):
    request = event("redirect_get.json")
    fbclid = request["queryStringParameters"]["fbclid"]
    cookie_fbc = f"fb.1.1795000000000.{fbclid}"  # this click's fbclid, first seen earlier (a reload)
    request["cookies"] = ["_fbp=fb.1.1732000000000.1234567890", f"_fbc={cookie_fbc}"]
    answer = invoke(RUN, request)
    assert set_cookies(answer) == {}
    kept = {"_fbp": "fb.1.1732000000000.1234567890", "_fbc": cookie_fbc}
    for cookie in oracle(request).get_cookies_to_set():  # the builder re-sets them only to add its appendix
        assert cookie.value.rsplit(".", 1)[0] == kept[cookie.name]
    item = click_fields(table.get(f"CLICK#{token_of(answer)}", "CLICK"))
    assert item["fbp"] == "fb.1.1732000000000.1234567890"
    assert (item["fbc"], item["fbc_source"]) == (cookie_fbc, "cookie")


def test_an_older_clicks_fbc_is_replaced_and_a_malformed_fbp_reminted(invoke, event, seed, table):
    request = event("redirect_get.json")
    request["cookies"] = ["_fbp=fb.1.notanumber.x", "_fbc=fb.1.1700000000000.AnOlderClickId"]
    answer = invoke(RUN, request)
    ours = set_cookies(answer)
    item = click_fields(table.get(f"CLICK#{token_of(answer)}", "CLICK"))
    assert set(ours) == {"_fbp", "_fbc"}
    assert ours["_fbc"] == item["fbc"] == f"fb.1.{item['clicked_at_ms']}.{request['queryStringParameters']['fbclid']}"
    assert ours["_fbp"] == item["fbp"] != "fb.1.notanumber.x"
    assert oracle(request).get_fbc().split(".")[3] == ours["_fbc"].split(".")[3]  # the builder replaces it too


def test_cloudfront_geo_and_trusted_forwarded_for(invoke, event, seed, table, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")
    request = event("redirect_get.json")
    request["requestContext"]["http"]["sourceIp"] = "130.176.1.10"  # a CloudFront edge
    request["headers"].update(
        {
            "x-forwarded-for": "6.6.6.6, 189.40.1.77",
            "cloudfront-viewer-country": "BR",
            "cloudfront-viewer-country-region": "SP",
            "cloudfront-viewer-city": "São Paulo",
            "cloudfront-viewer-postal-code": "01310-100",
            "cloudfront-viewer-time-zone": "America/Sao_Paulo",
        }
    )
    token = token_of(invoke(RUN, request))
    item = click_fields(table.get(f"CLICK#{token}", "CLICK"))
    assert item["ip"] == "189.40.1.77" and item["ip_anon"] == "189.40.1.0"
    assert item["geo"] == {
        "country": "BR",
        "region": "SP",
        "city": "São Paulo",
        "postal_code": "01310-100",
        "time_zone": "America/Sao_Paulo",
    }


def test_forwarded_for_is_ignored_unless_trusted(invoke, event, seed, table):
    request = event("redirect_get.json")
    request["headers"]["x-forwarded-for"] = "6.6.6.6"
    request["requestContext"]["http"]["sourceIp"] = "189.40.1.77"
    item = click_fields(table.get(f"CLICK#{token_of(invoke(RUN, request))}", "CLICK"))
    assert item["ip"] == "189.40.1.77"


@pytest.mark.parametrize(
    "bot_ua",
    [
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "TelegramBot (like TwitterBot)",
        "WhatsApp/2.23.20.0",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ],
)
def test_bots_get_the_same_page_and_are_not_stored(invoke, event, seed, table, bot_ua, aws_calls):
    human = event("redirect_get.json")
    human["headers"]["user-agent"] = CHROME
    human_answer = invoke(RUN, human)
    bot = event("redirect_get.json")
    bot["headers"]["user-agent"] = bot_ua
    aws_calls.clear()
    bot_answer = invoke(RUN, bot)

    assert bot_answer["statusCode"] == human_answer["statusCode"] == 200
    human_page = re.sub(r"nonce=\"[^\"]+\"", "", human_answer["body"]).replace(token_of(human_answer), "T")
    bot_page = re.sub(r"nonce=\"[^\"]+\"", "", bot_answer["body"]).replace(token_of(bot_answer), "T")
    for username in (name for _, name, _ in DEMO_BOTS):
        bot_page = bot_page.replace(username, "BOT")
        human_page = human_page.replace(username, "BOT")
    assert bot_page == human_page  # no cloaking: the very same content
    assert aws_calls == []  # nothing stored, nothing counted
    assert "cookies" not in bot_answer  # no click of theirs for a Pixel to match: no cookies either
    assert len(clicks(table)) == 1


@pytest.mark.parametrize("slug", ["nope", "../etc", "Demo%00", "a" * 80, ""])
def test_unknown_or_invalid_slug_is_a_portuguese_404_and_nothing_is_stored(invoke, event, seed, table, slug):
    request = event("redirect_get.json")
    request["pathParameters"] = {"slug": slug}
    answer = invoke(RUN, request)
    assert answer["statusCode"] == 404
    assert "Link não encontrado" in answer["body"]
    assert clicks(table) == []


def test_disabled_link_is_404(invoke, event, seed, table):
    link = table.get("LINK#demo", "LINK")
    table.put({**link, "enabled": False})
    assert invoke(RUN, event("redirect_get.json"))["statusCode"] == 404
    assert clicks(table) == []


def set_bot(table, bot_id, **changes):
    table.put({**table.get(f"BOT#{bot_id}", "BOT"), **changes})


def test_no_healthy_bot_is_503_and_nothing_is_stored(invoke, event, seed, table):
    set_bot(table, "bot_demo_a", health={"status": "token_invalid", "reason": "401 from getMe"})
    set_bot(table, "bot_demo_b", enabled=False)
    answer = invoke(RUN, event("redirect_get.json"))
    assert answer["statusCode"] == 503
    assert "Tente novamente" in answer["body"] and answer["headers"]["retry-after"]
    assert clicks(table) == []


def test_unhealthy_and_foreign_bots_are_skipped(invoke, event, seed, table):
    set_bot(table, "bot_demo_a", health={"status": "unhealthy"})
    # A bot id of another tenant slipped into the link: never used (tenant isolation).
    table.put(
        {
            "pk": "BOT#bot_other",
            "sk": "BOT",
            "type": "bot",
            "bot_id": "bot_other",
            "tenant_id": "t_other",
            "username": "OtherTenantBot",
            "enabled": True,
        }
    )
    link = table.get("LINK#demo", "LINK")
    table.put({**link, "bots": [*link["bots"], {"bot_id": "bot_other", "weight": 1000}]})
    for _ in range(20):
        answer = invoke(RUN, event("redirect_get.json"))
        assert "FunilDemoBBot" in answer["body"]
        assert "OtherTenantBot" not in answer["body"]


def test_link_without_pixel_redirects_straight_to_telegram(invoke, event, seed, table):
    link = table.get("LINK#demo", "LINK")
    del link["pixel_id"]
    table.put(link)
    answer = invoke(RUN, event("redirect_get.json"))
    assert answer["statusCode"] == 302
    location = answer["headers"]["location"]
    assert re.fullmatch(r"https://t\.me/FunilDemo[AB]Bot\?start=[A-Za-z0-9_-]{22}", location)
    stored = table.get(f"CLICK#{token_of(answer)}", "CLICK")
    assert stored is not None and "px" not in stored  # no pixel: the stream sends no PageView for it
    assert set_cookies(answer) == {"_fbc": click_fields(stored)["fbc"]}  # the visitor keeps the same ids


def test_per_link_attribution_window(invoke, event, seed, table):
    table.put({**table.get("LINK#demo", "LINK"), "attribution_window_days": 3})
    item = click_fields(table.get(f"CLICK#{token_of(invoke(RUN, event('redirect_get.json')))}", "CLICK"))
    clicked_at = clock.parse_iso(item["clicked_at"])
    assert clock.parse_iso(item["attribution_ends_at"]) == clicked_at + timedelta(days=3)


def test_malformed_and_oversized_values_are_dropped_or_truncated(invoke, event, seed, table):
    request = event("redirect_get.json")
    request["rawQueryString"] = (
        "utm_source=" + "x" * 5000
        + "&utm_campaign=%00%01bad%7Fvalue&utm_BAD-NAME!=1&ad_id=%7B%7Bad.id%7D%7D"
        + "&fbclid=has%20spaces%3Cscript%3E&utm_medium=%E9%FF%FE&" + "&".join(f"utm_k{i}=v" for i in range(40))
    )  # fmt: skip
    request["cookies"] = ["_fbp=not-a-cookie", "_fbc=fb.1.x.y", "=", "broken"]
    request["headers"]["user-agent"] = "Mozilla/5.0 (iPhone) Instagram " + "A" * 10_000
    request["headers"]["referer"] = "https://x/" + "r" * 10_000
    request["requestContext"]["http"]["sourceIp"] = "not-an-ip"
    answer = invoke(RUN, request)
    assert answer["statusCode"] == 200
    item = click_fields(table.get(f"CLICK#{token_of(answer)}", "CLICK"))
    assert len(item["utm"]["utm_source"]) == 256
    assert item["utm"]["utm_campaign"] == "badvalue"
    assert len(item["utm"]) <= 16
    assert "ad" not in item  # the unfilled {{ad.id}} macro is dropped
    assert "fbc" not in item  # a bad fbclid builds nothing, a bad _fbc cookie is dropped
    assert item["fbp"] != "not-a-cookie" and set_cookies(answer) == {"_fbp": item["fbp"]}  # reminted
    assert "ip" not in item and "ip_hmac" not in item
    assert len(item["user_agent"]) == 512 and len(item["referer"]) == 512


def test_storage_failure_still_sends_the_visitor_to_telegram(invoke, event, seed, table, monkeypatch, caplog):
    invoke(RUN, event("redirect_get.json"))  # warm the link cache
    from funil.click.storage import Clicks

    def broken(self, item):
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(Clicks, "add", broken)
    answer = invoke(RUN, event("redirect_get.json"))
    assert answer["statusCode"] == 200 and "t.me/FunilDemo" in answer["body"]
    assert "click not stored" in caplog.text
    assert "Traceback" not in answer["body"]


def test_unexpected_error_is_a_500_without_stack_trace(invoke, event, seed, monkeypatch):
    from funil.click import entry as tracking

    def explode(*args, **kwargs):
        raise KeyError("secret internals")

    monkeypatch.setattr(tracking.useragent, "classify", explode)
    answer = invoke(RUN, event("redirect_get.json"))
    assert answer["statusCode"] == 500
    assert "secret internals" not in answer["body"] and "Traceback" not in answer["body"]
