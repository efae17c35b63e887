#!/usr/bin/env bash
# Runs every test of the project: installs the Python packages, starts a throwaway
# PostgreSQL server (so the ledger is tested on both databases), checks the layering rules
# (import-linter) and runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
ensure_venv test

source scripts/services.sh
trap stop_services EXIT
start_postgres
start_rabbitmq

echo "== layering (import-linter)"
lint-imports --no-cache
echo "== tests"
python -m pytest "$@"
