import re
import time
from urllib.parse import parse_qs

import pytest
from capi_param_builder import ParamBuilder
from funil import ids, meta_cookies


def test_click_token_is_22_chars_of_telegram_start_alphabet():
    tokens = {ids.new_click_token() for _ in range(5000)}
    assert len(tokens) == 5000
    for token in tokens:
        assert len(token) == 22
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", token)  # Telegram's start parameter rule
        assert ids.is_click_token(token)


@pytest.mark.parametrize("value", [None, 12, "", "short", "A" * 23, "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAA/A"])
def test_is_click_token_rejects(value):
    assert not ids.is_click_token(value)


FBCLID = "IwZXh0bgNhZW0BMABhZGlkAasUJ4Q2d9YBHQ_aem_AbCdEf-123_xyZ"


def oracle_fbc(query: str, cookies: dict[str, str]) -> str | None:
    """Meta's own parameter builder, given the same request."""
    builder = ParamBuilder(["example.com"])
    builder.process_request("example.com", parse_qs(query), cookies)
    return builder.get_fbc()


def test_fbc_built_from_fbclid_matches_metas_parameter_builder():
    now_ms = int(time.time() * 1000)
    ours, source = meta_cookies.choose_fbc(None, FBCLID, now_ms)
    theirs = oracle_fbc(f"fbclid={FBCLID}", {})
    assert source == "fbclid"
    assert ours == f"fb.1.{now_ms}.{FBCLID}"
    # Same version, subdomain index and payload; the builder only adds its appendix.
    ours_parts, their_parts = ours.split("."), theirs.split(".")
    assert ours_parts[0:2] == their_parts[0:2]
    assert ours_parts[3] == their_parts[3]
    assert abs(int(ours_parts[2]) - int(their_parts[2])) < 5000
    assert meta_cookies.valid_fbc(theirs)  # we accept the builder's appendix format too


def test_cookie_with_same_fbclid_is_kept_with_its_earlier_time():
    cookie = f"fb.1.1700000000000.{FBCLID}"
    assert meta_cookies.choose_fbc(cookie, FBCLID, 1800000000000) == (cookie, "cookie")
    assert oracle_fbc(f"fbclid={FBCLID}", {"_fbc": cookie}).startswith(cookie)


def test_new_fbclid_replaces_an_older_clicks_cookie():
    cookie = "fb.1.1700000000000.OlderClickId"
    fbc, source = meta_cookies.choose_fbc(cookie, FBCLID, 1800000000000)
    assert (fbc, source) == (f"fb.1.1800000000000.{FBCLID}", "fbclid")
    assert oracle_fbc(f"fbclid={FBCLID}", {"_fbc": cookie}).split(".")[3] == FBCLID


def test_cookie_alone_and_nothing():
    cookie = "fb.2.1700000000000.AbC"
    assert meta_cookies.choose_fbc(cookie, None, 1) == (cookie, "cookie")
    assert meta_cookies.choose_fbc("garbage", None, 1) == (None, None)
    assert meta_cookies.choose_fbc(None, "bad fbclid <script>", 1) == (None, None)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("fb.1.1732000000000.1234567890", True),
        ("fb.0.1732000000000.1234567890", True),
        ("fb.1.1732000000000.1234567890.Bg", True),  # parameter builder's legacy appendix
        ("fb.1.1732000000000.1234567890.AQAAAAAA", True),
        ("fb.3.1732000000000.1234567890", False),
        ("fb.1.abc.1234567890", False),
        ("fb.1.1732000000000.12345abc", False),
        ("fb.1.1732000000000.1234567890<script>", False),
        ("", False),
        (None, False),
    ],
)
def test_fbp_format(value, ok):
    assert bool(meta_cookies.valid_fbp(value)) is ok


def test_fbp_generated_by_metas_parameter_builder_is_accepted():
    builder = ParamBuilder(["example.com"])
    builder.process_request("example.com", {}, {})
    assert meta_cookies.valid_fbp(builder.get_fbp())
