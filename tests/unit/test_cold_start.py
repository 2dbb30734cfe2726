"""Handlers import with the collector off, then freeze what they built and turn it back on."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from local.template import ROOT, load

HANDLER_MODULES = sorted({function.module_path for function in load().functions.values()})


def test_the_collector_is_off_from_the_import_until_done_then_on_with_the_import_frozen() -> None:
    code = """
import gc
assert gc.isenabled()
from funil import cold_start
assert not gc.isenabled()
cold_start.done()
assert gc.isenabled()
assert gc.get_freeze_count() > 0  # the import's objects are in the permanent generation
from funil import cold_start as again
assert gc.isenabled()  # a second import (another handler in the same process) changes nothing
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(ROOT / "layers" / "common")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


@pytest.mark.parametrize("path", HANDLER_MODULES, ids=lambda path: path.parent.name)
def test_every_handler_imports_cold_start_then_the_sdk_first_and_calls_done_last(path) -> None:
    body = [node for node in ast.parse(path.read_text(encoding="utf-8")).body if not isinstance(node, ast.Expr)]
    imports = [node for node in body if isinstance(node, ast.ImportFrom) and node.module != "__future__"]
    first = imports[0]
    assert (first.module, [alias.name for alias in first.names]) == ("funil", ["cold_start"]), "first import"
    assert all(isinstance(node, ast.Import | ast.ImportFrom) for node in body[: body.index(first)])
    second = body[body.index(first) + 1]
    assert ast.unparse(second) == "import boto3", "second import: the SDK at the module's top level"
    last = ast.parse(path.read_text(encoding="utf-8")).body[-1]
    assert ast.unparse(last) == "cold_start.done()", "last statement"
