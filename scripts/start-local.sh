#!/usr/bin/env bash
# Starts the local stack on http://127.0.0.1:3000 with the demo seed (no Docker, no AWS account).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m local "$@"
