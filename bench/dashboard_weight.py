"""The dashboard's page weight and load time: what a browser downloads for /app, and how soon it shows numbers.

Two parts:

1. The files of ``functions/dashboard/static/`` a first visit loads (``index.html`` and what it links),
   their size as stored and gzipped as DashboardFunction sends them (level 9, files of 1 KB or more;
   ``funil.dashboard.static``), and the total the rest of the folder adds (nothing loads it).
2. Debian's Chromium (Playwright) on the local stack, signed in (a one-time link spent over HTTP, the
   session cookie handed to the browser), opening the overview ``--runs`` times with an empty cache
   and once more with a warm one (``max-age=300``): bytes transferred (Resource Timing
   ``transferSize``: headers and gzip-encoded bodies), requests, the navigation's timings
   (``responseEnd``, ``domContentLoadedEventEnd``, ``loadEventEnd``) and when the view had its numbers
   (``#main`` leaving ``data-state=loading``, seen by a MutationObserver). Medians and the worst run.

``--world`` first drives the browser test's mix of clicks, leads and sales through the stack
(``tests/e2e/dashboard_world.py``, ~30 s) so the overview has numbers and charts to draw. A tool,
not a test: nothing is asserted; local timings are the local stack's (in-process Lambda, moto), not
AWS's, and a throttled network is not simulated.

Usage: python bench/dashboard_weight.py [--runs 5] [--world] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

STATIC = ROOT / "functions" / "dashboard" / "static"
CHROMIUM = Path("/usr/bin/chromium")
GZIP_MIN_BYTES = 1024  # funil.dashboard.static.GZIP_MIN_BYTES
LINKED = re.compile(r'(?:src|href)="/app/static/([^"]+)"')
SESSION_COOKIE = "__Host-funil_session"

# Runs before the page's scripts: the moment the view leaves its loading state.
READY_PROBE = """(() => {
  const seen = () => {
    const main = document.getElementById('main');
    if (main && main.dataset.state && main.dataset.state !== 'loading' && window.__readyAt === undefined)
      window.__readyAt = performance.now();
  };
  new MutationObserver(seen).observe(document, {subtree: true, childList: true, attributes: true,
    attributeFilter: ['data-state']});
})();"""

MEASURE = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  const all = [nav, ...resources];
  return {
    requests: all.length,
    transfer_bytes: all.reduce((sum, entry) => sum + (entry.transferSize || 0), 0),
    encoded_bytes: all.reduce((sum, entry) => sum + (entry.encodedBodySize || 0), 0),
    decoded_bytes: all.reduce((sum, entry) => sum + (entry.decodedBodySize || 0), 0),
    response_end_ms: nav.responseEnd,
    dom_content_loaded_ms: nav.domContentLoadedEventEnd,
    load_ms: nav.loadEventEnd,
    ready_ms: window.__readyAt ?? null,
    state: document.getElementById('main')?.dataset.state ?? null,
    files: resources.map((entry) =>
      [entry.name.replace(location.origin, ''), entry.transferSize, entry.encodedBodySize]),
  };
}"""


def gzipped_size(data: bytes) -> int:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return len(packer.compress(data) + packer.flush())


def static_weight() -> dict[str, Any]:
    """The first visit's files (index.html and what it links) as stored and as sent."""
    shell = (STATIC / "index.html").read_bytes()
    names = ["index.html", *LINKED.findall(shell.decode("utf-8"))]
    names += [name for name in ("i18n.js",) if name not in names]  # app.js imports it
    files = []
    for name in dict.fromkeys(names):
        data = (STATIC / name).read_bytes()
        sent = gzipped_size(data) if len(data) >= GZIP_MIN_BYTES and not name.endswith(".png") else len(data)
        files.append({"file": name, "bytes": len(data), "sent_bytes": sent})
    others = sum(path.stat().st_size for path in STATIC.iterdir() if path.is_file() and path.name not in names)
    return {
        "files": files,
        "bytes": sum(entry["bytes"] for entry in files),
        "sent_bytes": sum(entry["sent_bytes"] for entry in files),
        "unloaded_bytes": others,
    }


def session_cookie(client: httpx.Client, base_url: str) -> str:
    """A session for the demo tenant: a one-time link made with its key and spent as the form does."""
    key = client.get("/_local/seed").json()["api_key"]
    made = client.post("/api/v1/login-links", headers={"Authorization": f"Bearer {key}"})
    made.raise_for_status()
    token = parse_qs(urlparse(made.json()["url"]).query)["token"][0]
    signed_in = client.post("/app/login", data={"token": token}, headers={"Origin": base_url})
    if signed_in.status_code != 303:
        raise SystemExit(f"sign-in refused: {signed_in.status_code} {signed_in.text[:200]}")
    for header in signed_in.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name == SESSION_COOKIE:
            return rest.split(";", 1)[0]
    raise SystemExit("sign-in set no session cookie")


