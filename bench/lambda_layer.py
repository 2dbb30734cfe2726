"""An environment made like Lambda's, from the layer exactly as ``layers/common/Makefile`` builds it.

Shared by ``bench/cold_import.py --lambda`` and ``tests/integration/test_layer_build.py``:

- ``build_layer``: runs the Makefile's ``build-CommonLayer`` (the recipe ``sam build`` runs) into a
  directory, for Lambda's arm64 or for this host (``PIP_PLATFORM=``; the aarch64 native wheels,
  pydantic-core and google-re2, cannot be imported on an x86_64 host, so imports are checked and
  timed against the host variant of the same pinned requirements, same recipe, same bytecode).
- ``install_sdk``: boto3/botocore at the dev pins (requirements-dev.txt) alone in a directory,
  compiled, as the Lambda runtime provides them (/var/runtime).
- ``bytecode_problems``: every ``.py`` of a built layer must have its Python 3.11 ``unchecked-hash``
  ``.pyc`` (PEP 552 flags 0b01).
- ``child_argv``: a fresh ``python3.11 -I -S -B`` whose ``sys.path`` is the function's directory,
  the layer's ``python/``, the SDK directory and the standard library, nothing else (no venv, no
  dev packages), in Lambda's order (/var/task, /opt/python, /var/runtime).
- ``functions``: every function of template.yaml with its module and its environment resolved.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAYER_SRC = ROOT / "layers" / "common"
AARCH64 = "manylinux2014_aarch64"
UNCHECKED_HASH = 0b01  # PEP 552: hash-based, do not check the source

# Fake values for what the template resolves at deploy time (only imports run, nothing is called).
_PARAMETER_VALUES: dict[str, str] = {}
_BASE_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "LANG": "C.UTF-8",
}


@dataclass(frozen=True)
class LambdaFunction:
    logical_id: str
    code_dir: Path
    module: str
    memory_mb: int
    env: dict[str, str]


def _resolve(value: Any, raw: dict[str, Any]) -> str:
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        parameter = raw.get("Parameters", {}).get(name)
        if parameter is not None:
            return str(_PARAMETER_VALUES.get(name, parameter.get("Default", "")))
        kind = raw.get("Resources", {}).get(name, {}).get("Type", "")
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}"
        if kind == "AWS::SecretsManager::Secret":  # Ref gives the secret's ARN
            return f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-bench0"
        return name
    if isinstance(value, dict):
        return "arn:aws:lambda:us-east-1:123456789012:" + "-".join(str(v) for v in value.values())
    return str(value)


def functions() -> list[LambdaFunction]:
    """Every function of template.yaml: code directory, handler module, memory, resolved environment."""
    sys.path.insert(0, str(ROOT))
    try:
        from local import template
    finally:
        sys.path.remove(str(ROOT))
    loaded = template.load()
    memory_default = loaded.raw.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    out = []
    for fn in loaded.functions.values():
        props = loaded.raw["Resources"][fn.logical_id]["Properties"]
        memory = int(props.get("MemorySize", memory_default))
        env = {name: _resolve(value, loaded.raw) for name, value in fn.environment.items()}
        env.update(_BASE_ENV)
        env.update({"AWS_LAMBDA_FUNCTION_NAME": fn.logical_id, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory)})
        out.append(LambdaFunction(fn.logical_id, fn.code_uri, fn.handler.rsplit(".", 1)[0], memory, env))
    return out


def _require_311() -> None:
    if sys.version_info[:2] != (3, 11):
        raise RuntimeError(f"Lambda's runtime is python3.11; this is {sys.version.split()[0]}")


def build_layer(artifacts_dir: Path, *, host: bool) -> Path:
    """``make build-CommonLayer`` into ``artifacts_dir``; returns its ``python/`` directory."""
    _require_311()
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(LAYER_SRC),
            "build-CommonLayer",
            f"ARTIFACTS_DIR={artifacts_dir}",
            f"PIP_PLATFORM={'' if host else AARCH64}",
            f"PYTHON={sys.executable}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return artifacts_dir / "python"


def sdk_pins() -> list[str]:
    text = (ROOT / "requirements-dev.txt").read_text()
    pins = re.findall(r"^(boto(?:3|core)==[^\s#]+)", text, re.MULTILINE)
    if len(pins) != 2:
        raise RuntimeError(f"expected boto3 and botocore pins in requirements-dev.txt, found {pins}")
    return pins


def install_sdk(target: Path) -> Path:
    """boto3/botocore (and their dependencies) alone in ``target``, compiled like the runtime's."""
    _require_311()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--only-binary=:all:",
            "--target",
            str(target),
            *sdk_pins(),
        ],
        check=True,
    )
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(target)], check=True)
    return target


def bytecode_problems(python_dir: Path) -> tuple[int, list[str]]:
    """(number of .py, the ones without a Python 3.11 unchecked-hash .pyc beside them)."""
    magic = importlib.util.MAGIC_NUMBER
    sources = sorted(python_dir.rglob("*.py"))
    problems = []
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
        if not pyc.is_file():
            problems.append(f"{source.relative_to(python_dir)}: no {pyc.name}")
            continue
        header = pyc.read_bytes()[:8]
        if header[:4] != magic:
            problems.append(f"{source.relative_to(python_dir)}: magic {header[:4].hex()} is not 3.11's")
        elif int.from_bytes(header[4:8], "little") != UNCHECKED_HASH:
            problems.append(f"{source.relative_to(python_dir)}: flags {header[4:8].hex()} are not unchecked-hash")
    return len(sources), problems


def path_prelude(paths: list[Path]) -> str:
    """Code that puts ``paths`` before the standard library and drops every other entry."""
    return (
        "import sys\n"
        f"sys.path[:] = {[str(p) for p in paths]!r} + "
        "[p for p in sys.path if p and 'site-packages' not in p and 'dist-packages' not in p]\n"
    )


def child_argv(paths: list[Path], code: str, *extra: str) -> list[str]:
    """A fresh, isolated 3.11 (no site, no user site, no PYTHON* variables, writes no bytecode)."""
    return [sys.executable, "-I", "-S", "-B", *extra, "-c", path_prelude(paths) + code]
