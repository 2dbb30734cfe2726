#!/usr/bin/env bash
# Creates .venv with Python 3.11 and installs the pinned requirements (idempotent, quiet).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "Funil needs Python 3.11 (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements-$(cat requirements-dev.txt layers/common/requirements.txt pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt
  # The project itself, editable: .venv/bin/funil (the CLI) runs this checkout's code.
  PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install --quiet --no-deps -e .
  rm -f .venv/.requirements-* && touch "$stamp"
fi
bash scripts/fetch-ipdb.sh  # the IP database (layers/ipdb/data): built once per recipe, then a no-op
