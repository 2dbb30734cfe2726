"""The IP database: what is known of a visitor's network (country, region, AS number and name, hosting).

Only the analytics consumer loads it (``funil.wiring.analytics_stream``), never the click path: the
redirect stores the IP and its /24 (/48), and countries, regions and hosting networks are worked out
after the fact, from the table's stream (docs/traffic-quality.md).

The data is DB-IP's IP to City Lite (country, region) and ip-location-db's ``asn`` (RouteViews, the
RIRs and DB-IP's IP to ASN Lite), all CC BY 4.0, compiled by ``layers/ipdb/build.py`` into one file
that ``scripts/fetch-ipdb.sh`` fetches and builds (pinned versions, SHA-256 checked) and the
``IpDbLayer`` puts at ``/opt/ipdb`` in Lambda.

The file (``ipdb.bin``, little-endian): ``MAGIC``, a uint32 header length, a JSON header (``format``,
``sources``, ``places``: [country, region] by index, index 0 unused, and ``sections``: [name,
typecode, byte offset, count]), then the sections, each at an 8-byte boundary:

- ``geo4.keys`` uint32 / ``geo4.vals`` uint16: IPv4 range starts, and the index of the place each range
  has (0: unknown) up to the next start; ``geo6.*`` the same with uint64 /64 numbers (IPv6 >> 64);
- ``asn4.keys`` uint32 / ``asn4.vals`` uint32, ``asn6.*``: ranges of AS numbers (0: unknown);
- ``org.asns`` uint32 (sorted), ``org.ends`` uint32, ``org.text``: the AS names, UTF-8, end to end.

It is mapped, not read: opening costs a header parse, and a lookup touches a few pages (two bisects).
Nothing here raises on a bad address or a missing or damaged file: the answer is None, and a missing
or damaged file is logged once (counting goes on without networks rather than stopping).
"""

from __future__ import annotations

import contextlib
import json
import logging
import mmap
import os
import re
import socket
import struct
import sys
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["HOSTING_ASNS", "IpDatabase", "NetworkInfo", "is_hosting", "open_default"]

log = logging.getLogger(__name__)

MAGIC = b"FUNILIPDB\n"
FORMAT = 1
FILE_NAME = "ipdb.bin"
ENV_DIR = "IPDB_DIR"
LAMBDA_DIR = Path("/opt/ipdb")  # the IpDbLayer's content in Lambda
# layers/ipdb/data beside layers/common/funil/adapters/ in a checkout
REPO_DIR = Path(__file__).resolve().parent.parent.parent.parent / "ipdb" / "data"
MAX_REGION = 64
_MAX_INPUT = 64  # longer than any address or network in text: not one
_V6_SHIFT = 64
_SECTIONS = {
    "geo4.keys": "I", "geo4.vals": "H", "geo6.keys": "Q", "geo6.vals": "H",
    "asn4.keys": "I", "asn4.vals": "I", "asn6.keys": "Q", "asn6.vals": "I",
    "org.asns": "I", "org.ends": "I", "org.text": "B",
}  # fmt: skip
# Sections read side by side: one entry of each per range (per AS name).
_PAIRS = (
    ("geo4.keys", "geo4.vals"), ("geo6.keys", "geo6.vals"), ("asn4.keys", "asn4.vals"),
    ("asn6.keys", "asn6.vals"), ("org.asns", "org.ends"),
)  # fmt: skip

