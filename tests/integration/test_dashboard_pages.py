"""The dashboard's shell and static files through the real handler: what the browser is given,
with which headers, and that nothing outside ``functions/dashboard/static/`` is ever served."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from funil.dashboard.static import CONTENT_TYPES

from local import aws
from local.template import ROOT
from tests.integration.test_dashboard_api import World, new_world

STATIC = ROOT / "functions" / "dashboard" / "static"
SHELL_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


@pytest.fixture
def world(aws_env: aws.Resources, table: Any, invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> World:
    return new_world(aws_env, table, invoke, monkeypatch)


def served_files() -> list[Path]:
    return sorted(path for path in STATIC.rglob("*") if path.is_file() and path.suffix in CONTENT_TYPES)


@pytest.mark.parametrize("path", ["/app", "/app/", "/app/campanhas", "/app/saude/bots", "/app/depurador-de-venda"])
def test_every_page_of_the_app_is_the_shell(world: World, path: str) -> None:
    page = world.app("GET", path, headers={"accept-encoding": None})
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.body == (STATIC / "index.html").read_text()
    for name, value in SHELL_HEADERS.items():
        assert page.headers[name] == value
    csp = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'"  # no inline script
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"


def test_the_shell_needs_no_session(world: World) -> None:
    """The page itself holds nothing of anyone's: it asks /app/api/session and shows sign-in when 401."""
    assert world.app("GET", "/app/", cookie="A" * 43).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/app/favicon.svg",  # a dot: a file, not a page
        "/app/api",
        "/app/api/",
        "/app/api/unknown",
        "/app/login/x",
        "/app/logout",
        "/app/static",
        "/app/static/",
        "/app/%2e%2e/app.py",
        "/app/x%2Fy",
    ],
)
def test_what_is_not_a_page_is_404(world: World, path: str) -> None:
    answer = world.app("GET", path)
    assert answer.status == 404 and set(answer.body) == {"error"}
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_other_methods_are_404(world: World, method: str) -> None:
    for path in ("/app/", "/app/api/session", "/app/login", "/app/static/app.css"):
        assert world.app(method, path).status == 404


def test_every_static_file_is_served_with_its_type_and_cache_time(world: World) -> None:
    files = served_files()
    assert {"index.html", "app.js", "app.css"} <= {path.name for path in files}
    for path in files:
        relative = path.relative_to(STATIC).as_posix()
        plain = world.app("GET", f"/app/static/{relative}", headers={"accept-encoding": None})
        assert plain.status == 200, relative
        assert plain.headers["content-type"] == CONTENT_TYPES[path.suffix]
        assert plain.headers["cache-control"] == "public, max-age=300"
        assert plain.headers["x-content-type-options"] == "nosniff"
        assert "content-encoding" not in plain.headers
        expected = path.read_bytes()
        assert (plain.body.encode() if isinstance(plain.body, str) else plain.body) == expected


def test_text_files_are_gzipped_for_clients_that_take_it(world: World) -> None:
    js = STATIC / "app.js"
    answer = world.app("GET", "/app/static/app.js", headers={"accept-encoding": "gzip, deflate, br"})
    assert answer.headers["content-encoding"] == "gzip" and answer.headers["vary"] == "Accept-Encoding"
    assert answer.raw["isBase64Encoded"] is True
    assert answer.body == js.read_text()  # reply() undid the gzip
    assert len(answer.raw["body"]) * 3 // 4 < js.stat().st_size  # fewer bytes on the wire
    refused = world.app("GET", "/app/static/app.js", headers={"accept-encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers


def test_a_browser_revalidates_with_the_etag(world: World) -> None:
    first = world.app("GET", "/app/static/app.css")
    etag = first.headers["etag"]
    again = world.app("GET", "/app/static/app.css", headers={"if-none-match": etag})
    assert again.status == 304 and again.raw["body"] == "" and again.headers["etag"] == etag
    changed = world.app("GET", "/app/static/app.css", headers={"if-none-match": '"something-else"'})
    assert changed.status == 200


@pytest.mark.parametrize(
    "relative",
    [
        "../app.py",
        "..%2Fapp.py",
        "%2e%2e/app.py",
        "..",
        "./index.html",
        ".hidden.js",
        "a//b.js",
        "/etc/passwd",
        "SOURCE.md",  # in the folder, but of no type the page loads
        "uPlot.LICENSE",
        "index.html/",
        "index.html%00.js",
        "nope.js",
        "x" * 300 + ".js",
        "app.js\n",
        "APP.JS",
    ],
)
def test_nothing_outside_the_folder_or_of_an_unknown_type_is_served(world: World, relative: str) -> None:
    answer = world.app("GET", f"/app/static/{relative}")
    assert answer.status == 404, relative
    assert answer.headers["content-type"] == "application/json"


def test_a_static_file_reads_the_disk_once_per_container(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    assert world.app("GET", "/app/static/app.css").status == 200
    reads: list[Path] = []
    original = Path.read_bytes

    def counting(self: Path) -> bytes:
        reads.append(self)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    for _ in range(3):
        assert world.app("GET", "/app/static/app.css").status == 200
    assert reads == []
