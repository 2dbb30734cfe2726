#!/usr/bin/env bash
# The whole test suite: lint, types, the SAM template, unit/integration/e2e tests (browser included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/install-browser.sh
export PATH="$PWD/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
if command -v node >/dev/null 2>&1; then
  echo "== npm ci (test oracles: pix-utils)"
  (cd tests/oracles/node && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "== node absent: the pix-utils oracle tests will skip"
fi
echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy
echo "== pytest"
# On every core, a test file per worker at a time (a file's module-scoped local stack stays on one
# worker); the slowest tests listed: the suite must stay well under CI's 30 minutes.
python -m pytest -n auto --dist loadfile --durations=30 "$@"
