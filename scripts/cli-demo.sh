#!/usr/bin/env bash
# The offline path, without RabbitMQ or SOAP: the CLI alone on a SQLite ledger.
# Installs the connector, creates the ledger (SQLite under ./var/cli-demo), imports the
# sample Namibian permits, clears the sample ASYCUDA export declaration and shows what was
# written off. Safe to run again: it starts from an empty ledger each time.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
ensure_venv

export CONNECTOR_HOME_COUNTRY=NA
export CONNECTOR_DATA_DIR=./var/cli-demo
export CONNECTOR_LOGGING__FORMAT=console
export CONNECTOR_LOGGING__LEVEL=WARNING
rm -rf "$CONNECTOR_DATA_DIR"
mkdir -p "$CONNECTOR_DATA_DIR"
# the sample declaration registered today: a declaration date more than a few days old is
# held as implausible (DECLARATION_DATE_IMPLAUSIBLE; the day of the check is taken in UTC)
SAD="$CONNECTOR_DATA_DIR/sad-export-WDHA-E1042.xml"
sed "s#<Date>28/11/2026</Date>#<Date>$(date -u +%d/%m/%Y)</Date>#" \
  examples/sad-export-WDHA-E1042.xml > "$SAD"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "cites-connector migrate"
cites-connector migrate
step "cites-connector permits import examples/permits-namibia.json"
cites-connector permits import examples/permits-namibia.json
step "cites-connector declarations check $SAD   (nothing written)"
cites-connector declarations check "$SAD" --id WDHA-2026-E-1042
step "cites-connector declarations clear $SAD --id WDHA-2026-E-1042"
cites-connector declarations clear "$SAD" --id WDHA-2026-E-1042
step "cites-connector permits show 26NA000123   (SINGLE: used up by this consignment)"
cites-connector permits show 26NA000123
step "cites-connector permits show 26NA000131   (MULTIPLE: drawn down by 12 kg)"
cites-connector permits show 26NA000131
step "sending the same declaration again: the stored decision, nothing written twice"
cites-connector declarations clear "$SAD" --id WDHA-2026-E-1042 | head -n 2