def browser_runs(base_url: str, cookie: str, runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    cold: list[dict[str, Any]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for _ in range(runs + 1):  # each in a new context: an empty cache
                context = browser.new_context(locale="pt-BR", service_workers="block")
                host = urlparse(base_url).hostname
                jar = {"name": SESSION_COOKIE, "value": cookie, "domain": host, "path": "/", "secure": True}
                context.add_cookies([{**jar, "httpOnly": True, "sameSite": "Strict"}])
                context.add_init_script(READY_PROBE)
                page = context.new_page()
                page.goto(base_url + "/app", wait_until="load")
                page.wait_for_function("() => window.__readyAt !== undefined", timeout=60_000)
                cold.append(page.evaluate(MEASURE))
                if len(cold) == runs + 1:  # the last context: once more, its cache warm
                    page.goto(base_url + "/app", wait_until="load")
                    page.wait_for_function("() => window.__readyAt !== undefined", timeout=60_000)
                    warm = page.evaluate(MEASURE)
                context.close()
        finally:
            browser.close()
    cold = cold[1:]  # the first run also warms the stack's handlers (imports): not a page's cost

    def summary(name: str) -> dict[str, float | None]:
        values = [run[name] for run in cold if run[name] is not None]
        return {"median": statistics.median(values), "max": max(values)} if values else {"median": None, "max": None}

    return {
        "runs": len(cold),
        "state": cold[-1]["state"],
        "requests": cold[-1]["requests"],
        "transfer_bytes": summary("transfer_bytes"),
        "encoded_bytes": cold[-1]["encoded_bytes"],
        "decoded_bytes": cold[-1]["decoded_bytes"],
        "response_end_ms": summary("response_end_ms"),
        "dom_content_loaded_ms": summary("dom_content_loaded_ms"),
        "load_ms": summary("load_ms"),
        "ready_ms": summary("ready_ms"),
        "files": cold[-1]["files"],
        "warm": {key: warm[key] for key in ("requests", "transfer_bytes", "load_ms", "ready_ms")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="cold loads measured (after one warm-up)")
    parser.add_argument("--world", action="store_true", help="drive the browser test's sales first")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    report: dict[str, Any] = {"static": static_weight()}
    if CHROMIUM.exists():
        from local.server import start_stack

        with start_stack(port=0) as stack, httpx.Client(base_url=stack.base_url, timeout=60) as client:
            if args.world:
                from tests.e2e.dashboard_world import make_world

                make_world(stack, client)
            report["browser"] = browser_runs(stack.base_url, session_cookie(client, stack.base_url), args.runs)
    else:
        report["browser"] = f"skipped: no Chromium at {CHROMIUM}"

    if args.json:
        print(json.dumps(report, indent=2))
        return
    static = report["static"]
    print("First visit's files (as stored → as sent, gzip -9 from 1 KB):")
    for entry in static["files"]:
        print(f"  {entry['file']:<22} {entry['bytes']:>8,} B → {entry['sent_bytes']:>7,} B")
    print(f"  {'total':<22} {static['bytes']:>8,} B → {static['sent_bytes']:>7,} B")
    print(f"  (not loaded: {static['unloaded_bytes']:,} B of notes and licences)")
    browser = report["browser"]
    if isinstance(browser, str):
        print(browser)
        return
    print(f"\nChromium, /app signed in, {browser['runs']} cold loads (view: {browser['state']}):")
    print(f"  resources (timing)    {browser['requests']}")
    moved = browser["transfer_bytes"]
    print(f"  transferred           median {moved['median']:,.0f} B, max {moved['max']:,.0f} B")
    print(f"  bodies                {browser['encoded_bytes']:,} B encoded, {browser['decoded_bytes']:,} B decoded")
    for name in ("response_end_ms", "dom_content_loaded_ms", "load_ms", "ready_ms"):
        value = browser[name]
        print(f"  {name:<21} median {value['median']:.0f} ms, max {value['max']:.0f} ms")
    warm = browser["warm"]
    print(
        f"  warm cache: {warm['requests']} resources (static ones cached), {warm['transfer_bytes']:,} B transferred, "
        f"load {warm['load_ms']:.0f} ms, numbers shown at {warm['ready_ms']:.0f} ms"
    )
    print("  per file (path, transferred, encoded body):")
    for name, transferred, encoded in browser["files"]:
        print(f"    {name:<48} {transferred:>7,} {encoded:>7,}")


if __name__ == "__main__":
    main()