# Networks of hosting and cloud providers: a visit from one is a server's, a VPN's or a proxy's,
# not a person's own connection. Each is the provider's own AS (as PeeringDB and the provider's
# documentation list it); the value starts with the name its operator registered, which
# tests/unit/adapters/test_ipdb_data.py finds in the built database's AS names. Left out on purpose:
# Cloudflare (13335), Akamai's 36183 and Fastly (54113), which carry iCloud Private Relay and WARP
# (people browsing), and Google Fiber (16591), a home ISP.
HOSTING_ASNS: dict[int, str] = {
    16509: "Amazon (AWS)", 14618: "Amazon (AWS)", 8987: "Amazon (AWS Ireland)", 38895: "Amazon (AWS)",
    7224: "Amazon (AWS)", 62785: "Amazon (AWS)",
    15169: "Google", 396982: "Google (Cloud)", 19527: "Google", 36492: "Google", 36384: "Google",
    139070: "Google (Asia Pacific)",
    8075: "Microsoft (Azure)", 8068: "Microsoft", 8069: "Microsoft", 8070: "Microsoft", 12076: "Microsoft",
    # Meta's and TikTok's own networks: their crawlers and ad review load landing pages, some with
    # browsers' User-Agents; people's in-app browsers come from their own ISP.
    32934: "Facebook (Meta)", 63293: "Facebook (Meta)", 54115: "Facebook (Meta)",
    396986: "Bytedance", 138699: "TikTok",
    31898: "Oracle (Cloud)",
    45102: "Alibaba (Cloud)", 37963: "Alibaba (Cloud, Hangzhou)", 134963: "Alibaba (Cloud, Singapore)",
    132203: "Tencent (Cloud)", 45090: "Tencent (Cloud)", 133478: "Tencent (Cloud, Beijing)",
    136907: "Huawei (Cloud)", 55990: "Huawei (Cloud)",
    36351: "IBM Cloud (SoftLayer)",
    14061: "DigitalOcean", 63949: "Akamai (Linode)", 20473: "Constant Company (Vultr, Choopa)",
    16276: "OVH", 24940: "Hetzner", 213230: "Hetzner (Cloud)", 212317: "Hetzner (Cloud)",
    51167: "Contabo", 141995: "Contabo", 40021: "Contabo",
    60781: "Leaseweb", 28753: "Leaseweb", 16265: "Leaseweb", 30633: "Leaseweb", 7203: "Leaseweb",
    59253: "Leaseweb", 395954: "Leaseweb",
    9009: "M247", 12876: "Scaleway", 47583: "Hostinger", 60068: "Datacamp (CDN77)", 212238: "Datacamp (CDN77)",
    40676: "Psychz", 54290: "HostPapa", 36352: "HostPapa (ColoCrossing)", 26496: "GoDaddy", 398101: "GoDaddy",
    19994: "Rackspace", 27357: "Rackspace", 33070: "Rackspace", 54825: "Packet (Equinix Metal)",
    8100: "QuadraNet", 7979: "Servers.com", 21859: "Zenlayer", 49505: "Selectel", 9123: "Timeweb",
    210644: "Aeza", 62240: "Clouvider", 197540: "netcup", 8560: "IONOS", 22612: "Namecheap",
    46606: "Unified Layer", 32244: "Liquid Web", 29802: "Hivelocity", 61317: "Hivelocity",
    396356: "Latitude.sh (Maxihost)", 262287: "Maxihost", 27715: "Locaweb", 202053: "UpCloud",
    53667: "FranTech (BuyVM)", 20454: "Secured Servers", 23470: "ReliableSite", 63023: "GTHost",
    35916: "Multacom", 25820: "IT7 Networks", 3214: "xTom", 398324: "Censys (internet scanner)",
}  # fmt: skip
# A name that says hosting, for the many small providers no list keeps up with; one that also says
# it is an access provider (Brazil has ISPs called "Server Fast Telecom") is given the benefit of the doubt.
_HOSTING_NAME = re.compile(r"\b(?:hosting|data ?cent(?:er|re)s?|colocation|dedicated servers?)\b", re.IGNORECASE)
_ACCESS_NAME = re.compile(
    r"telecom|fibra|fiber|broadband|provedor|comunica|wireless|cable|mobile|\bisp\b", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    """What the database knows of an address's network.

    Attributes:
        asn: the AS number announcing it, or None.
        org: the AS's name, or None.
        country: ISO 3166-1 alpha-2 (``BR``), or None.
        region: the first-level subdivision: a UF code in Brazil (``SP``), DB-IP's English name elsewhere.
        datacenter: the AS is a hosting or cloud provider's (``HOSTING_ASNS``, or its name says so).
    """

    asn: int | None
    org: str | None
    country: str | None
    region: str | None
    datacenter: bool


@lru_cache(maxsize=4096)
def is_hosting(asn: int | None, org: str | None = None) -> bool:
    """Whether an AS is a hosting or cloud provider's: listed, or named as one (and not as an ISP)."""
    if asn is not None and asn in HOSTING_ASNS:
        return True
    return bool(org) and bool(_HOSTING_NAME.search(org or "")) and not _ACCESS_NAME.search(org or "")


def _address(text: str) -> tuple[int, int] | None:
    """(IP version, number) of an address, or of a network's first address (``203.0.113.0/24``,
    ``2001:db8:1::/48``); IPv4-mapped IPv6 as IPv4. inet_pton: a tenth of ``ipaddress``' cost."""
    candidate = text.strip()
    if not candidate or len(candidate) > _MAX_INPUT:
        return None
    address, slash, prefix = candidate.partition("/")
    version, bits = (6, 128) if ":" in address else (4, 32)
    try:
        number = int.from_bytes(socket.inet_pton(socket.AF_INET6 if version == 6 else socket.AF_INET, address))
    except (OSError, ValueError):  # not an address (ValueError: a NUL in it)
        return None
    if slash:
        if not (prefix.isascii() and prefix.isdigit() and len(prefix) <= 3 and int(prefix) <= bits):
            return None
        number &= ~((1 << (bits - int(prefix))) - 1)
    if version == 6 and number >> 32 == 0xFFFF:
        return 4, number & 0xFFFFFFFF
    return version, number


def _at(keys: Sequence[int], values: Sequence[int], number: int) -> int:
    position = bisect_right(keys, number) - 1
    return values[position] if position >= 0 else 0


@dataclass(frozen=True)
class _Tables:
    mapped: mmap.mmap
    sections: dict[str, memoryview]
    places: list[tuple[str | None, str | None]]
    sources: dict[str, str]


class _Unreadable(Exception):
    """The file is not a database this module reads."""


def _load(path: Path) -> _Tables:
    with path.open("rb") as file:
        try:
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as error:  # an empty file cannot be mapped
            raise _Unreadable(str(error)) from None
    try:
        return _tables(mapped)
    except (_Unreadable, ValueError, KeyError, TypeError, IndexError, AttributeError, struct.error) as error:
        reason = str(error) or type(error).__name__
    # Out of the except block, the views made before the failure are gone: the map can close.
    with contextlib.suppress(BufferError):
        mapped.close()
    raise _Unreadable(reason)


def _tables(mapped: mmap.mmap) -> _Tables:
    if sys.byteorder != "little":
        raise _Unreadable("a little-endian file on a big-endian machine")
    if mapped[: len(MAGIC)] != MAGIC:
        raise _Unreadable("not an IP database file")
    (size,) = struct.unpack_from("<I", mapped, len(MAGIC))
    start = len(MAGIC) + 4
    header = json.loads(mapped[start : start + size])
    if header.get("format") != FORMAT:
        raise _Unreadable(f"format {header.get('format')!r}, this code reads {FORMAT}")
    whole = memoryview(mapped)
    sections: dict[str, memoryview] = {}
    for name, typecode, offset, count in header["sections"]:
        if _SECTIONS.get(name) != typecode:
            raise _Unreadable(f"section {name!r} of type {typecode!r}")
        view = whole[offset : offset + count * struct.calcsize(typecode)]
        if len(view) != count * struct.calcsize(typecode):
            raise _Unreadable(f"section {name!r} is cut short")
        sections[name] = view.cast(typecode)
    if set(sections) != set(_SECTIONS):
        raise _Unreadable("sections missing")
    for first, second in _PAIRS:
        if len(sections[first]) != len(sections[second]):
            raise _Unreadable(f"{first} and {second} differ in length")
    places = [(None, None)] + [(country, region) for country, region in header["places"]]
    return _Tables(mapped, sections, places, dict(header.get("sources") or {}))


class IpDatabase:
    """The database at a path, loaded (mapped) at its first lookup.

    Args:
        path: the database file, or the folder holding ``ipdb.bin``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        given = Path(path)
        self.path = given / FILE_NAME if given.suffix != ".bin" else given
        self._tables: _Tables | None = None
        self._failed = False

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> IpDatabase:
        """The database at ``path`` (a file or its folder); nothing is read until the first lookup."""
        return cls(path)

    def _ready(self) -> _Tables | None:
        if self._tables is None and not self._failed:
            try:
                self._tables = _load(self.path)
            except FileNotFoundError:
                self._failed = True
                log.warning("no IP database at %s (scripts/fetch-ipdb.sh): networks unknown", self.path)
            except (OSError, _Unreadable) as error:
                self._failed = True
                log.error("the IP database at %s cannot be read (%s): networks unknown", self.path, error)
        return self._tables

    @property
    def available(self) -> bool:
        """Whether the database is there and readable (loads it)."""
        return self._ready() is not None

    @property
    def sources(self) -> dict[str, str]:
        """The packages it was built from (role → package@version); empty when unavailable."""
        tables = self._ready()
        return dict(tables.sources) if tables else {}

    def org(self, asn: int) -> str | None:
        """The name the database has for an AS."""
        tables = self._ready()
        if tables is None:
            return None
        asns, ends, text = tables.sections["org.asns"], tables.sections["org.ends"], tables.sections["org.text"]
        position = bisect_right(asns, asn) - 1
        if position < 0 or asns[position] != asn:
            return None
        begin = ends[position - 1] if position else 0
        return bytes(text[begin : ends[position]]).decode("utf-8", "replace") or None

    def lookup(self, ip: str | None) -> NetworkInfo | None:
        """What is known of an IPv4 or IPv6 address's network, or None (not an address, nothing known).

        Takes an address, an anonymised one (``funil.click.privacy.anonymised_ip``: the /24 or /48's
        first address) or a network in CIDR form. IPv6 is answered per /64.
        """
        address = _address(ip) if isinstance(ip, str) else None
        tables = self._ready() if address is not None else None
        if address is None or tables is None:
            return None
        s = tables.sections
        version, number = address
        if version == 4:
            place = _at(s["geo4.keys"], s["geo4.vals"], number)
            asn = _at(s["asn4.keys"], s["asn4.vals"], number)
        else:
            place = _at(s["geo6.keys"], s["geo6.vals"], number >> _V6_SHIFT)
            asn = _at(s["asn6.keys"], s["asn6.vals"], number >> _V6_SHIFT)
        if not place and not asn:
            return None
        country, region = tables.places[place] if place < len(tables.places) else (None, None)
        org = self.org(asn) if asn else None
        return NetworkInfo(
            asn=asn or None, org=org, country=country, region=region, datacenter=is_hosting(asn or None, org)
        )


def default_path() -> Path:
    """``$IPDB_DIR``, else the layer's ``/opt/ipdb`` in Lambda, else ``layers/ipdb/data`` in a checkout."""
    configured = os.environ.get(ENV_DIR)
    if configured:
        return Path(configured)
    return LAMBDA_DIR if LAMBDA_DIR.is_dir() else REPO_DIR


@lru_cache(maxsize=8)
def _shared(path: Path) -> IpDatabase:
    return IpDatabase(path)


def open_default() -> IpDatabase:
    """The deployment's database (see ``default_path``), one per process: loaded at its first lookup."""
    return _shared(default_path())
