# Source this file: it makes (once) and activates the project's own virtual environment in
# .venv, installs the project into it, and fails loudly on any install error. Nothing is
# installed into the machine's interpreter.
# The install is editable in setuptools' strict mode: build/__editable__.*/cites_connector is a
# tree of links to the repository's folders (connector/, adapters/, mappings/, ...) under the one
# import namespace, so mypy and import-linter read it as an installed package. A new module
# appears there the next time this runs (every test run does).
# PYTHON picks the interpreter that makes the venv (default: python3 on PATH; CI also proves
# Debian's /usr/bin/python3).
# The versions installed are the locked ones of requirements/constraints.txt (regenerate it
# with scripts/lock.sh after changing a dependency in pyproject.toml).
#   ensure_venv [EXTRAS]     e.g. ensure_venv test   (extras: postgres, test, dev)
ensure_venv() {
  local extras=${1:-} root python
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  python=${PYTHON:-python3}
  if [ ! -x "$root/.venv/bin/python" ]; then
    if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
      echo "installing Debian's python3-venv (needed to make $root/.venv)" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; } \
        || { echo "error: cannot install python3-venv; install it, then run again" >&2; return 1; }
    fi
    "$python" -m venv "$root/.venv" || { echo "error: cannot make $root/.venv" >&2; return 1; }
  fi
  # shellcheck disable=SC1091
  source "$root/.venv/bin/activate"
  local spec="$root" constraints=()
  [ -n "$extras" ] && spec="$root[$extras]"
  # the locked versions (requirements/constraints.txt: what CI and the quick start install)
  [ -f "$root/requirements/constraints.txt" ] && constraints=(-c "$root/requirements/constraints.txt")
  local log
  log=$(mktemp)
  if ! python -m pip install -q --disable-pip-version-check "${constraints[@]}" -e "$spec" --config-settings editable_mode=strict >"$log" 2>&1; then
    echo "error: installing the project into $root/.venv failed:" >&2
    cat "$log" >&2; rm -f "$log"; return 1
  fi
  rm -f "$log"
}
