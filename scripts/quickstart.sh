#!/usr/bin/env bash
# One command from a fresh machine to a cleared sample declaration, end to end:
# installs the connector (and Debian's rabbitmq-server when missing), starts a local RabbitMQ
# loaded with config/rabbitmq-definitions.json (users connector and permit-system), the customs
# simulator and `cites-connector serve` (SOAP service, permit consumer, outbox
# relay) on SQLite, then plays customs, the permit system and a broker (scripts/demo.py):
# the sample declaration arrives before its permits and is HELD; the permits are published
# (one as a CITES ePermit XML document); the declaration is released by itself, the usage
# reports and the broker's notification appear, and the customs simulator receives the
# callback. Everything it starts is stopped at the end. Run it again at will.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
ensure_venv
source scripts/services.sh

DATA=./var/quickstart
rm -rf "$DATA" && mkdir -p "$DATA"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  stop_rabbitmq
}
trap cleanup EXIT
start_rabbitmq

SOAP_PORT=$(_free_port); SIM_PORT=$(_free_port); CONSOLE_PORT=$(_free_port); EPIX_PORT=$(_free_port)
export CONNECTOR_HOME_COUNTRY=NA CONNECTOR_DATA_DIR=$DATA
# the connector connects as its own least-privilege user from config/rabbitmq-definitions.json
# (demo password); the demo publishes permits as permit-system and watches as the node's admin
export CONNECTOR_AMQP_URL=$RABBITMQ_CONNECTOR_URL
export DEMO_PERMIT_SYSTEM_URL=$RABBITMQ_PERMIT_SYSTEM_URL DEMO_OBSERVER_URL=$CONNECTOR_TEST_AMQP_URL
export CONNECTOR_SOAP_PORT=$SOAP_PORT CONNECTOR_SOAP_USERS="customs:demo-secret"
export CONNECTOR_CONSOLE_PORT=$CONSOLE_PORT
export CONNECTOR_CUSTOMS_URL="http://127.0.0.1:$SIM_PORT/soap/customs-callback"
export CONNECTOR_CUSTOMS_ALLOW_HTTP=true   # loopback demo only: production uses https
export CONNECTOR_CUSTOMS_USER=connector CONNECTOR_CUSTOMS_PASSWORD=demo-callback
export CONNECTOR_LOGGING__LEVEL=WARNING
export DEMO_SOAP_URL="http://127.0.0.1:$SOAP_PORT/soap/clearance" DEMO_SOAP_CREDENTIALS="customs:demo-secret"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_for() {  # wait_for URL: until it answers 200 (30 s)
  for _ in $(seq 1 60); do
    python3 -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" \
      2>/dev/null && return 0
    sleep 0.5
  done
  echo "no answer from $1" >&2; return 1
}

step "cites-connector migrate"
cites-connector migrate
step "cites-connector users add demo-admin --role admin   (the web console's first administrator)"
DEMO_CONSOLE_PASSWORD=demo-console-$(python3 -c 'import secrets; print(secrets.token_hex(4))')
printf '%s\n' "$DEMO_CONSOLE_PASSWORD" | cites-connector users add demo-admin --role admin --password-stdin
step "cites-connector simulate-customs serve --port $SIM_PORT   (the customs system's callback side)"
cites-connector simulate-customs serve --port "$SIM_PORT" --record "$DATA/customs-calls.sqlite" \
  --password-type digest >"$DATA/simulator.log" 2>&1 &
PIDS+=($!)
step "cites-connector simulate-epix serve --port $EPIX_PORT   (the EPIX hub, HTTPS with client certificates)"
# foreign permits are asked of EPIX (docs/epix.md): a throwaway CA, server and client certificates
cites-connector simulate-epix certificates "$DATA/epix-pki" --country NA >/dev/null
# the permits it serves are signed by a throwaway South African Management Authority, whose
# certificate goes into the connector's trust store ($DATA/trust, docs/signatures.md)
cites-connector simulate-epix sign-permits examples/epix-permits "$DATA/epix-permits" \
  --trust-dir "$DATA/trust" >/dev/null
cites-connector simulate-epix serve --permits "$DATA/epix-permits" --certs "$DATA/epix-pki" \
  --port "$EPIX_PORT" --record "$DATA/epix-calls.json" --token demo-epix-token \
  >"$DATA/epix-simulator.log" 2>&1 &
PIDS+=($!)
export CONNECTOR_EPIX_URL="https://127.0.0.1:$EPIX_PORT/api/v1/soap_api/action"
export CONNECTOR_EPIX_TOKEN=demo-epix-token
export CONNECTOR_EPIX_CLIENT_CERT=$DATA/epix-pki/client.pem CONNECTOR_EPIX_CLIENT_KEY=$DATA/epix-pki/client-key.pem
export CONNECTOR_EPIX_CA_FILE=$DATA/epix-pki/ca.pem
step "cites-connector serve   (SOAP on 127.0.0.1:$SOAP_PORT, permit consumer, outbox relay)"
cites-connector serve >"$DATA/connector.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$SOAP_PORT/healthz"
wait_for "http://127.0.0.1:$CONSOLE_PORT/login"
printf '\nWeb console: http://127.0.0.1:%s/  (user demo-admin, password %s)\n' \
  "$CONSOLE_PORT" "$DEMO_CONSOLE_PASSWORD"
wait_for "http://127.0.0.1:$SIM_PORT/soap/customs-callback?wsdl"

python3 scripts/demo.py

step "what the customs simulator received (SubmitControlResult)"
for _ in $(seq 1 40); do
  calls=$(cites-connector simulate-customs calls --record "$DATA/customs-calls.sqlite" 2>/dev/null || true)
  if echo "$calls" | grep -q CLEARED; then break; fi
  sleep 0.5
done
echo "$calls"
step "EPIX: an import of grey parrots citing South Africa's permit 26ZA004431, held only by the hub"
sed "s#<Date>28/11/2026</Date>#<Date>$(date -u +%d/%m/%Y)</Date>#" \
  examples/sad-import-WDHA-I2001-epix.xml >"$DATA/sad-import-epix.xml"
cites-connector simulate-customs send "$DATA/sad-import-epix.xml" --id WDHA-I-2001 \
  --connector "$DEMO_SOAP_URL" --user customs --password demo-secret || true
step "what the EPIX simulator received (ConfirmQuantities: the endorsement back to South Africa)"
for _ in $(seq 1 40); do
  epix_calls=$(cites-connector simulate-epix calls --record "$DATA/epix-calls.json" 2>/dev/null || true)
  if echo "$epix_calls" | grep -q 26ZA004431; then break; fi
  sleep 0.5
done
echo "$epix_calls"
step "cites-connector permits show 26ZA004431 --country ZA   (from EPIX, and who signed it)"
cites-connector permits show 26ZA004431 --country ZA || true
step "cites-connector permits show 26NA000123   (SINGLE: used up by this consignment)"
cites-connector permits show 26NA000123
step "cites-connector outbox status"
cites-connector outbox status
step "cites-connector audit verify   (both audit chains, checked with the key migrate made)"
cites-connector audit verify
printf '\nLogs: %s/connector.log, %s/simulator.log, %s/epix-simulator.log\n' "$DATA" "$DATA" "$DATA"
printf 'Web console: http://127.0.0.1:%s/  (user demo-admin, password %s)\n' \
  "$CONSOLE_PORT" "$DEMO_CONSOLE_PASSWORD"
if [ "${QUICKSTART_KEEP:-0}" = 1 ]; then
  echo "Everything keeps running (QUICKSTART_KEEP=1): press Ctrl-C to stop."
  wait "${PIDS[@]}" || true
fi
