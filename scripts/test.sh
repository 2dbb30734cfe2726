#!/usr/bin/env bash
# The whole test suite: lint, types, the SAM template, unit/integration/e2e tests (browser included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/install-browser.sh
export PATH="$PWD/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy
echo "== pytest"
python -m pytest "$@"
