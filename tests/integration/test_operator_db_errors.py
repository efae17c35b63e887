"""A ledger out of reach or never migrated, and the logs (issue 14, item 4): every verb that
touches the database exits 3 with one line on stderr and no traceback; a ledger without the
schema says to run ``migrate``; logs stay on stderr, out of a verb's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cites_connector.cli.main import cli
from tests.samples import permits_dated, sad_dated

CLOSED_POSTGRES = "postgresql+psycopg://nobody:pw@127.0.0.1:1/none?connect_timeout=2"


def files(tmp_path: Path) -> dict[str, str]:
    sad, permits = tmp_path / "sad.xml", tmp_path / "permits.json"
    sad.write_bytes(sad_dated())
    permits.write_bytes(permits_dated())
    return {"SAD": str(sad), "PERMITS": str(permits)}


#: every verb that reads or writes the ledger (FILE names are filled in per test)
LEDGER_VERBS = [
    ("permits", "show", "26NA000123"),
    ("permits", "import", "PERMITS"),
    ("declarations", "check", "SAD"),
    ("declarations", "clear", "SAD", "--id", "D1"),
    ("declarations", "show", "D1"),
    ("declarations", "cancel", "D1", "--reason", "test"),
    ("outbox", "status"),
    ("outbox", "retry", "--all-failed"),
    ("hs", "list"),
    ("hs", "lookup", "010641"),
    ("hs", "impact", "HS2022/1"),
    ("suspensions", "list"),
    ("quotas", "list"),
    ("audit", "verify"),
    ("audit", "seal"),
    ("audit", "show"),
]
IDS = ["-".join(verb[:2]) for verb in LEDGER_VERBS]


def run(tmp_path: Path, *args: str, **env: str) -> Result:
    named = files(tmp_path)
    argv = [named.get(a, a) for a in args]
    base = {
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(tmp_path / "var"),
        "CONNECTOR_AMQP_URL": "amqp://connector:x@127.0.0.1:1/%2F",
    }
    return CliRunner().invoke(cli, argv, env=base | env)


def one_error(result: Result, code: int = 3) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("verb", [*LEDGER_VERBS, ("migrate",)], ids=[*IDS, "migrate"])
def test_a_verb_with_postgresql_out_of_reach_exits_3_with_one_line(tmp_path, verb):
    line = one_error(run(tmp_path, *verb, CONNECTOR_DATABASE_URL=CLOSED_POSTGRES))
    assert line.startswith("error: the ledger database is not reachable: connection")
    assert "nobody:pw" not in line  # no password shown


@pytest.mark.parametrize("verb", [*LEDGER_VERBS, ("migrate",)], ids=[*IDS, "migrate"])
def test_a_verb_with_an_unwritable_sqlite_path_exits_3_with_one_line(tmp_path, verb):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    url = f"sqlite:///{blocker}/ledger/connector.sqlite3"
    line = one_error(run(tmp_path, *verb, CONNECTOR_DATABASE_URL=url))
    assert line.startswith("error: the ledger database is not reachable: cannot make its directory")


@pytest.mark.parametrize("verb", LEDGER_VERBS, ids=IDS)
def test_a_verb_on_a_ledger_never_migrated_says_to_run_migrate(tmp_path, verb):
    line = one_error(run(tmp_path, *verb))
    assert line == "error: the ledger database has no schema yet: run `cites-connector migrate`"


def test_serve_on_a_ledger_never_migrated_says_to_run_migrate(tmp_path):
    assert run(tmp_path, "migrate").exit_code == 0  # the audit key, then a second, empty ledger
    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = run(
        tmp_path,
        "serve",
        CONNECTOR_DATABASE_URL=empty,
        CONNECTOR_SOAP_USERS="customs:pw",
        CONNECTOR_AUDIT_KEY_FILE=str(tmp_path / "var" / "audit.key"),
    )
    line = one_error(result)
    assert line == "error: the ledger database has no schema yet: run `cites-connector migrate`"


@pytest.mark.parametrize(
    "verb", [("dlq", "list"), ("dlq", "replay", "--all")], ids=["dlq-list", "dlq-replay"]
)
def test_a_verb_with_the_broker_out_of_reach_exits_3_with_one_line(tmp_path, verb):
    closed = "amqp://connector:brokerpw@127.0.0.1:1/%2F"
    assert run(tmp_path, "migrate").exit_code == 0
    result = run(tmp_path, *verb, CONNECTOR_AMQP_URL=closed, CONNECTOR_DLQ_REPLAY_URL=closed)
    line = one_error(result)
    assert line.startswith("error: RabbitMQ at amqp://connector@127.0.0.1:1/%2F is not reachable")
    assert line.endswith("Connection refused") and "brokerpw" not in line


def _subprocess(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(tmp_path / "var"),
        "CONNECTOR_LOGGING__LEVEL": "DEBUG",  # the verbs must still keep logs off stdout
    }
    command = [sys.executable, "-c", "from cites_connector.cli.main import main; main()", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def _no_json_lines(text: str) -> None:
    for line in text.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        assert not (isinstance(parsed, dict) and "event" in parsed), line


def test_show_verbs_print_no_log_lines_on_stdout(tmp_path):
    named = files(tmp_path)
    assert _subprocess(tmp_path, "migrate").returncode == 0
    assert _subprocess(tmp_path, "permits", "import", named["PERMITS"]).returncode == 0
    cleared = _subprocess(tmp_path, "declarations", "clear", named["SAD"], "--id", "D1")
    assert cleared.returncode in (0, 1), cleared.stderr
    for args in (("permits", "show", "26NA000123"), ("declarations", "show", "D1")):
        for extra in ((), ("--json",)):
            shown = _subprocess(tmp_path, *args, *extra)
            assert shown.returncode == 0, shown.stderr
            _no_json_lines(shown.stdout)
            assert shown.stderr == ""  # WARNING and above only, without -v
    verbose = _subprocess(tmp_path, "-v", "declarations", "show", "D1")
    _no_json_lines(verbose.stdout)
