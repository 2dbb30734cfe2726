"""The repository stands alone: nothing in it reads the folder that sits beside a developer's checkout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local.template import ROOT

SIBLING = "shar" + "ed"  # the folder beside a developer's checkout, spelt so this file does not match itself
# A path into it, however it is spelt: a relative path, parent / "…", parents[n] / "…".
OUTSIDE = re.compile(
    rf"\.\./{SIBLING}\b|parents?(\[\d+\])?\s*/\s*[\"']{SIBLING}[\"']|[\"']{SIBLING}[\"']\s*/\s*[\"']oracles[\"']"
)


GUARDS = {ROOT / "tests" / "conftest.py"}  # it names the sibling folder to refuse reads of it


NOT_OURS = {".git", ".venv", "node_modules", ".aws-sam", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
DATA = (".png", ".json", ".yaml.lock", ".pyc")


def project_text_files() -> list[Path]:
    """The project's own files (no git needed: CI runs the suite on a plain copy)."""
    return [
        path
        for path in ROOT.rglob("*")
        if path.is_file()
        and not NOT_OURS.intersection(path.relative_to(ROOT).parts)
        and not path.name.endswith(DATA)
        and path.stat().st_size < 2_000_000
    ]


def test_no_file_points_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in project_text_files()
        if path not in GUARDS
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_oracles_are_in_the_repository() -> None:
    oracles = ROOT / "tests" / "oracles"
    for name in ("telegram-bot-api.json", "bacen-pix-api-2.9.0.yaml", "node/package-lock.json"):
        assert (oracles / name).is_file(), name
        assert name.split("/")[-1] in (oracles / "README.md").read_text(encoding="utf-8")  # each has its source note


def test_a_read_outside_the_repository_fails_the_run() -> None:
    """The conftest's audit hook turns any open() of the sibling folder into an error."""
    with pytest.raises(PermissionError, match="outside the repository"):
        open(ROOT.parent / SIBLING / "oracles" / "telegram-bot-api.json", encoding="utf-8")  # noqa: SIM115
