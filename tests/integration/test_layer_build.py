"""The layer Lambda runs: `sam build` compiles it, and every handler imports from it alone.

`sam build` (no container) runs layers/common/Makefile: the layer must carry, for every `.py`, its
Python 3.11 `.pyc` with unchecked-hash invalidation (file times do not survive the zip). Then each
function's handler module is imported in a fresh `python3.11 -I -S` whose path is the function's
directory, the layer and boto3/botocore alone (what the runtime provides): nothing from the dev
venv. That import uses the host-platform build of the same recipe (bench/lambda_layer.py), since the
arm64 native wheels (pydantic-core, google-re2) cannot load on an x86_64 host.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local.template import ROOT, load

sys.path.insert(0, str(ROOT / "bench"))
import lambda_layer

pytestmark = pytest.mark.build

DEV_ONLY = ("moto", "pytest", "yaml", "mypy", "flask", "samcli", "playwright", "boto3_stubs", "mypy_boto3_dynamodb")


AARCH64 = 0xB7  # ELF e_machine of arm64


def elf_machine(path: Path) -> int:
    """The machine an ELF shared object is built for (bytes 18-19 of its header, little-endian)."""
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")


@pytest.fixture(scope="module")
def sam_build(tmp_path_factory):
    sam = shutil.which("sam", path=str(Path(sys.executable).parent)) or shutil.which("sam")
    assert sam, "aws-sam-cli is in requirements-dev.txt"
    work = tmp_path_factory.mktemp("sam")
    env = {
        **os.environ,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "SAM_CLI_TELEMETRY": "0",
    }
    result = subprocess.run(
        [sam, "build", "--template-file", str(ROOT / "template.yaml"), "--build-dir", str(work / "build")],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return work / "build"


def test_sam_build_ships_the_layer_compiled_unchecked_hash(sam_build):
    python_dir = sam_build / "CommonLayer" / "python"
    count, problems = lambda_layer.bytecode_problems(python_dir)
    assert count > 500, f"only {count} .py in the built layer"
    assert (python_dir / "funil" / "__pycache__" / "__init__.cpython-311.pyc").is_file()
    assert not problems, "\n".join(problems[:20])
    native = sorted(python_dir.rglob("*.so"))
    assert native, "pydantic-core, google-re2 and cryptography ship native code"
    # Built for Lambda's arm64, whatever the file's name says (cryptography's is _rust.abi3.so).
    assert {path.name: elf_machine(path) for path in native} == {path.name: AARCH64 for path in native}
    assert not (python_dir / "boto3").exists(), "boto3 comes with the runtime"


@pytest.fixture(scope="module")
def host_environment(tmp_path_factory):
    work = tmp_path_factory.mktemp("host")
    layer = lambda_layer.build_layer(work / "layer", host=True)
    sdk = lambda_layer.install_sdk(work / "sdk")
    return layer, sdk


def test_host_variant_of_the_layer_is_compiled_too(host_environment):
    layer, _ = host_environment
    _, problems = lambda_layer.bytecode_problems(layer)
    assert not problems, "\n".join(problems[:20])


# Handlers no request of which builds or validates a model, or (the Telegram webhook) only the updates
# that buy, which import the checkout then: pydantic (~0.3x the floor) stays out of their cold start
# (bench/README.md).
WITHOUT_PYDANTIC = {
    "RedirectFunction",
    "TelegramWebhookFunction",
    "BroadcastsFunction",
    "AnalyticsStreamFunction",
    "DeliveryPageFunction",
    "BotHealthFunction",
    "DashboardFunction",
}


@pytest.mark.parametrize("function", lambda_layer.functions(), ids=lambda f: f.logical_id)
def test_handler_imports_from_the_built_layer_alone(function, host_environment):
    layer, sdk = host_environment
    handler = load().functions[function.logical_id].handler.rsplit(".", 1)[1]
    allowed = (str(function.code_dir), str(layer), str(sdk))
    code = f"""
import {function.module} as m
assert callable(m.{handler})
import gc
assert gc.isenabled() and gc.get_freeze_count() > 0  # funil.cold_start: off for the import, then on
assert not ({function.logical_id in WITHOUT_PYDANTIC!r} and "pydantic" in sys.modules)
bad = sorted({{name.split(".")[0] for name in sys.modules}} & set({DEV_ONLY!r}))
assert not bad, bad
files = {{getattr(mod, "__file__", None) or "" for mod in list(sys.modules.values())}} - {{""}}
stray = sorted(f for f in files if not f.startswith({allowed!r} + (sys.base_prefix,)))
assert not stray, stray[:10]
"""
    result = subprocess.run(
        lambda_layer.child_argv([function.code_dir, layer, sdk], code),
        env=function.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_every_funil_module_imports_from_the_built_layer_alone(host_environment):
    """Handlers import some modules only when a request needs them (a gateway's adapter, Telegram):
    each of them must import from the layer too, or the first such request fails in Lambda."""
    layer, sdk = host_environment
    function = lambda_layer.functions()[0]
    code = f"""
import importlib, pkgutil
import funil
failed = []
for module in pkgutil.walk_packages(funil.__path__, "funil."):
    try:
        importlib.import_module(module.name)
    except Exception as error:
        failed.append(f"{{module.name}}: {{type(error).__name__}}: {{error}}")
assert not failed, failed
bad = sorted({{name.split(".")[0] for name in sys.modules}} & set({DEV_ONLY!r}))
assert not bad, bad
"""
    result = subprocess.run(
        lambda_layer.child_argv([layer, sdk], code),
        env=function.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
