"""The static files' rules on a folder of the test's own: what is served, what never is."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from funil.dashboard.static import StaticFiles


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    (root / "img").mkdir(parents=True)
    (root / "app.js").write_text("console.log('x');\n" * 200)
    (root / "tiny.css").write_text("a{}")
    (root / "img" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (root / ".env.js").write_text("secret")
    (root / "notes.md").write_text("# notes")
    (tmp_path / "outside.js").write_text("outside")
    return root


def test_a_file_is_served_with_its_type_and_a_stable_etag(folder: Path) -> None:
    files = StaticFiles(folder)
    found = files.get("app.js")
    assert found is not None and found.body == (folder / "app.js").read_bytes()
    assert found.content_type == "text/javascript; charset=utf-8"
    assert found.etag == StaticFiles(folder).get("app.js").etag  # type: ignore[union-attr]
    assert found.gzipped is not None and gzip.decompress(found.gzipped) == found.body
    assert files.get("img/logo.png").content_type == "image/png"  # type: ignore[union-attr]


def test_small_and_binary_files_are_not_gzipped(folder: Path) -> None:
    files = StaticFiles(folder)
    assert files.get("tiny.css").gzipped is None  # type: ignore[union-attr]
    assert files.get("img/logo.png").gzipped is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "relative",
    ["../outside.js", "img/../../outside.js", ".env.js", "img/.", "notes.md", "missing.js", "", "img", "app.js/",
     "/app.js", "img//logo.png", "img\\logo.png", "app.js\x00", "app%2ejs", "a/b/c/d/e/f/g.js"],
)  # fmt: skip
def test_nothing_outside_hidden_unknown_or_malformed(folder: Path, relative: str) -> None:
    assert StaticFiles(folder).get(relative) is None


def test_a_symbolic_link_out_of_the_folder_is_refused(folder: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside.js", folder / "link.js")
    os.symlink(tmp_path, folder / "up")
    files = StaticFiles(folder)
    assert files.get("link.js") is None
    assert files.get("up/outside.js") is None


def test_a_symbolic_link_inside_the_folder_keeps_its_target_type(folder: Path) -> None:
    os.symlink(folder / "notes.md", folder / "notes.js")  # a .js name over a file of no served type
    assert StaticFiles(folder).get("notes.js") is None
    os.symlink(folder / "app.js", folder / "alias.js")
    assert StaticFiles(folder).get("alias.js") is not None


def test_misses_are_not_remembered(folder: Path) -> None:
    files = StaticFiles(folder)
    assert files.get("later.js") is None
    (folder / "later.js").write_text("ok")
    assert files.get("later.js") is not None  # a deployment's files are fixed; a miss costs a stat, no memory
