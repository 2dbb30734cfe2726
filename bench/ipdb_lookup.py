"""The IP database (funil.adapters.ipdb): its size, what opening it costs, and what a lookup costs.

Reads the database scripts/fetch-ipdb.sh built (layers/ipdb/data, or --path / $IPDB_DIR) and measures:

- size: the file, its sections, and gzip -6 of it (about what it adds to the layer's zip);
- load: a fresh interpreter (``python -B``) importing ``funil.adapters.ipdb`` and answering its
  first lookup (the mmap and the header), median of --runs, with the import alone beside it;
- lookup: warm, per call, for random public IPv4 and IPv6 addresses, their anonymised /24 and /48
  (what the analytics read), and the batch the analytics consumer judges (--batch lookups);
- memory: the process's RSS growth after --lookups lookups (the pages of the map that were touched).

Nothing here asserts on time. Usage: python bench/ipdb_lookup.py [--runs 15] [--lookups 200000] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import ipaddress
import json
import random
import resource
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "common"))

from funil.adapters import ipdb  # noqa: E402
from funil.click.privacy import anonymised_ip  # noqa: E402


def _public_v4(rng: random.Random) -> str:
    while True:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if address.is_global:
            return str(address)


def _public_v6(rng: random.Random) -> str:
    # 2000::/3 is where the unicast world is; most of it is allocated in 2001::/16 to 2c0f::/16.
    return str(ipaddress.IPv6Address((0x2001 + rng.randrange(0x0C0F)) << 112 | rng.getrandbits(112)))


def sizes(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    (size,) = struct.unpack_from("<I", data, len(ipdb.MAGIC))
    header = json.loads(data[len(ipdb.MAGIC) + 4 : len(ipdb.MAGIC) + 4 + size])
    sections = {
        name: {"count": count, "bytes": count * struct.calcsize(typecode)}
        for name, typecode, _, count in header["sections"]
    }
    return {
        "file_bytes": len(data),
        "gzip_bytes": len(gzip.compress(data, 6)),
        "places": len(header["places"]),
        "sources": header["sources"],
        "sections": sections,
    }


_CHILD = """
import sys, time
sys.path.insert(0, {common!r})
started = time.perf_counter()
from funil.adapters import ipdb
imported = time.perf_counter()
db = ipdb.IpDatabase.open({path!r})
found = db.lookup("189.40.0.1")
done = time.perf_counter()
assert db.available
print((imported - started) * 1000, (done - imported) * 1000)
"""


def load(path: Path, runs: int) -> dict[str, float]:
    imports, firsts = [], []
    code = _CHILD.format(common=str(ROOT / "layers" / "common"), path=str(path))
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-B", "-c", code], capture_output=True, text=True, check=True)
        imported_ms, first_ms = (float(x) for x in out.stdout.split())
        imports.append(imported_ms)
        firsts.append(first_ms)
    return {"import_ms": statistics.median(imports), "open_and_first_lookup_ms": statistics.median(firsts)}


def _per_call_us(db: ipdb.IpDatabase, values: list[str]) -> float:
    started = time.perf_counter()
    for value in values:
        db.lookup(value)
    return (time.perf_counter() - started) / len(values) * 1e6


def lookups(path: Path, count: int, batch: int) -> dict[str, Any]:
    rng = random.Random(7)
    v4 = [_public_v4(rng) for _ in range(count)]
    v6 = [_public_v6(rng) for _ in range(count)]
    v4_anon = [anonymised_ip(ip) for ip in v4]
    v6_anon = [anonymised_ip(ip) for ip in v6]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    db = ipdb.IpDatabase.open(path)
    db.lookup("8.8.8.8")
    found = sum(db.lookup(ip) is not None for ip in v4[:10000])
    result = {
        "ipv4_us": _per_call_us(db, v4),
        "ipv6_us": _per_call_us(db, v6),
        "ipv4_anonymised_us": _per_call_us(db, v4_anon),
        "ipv6_anonymised_us": _per_call_us(db, v6_anon),
        "ipv4_found_share": found / 10000,
    }
    started = time.perf_counter()
    for ip in v4[: batch // 2] + v6[: batch // 2]:
        db.lookup(ip)
    result[f"batch_of_{batch}_ms"] = (time.perf_counter() - started) * 1000
    result["rss_growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", type=Path, default=ipdb.default_path())
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    path = args.path / ipdb.FILE_NAME if args.path.is_dir() else args.path
    if not path.is_file():
        raise SystemExit(f"no database at {path}: run scripts/fetch-ipdb.sh")
    report = {"size": sizes(path), "load": load(path, args.runs), "lookup": lookups(path, args.lookups, args.batch)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    size = report["size"]
    print(f"database: {path} ({', '.join(size['sources'].values())})")
    print(
        f"  file {size['file_bytes'] / 1e6:.1f} MB, gzip -6 {size['gzip_bytes'] / 1e6:.1f} MB, {size['places']} places"
    )
    for name, section in size["sections"].items():
        print(f"  {name:<10} {section['count']:>10,} entries {section['bytes'] / 1e6:>7.1f} MB")
    loaded = report["load"]
    print(
        f"load (fresh interpreter, median of {args.runs}): import {loaded['import_ms']:.1f} ms, "
        f"open + first lookup {loaded['open_and_first_lookup_ms']:.1f} ms"
    )
    for name, value in report["lookup"].items():
        print(f"  {name:<22} {value:.3f}" if isinstance(value, float) else f"  {name:<22} {value}")


if __name__ == "__main__":
    main()
