#!/usr/bin/env bash
# Regenerates requirements/constraints.txt, the locked versions that scripts/venv.sh installs
# (CI, the quick start): the project with every extra installed into a fresh virtual
# environment from pyproject.toml's bounds alone, then frozen. Run it after changing a
# dependency in pyproject.toml, and commit the result with that change.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${PYTHON:-python3}" -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check ".[dev]"
{
  echo "# Locked versions for scripts/venv.sh (CI, quick start): made by scripts/lock.sh from"
  echo "# pyproject.toml's bounds; install with: pip install -c requirements/constraints.txt ."
  "$work/venv/bin/pip" freeze --exclude-editable --exclude cites-connector
} >requirements/constraints.txt
echo "requirements/constraints.txt: $(grep -vc '^#' requirements/constraints.txt) packages locked"
