# Throwaway servers for tests and demos, on loopback and free ports. Source this file, then
# call start_postgres / start_rabbitmq; stop_services stops whatever was started.
# Root drops to the servers' own users (postgres, rabbitmq), as both refuse to run as root.

_free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

_as() {  # _as USER command...: run as USER when we are root, else as ourselves
  local user=$1; shift
  if [ "$(id -u)" = 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

_pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then
    echo "installing PostgreSQL server (Debian package postgresql)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$bin"
}

start_postgres() {
  local bin port
  bin=$(_pg_bin)
  PG_DIR=$(mktemp -d /tmp/cites-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  port=$(_free_port)
  _as postgres "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 >/dev/null
  _as postgres "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    start >/dev/null
  PG_BIN=$bin
  export CONNECTOR_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL on 127.0.0.1:$port ($PG_DIR)" >&2
}

stop_postgres() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    _as postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}


start_rabbitmq() {
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    echo "installing RabbitMQ (Debian package rabbitmq-server)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null; }
  fi
  local port dist
  RMQ_DIR=$(mktemp -d /tmp/cites-rmq.XXXXXX)
  mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  echo "[]." > "$RMQ_DIR/enabled_plugins"
  [ "$(id -u)" = 0 ] && chown -R rabbitmq:rabbitmq "$RMQ_DIR"
  port=$(_free_port); dist=$(_free_port)
  export RABBITMQ_NODENAME="cites$$@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$dist \
    RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia" RABBITMQ_LOG_BASE="$RMQ_DIR/log" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
  (rabbitmq-server >"$RMQ_DIR/server.out" 2>&1 &)
  local waited=0  # await_startup fails at once until the node has registered: poll
  until rabbitmqctl -n "$RABBITMQ_NODENAME" await_startup >/dev/null 2>&1; do
    waited=$((waited + 1))
    if [ "$waited" -ge 90 ]; then
      echo "RabbitMQ did not start; its output:" >&2; tail -n 30 "$RMQ_DIR/server.out" >&2
      return 1
    fi
    sleep 1
  done
  export CONNECTOR_TEST_AMQP_URL="amqp://guest:guest@127.0.0.1:$port/%2F"
  echo "RabbitMQ $RABBITMQ_NODENAME on 127.0.0.1:$port ($RMQ_DIR)" >&2
  load_rabbitmq_definitions "$port"
}

# Load config/rabbitmq-definitions.json (topology, users connector and permit-system with
# their DEMO passwords) into the node and wait until the connector's user may connect: the
# import is asynchronous. guest stays, for the tests' and the demo's own set-up (it can
# connect from loopback only). Exports the URLs of both users on the default virtual host.
load_rabbitmq_definitions() {
  local port=$1 root waited=0
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  # on standard input: rabbitmqctl runs as the rabbitmq user, who may not read the clone
  rabbitmqctl -n "$RABBITMQ_NODENAME" import_definitions <"$root/config/rabbitmq-definitions.json" \
    >/dev/null || { echo "loading the RabbitMQ definitions failed" >&2; return 1; }
  local connector_password permit_password
  connector_password=$(_demo_password connector)
  permit_password=$(_demo_password permit-system)
  until rabbitmqctl -n "$RABBITMQ_NODENAME" authenticate_user connector "$connector_password" \
      >/dev/null 2>&1 \
      && rabbitmqctl -n "$RABBITMQ_NODENAME" list_queues -p / name 2>/dev/null \
      | grep -qx cites-connector.permits; do
    waited=$((waited + 1))
    if [ "$waited" -ge 60 ]; then echo "RabbitMQ definitions not loaded" >&2; return 1; fi
    sleep 0.5
  done
  export RABBITMQ_CONNECTOR_URL="amqp://connector:$connector_password@127.0.0.1:$port/%2F"
  export RABBITMQ_PERMIT_SYSTEM_URL="amqp://permit-system:$permit_password@127.0.0.1:$port/%2F"
}

_demo_password() {  # the demo password of a user of the shipped definitions file
  python3 -c 'import sys; from cites_connector.adapters.amqp.definitions import DEMO_PASSWORDS as p; print(p[sys.argv[1]])' "$1"
}

stop_rabbitmq() {
  if [ -n "${RMQ_DIR:-}" ] && [ -d "$RMQ_DIR" ]; then
    timeout 60 rabbitmqctl -n "$RABBITMQ_NODENAME" shutdown >/dev/null 2>&1 || true
    rm -rf "$RMQ_DIR"
  fi
}

ensure_chromium() {  # the console's browser tests: Debian's chromium and its driver, headless
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "installing Chromium (Debian packages chromium chromium-driver)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }
  fi
  export CONNECTOR_TEST_CHROMIUM=/usr/bin/chromium CONNECTOR_TEST_CHROMEDRIVER=/usr/bin/chromedriver
}

stop_services() {
  stop_rabbitmq
  stop_postgres
}
