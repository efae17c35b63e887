#!/usr/bin/env bash
# Runs every test of the project: installs the Python packages, starts a throwaway
# PostgreSQL server (so the ledger is tested on both databases) and RabbitMQ, installs Debian's
# chromium for the console's browser tests, checks the layering rules
# (import-linter), lint, format and types (ruff, mypy --strict) and runs pytest. Any finding of
# a tool fails the run. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
ensure_venv test

source scripts/services.sh
trap stop_services EXIT
start_postgres
start_rabbitmq
ensure_chromium

echo "== layering (import-linter)"
lint-imports --no-cache
echo "== lint (ruff check)"
ruff check .
echo "== format (ruff format --check)"
ruff format --check .
echo "== types (mypy --strict)"
# Run from outside the repository so that the installed package (the strict editable install's
# link tree) is what mypy finds as cites_connector, not the repository's folders.
root=$PWD
(cd /tmp && mypy --config-file "$root/pyproject.toml" --cache-dir "$root/.mypy_cache" -p cites_connector)
echo "== tests"
python -m pytest "$@"
