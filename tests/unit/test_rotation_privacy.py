import base64
import hashlib
import hmac
import random
from collections import Counter

import pytest
from funil.click import privacy
from funil.click.links import BotTarget
from funil.click.rotation import choose_weighted


def test_weighted_choice_follows_weights():
    bots = [BotTarget("a", "BotA", 3), BotTarget("b", "BotB", 1), BotTarget("z", "BotZero", 0)]
    rng = random.Random(20261122)
    counts = Counter(choose_weighted(bots, rng.random).bot_id for _ in range(40_000))
    assert "z" not in counts
    share_a = counts["a"] / 40_000
    # 3:1 → 0.75; 40k draws give a standard error of ~0.002.
    assert 0.74 < share_a < 0.76


def test_weighted_choice_edges():
    only = BotTarget("a", "BotA", 5)
    assert choose_weighted([only], lambda: 0.999999) is only
    assert choose_weighted([], random.random) is None
    assert choose_weighted([BotTarget("a", "BotA", 0)], random.random) is None


@pytest.mark.parametrize(
    ("source", "forwarded", "hops", "expected"),
    [
        ("203.0.113.7", None, 0, "203.0.113.7"),
        ("203.0.113.7", "1.2.3.4", 0, "203.0.113.7"),  # forwarded header ignored unless trusted
        ("10.0.0.1", "1.2.3.4, 198.51.100.9", 1, "198.51.100.9"),  # CloudFront appended the viewer
        ("10.0.0.1", "spoofed, 198.51.100.9, 10.0.0.2", 2, "198.51.100.9"),
        ("10.0.0.1", "garbage", 1, "10.0.0.1"),
        ("2804:14c:65a1:8000::1", None, 0, "2804:14c:65a1:8000::1"),
        ("[2804:14c::1]:443", None, 0, "2804:14c::1"),
        ("not-an-ip", None, 0, None),
    ],
)
def test_client_ip(source, forwarded, hops, expected):
    assert privacy.client_ip(source, forwarded, hops) == expected


def test_anonymised_ip_and_hmac():
    assert privacy.anonymised_ip("203.0.113.77") == "203.0.113.0"
    assert privacy.anonymised_ip("2804:14c:65a1:8000:1234::1") == "2804:14c:65a1::"
    first = privacy.ip_hmac("203.0.113.77", b"k" * 32)
    assert first == privacy.ip_hmac("203.0.113.77", b"k" * 32)
    assert first != privacy.ip_hmac("203.0.113.77", b"j" * 32)
    assert len(first) == 22 and "203" not in first
    # HMAC-SHA256's first 128 bits in base64url, checked against an independent computation.
    digest = hmac.new(b"k" * 32, b"203.0.113.77", hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(first + "==") == digest[:16]
