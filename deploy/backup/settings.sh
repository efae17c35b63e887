# Shared by cites-connector-backup and cites-connector-restore (sourced, not run).
#
# The connector's own precedence decides where its database and audit key are (README,
# "Configuration"): a CONNECTOR_* environment variable, else the key in the TOML file named
# by CONNECTOR_CONFIG (default: the packaged config/connector.toml), else the default. Read
# here with Python's standard library only (tomllib), so that these scripts keep working
# whatever the connector's code looks like inside.

PYTHON=${PYTHON:-python3}

die() { echo "error: $*" >&2; exit 2; }
say() { echo "$(basename "$0"): $*" >&2; }

# effective_settings: prints three lines: database URL, data directory, audit key file
effective_settings() {
  "$PYTHON" - <<'PY'
import os, sys, tomllib
from pathlib import Path

config = os.environ.get("CONNECTOR_CONFIG")
toml = {}
if config:
    try:
        with open(config, "rb") as fh:
            toml = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        sys.exit(f"error: cannot read the configuration {config}: {exc}")

def setting(name, default=None):
    value = os.environ.get(f"CONNECTOR_{name.upper()}")
    if value not in (None, ""):
        return value
    return toml.get(name, default)

data_dir = Path(setting("data_dir", "./var")).resolve()
url = setting("database_url") or f"sqlite:///{data_dir / 'connector.sqlite3'}"
key = setting("audit_key_file") or str(data_dir / "audit.key")
print(url)
print(data_dir)
print(Path(key).resolve())
PY
}

# database_kind URL: sqlite or postgresql (anything else is refused)
database_kind() {
  case "$1" in
    sqlite:*) echo sqlite ;;
    postgresql:*|postgresql+*|postgres:*) echo postgresql ;;
    *) die "unsupported database URL scheme: ${1%%:*} (SQLite and PostgreSQL are supported)" ;;
  esac
}

# sqlite_path URL: the file of a sqlite:///relative or sqlite:////absolute URL
sqlite_path() {
  local rest=${1#sqlite:///}
  rest=${rest%%\?*}
  [ -n "$rest" ] && [ "$rest" != ":memory:" ] || die "not a SQLite file URL: $1"
  echo "$rest"
}

# libpq_url URL: the SQLAlchemy URL as libpq (pg_dump, pg_restore, psql) takes it: without
# the +driver part. Query parameters such as sslmode, sslrootcert, sslcert stay.
libpq_url() {
  local url=$1
  url="postgresql:${url#*:}"
  echo "$url"
}

# pg_tool NAME: the PostgreSQL client program, from PG_BIN when set (e.g.
# /usr/lib/postgresql/15/bin: pg_dump must be at least the server's major version)
pg_tool() {
  if [ -n "${PG_BIN:-}" ]; then
    [ -x "$PG_BIN/$1" ] || die "$PG_BIN/$1 does not exist (PG_BIN)"
    echo "$PG_BIN/$1"
  else
    command -v "$1" >/dev/null 2>&1 \
      || die "$1 not found: install postgresql-client (the server's major version) or set PG_BIN"
    command -v "$1"
  fi
}

# connector_command: the cites-connector executable
connector_command() {
  if [ -n "${CITES_CONNECTOR:-}" ]; then echo "$CITES_CONNECTOR"
  elif command -v cites-connector >/dev/null 2>&1; then command -v cites-connector
  else echo /opt/cites-connector/venv/bin/cites-connector
  fi
}
