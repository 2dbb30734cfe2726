"""The IP database as built from the pinned packages (scripts/fetch-ipdb.sh, which bootstrap runs)."""

from __future__ import annotations

import json
import struct

import pytest
from funil.adapters import ipdb
from funil.adapters.ipdb import HOSTING_ASNS, IpDatabase

from layers.ipdb import build

BUILT = ipdb.REPO_DIR / ipdb.FILE_NAME
pytestmark = pytest.mark.skipif(not BUILT.is_file(), reason="no IP database: run scripts/fetch-ipdb.sh")


@pytest.fixture(scope="module")
def db() -> IpDatabase:
    return IpDatabase.open(BUILT)


def test_it_is_built_from_the_pinned_sources(db: IpDatabase) -> None:
    assert db.available
    assert db.sources == build.pinned_sources()


@pytest.mark.parametrize("asn", sorted(HOSTING_ASNS))
def test_every_listed_hosting_network_is_the_provider_it_says(db: IpDatabase, asn: int) -> None:
    """A typo in the list would mark someone else's network (an ISP's, say) as a data centre."""
    registered = db.org(asn)
    assert registered is not None, f"AS{asn} is not in the database"
    provider = HOSTING_ASNS[asn].split(" (")[0]
    assert provider.casefold() in registered.casefold(), (asn, provider, registered)


def test_brazilian_regions_are_uf_codes() -> None:
    data = BUILT.read_bytes()
    (size,) = struct.unpack_from("<I", data, len(ipdb.MAGIC))
    places = json.loads(data[len(ipdb.MAGIC) + 4 : len(ipdb.MAGIC) + 4 + size])["places"]
    brazil = {region for country, region in places if country == "BR"}
    assert brazil <= set(build.BR_UF.values()) | {None}
    assert len(brazil - {None}) == 27  # 26 states and the Federal District


@pytest.mark.parametrize(
    ("address", "asn", "country", "datacenter"),
    [
        ("8.8.8.8", 15169, "US", True),
        ("52.94.236.248", 16509, "US", True),  # AWS us-east-1
        ("157.240.22.35", 32934, "US", True),  # Meta
        ("1.1.1.1", 13335, "AU", False),  # Cloudflare: WARP and Private Relay are people
        ("189.40.0.0", 26615, "BR", False),  # TIM, anonymised /24
        ("177.79.0.0", 26599, "BR", False),  # Vivo
        ("2804:14c::", 28573, "BR", False),  # Claro, anonymised /48
        ("2001:4860:4860::8888", 15169, None, True),
    ],
)
def test_known_networks(db: IpDatabase, address: str, asn: int, country: str | None, datacenter: bool) -> None:
    found = db.lookup(address)
    assert found is not None
    assert (found.asn, found.datacenter) == (asn, datacenter)
    if country:
        assert found.country == country
    if found.country == "BR":
        assert found.region in build.BR_UF.values()
