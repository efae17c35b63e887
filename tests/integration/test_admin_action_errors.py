"""Administrative acts and the audit commands go through the one translation of database
errors (adapters/sql/transactions.py): a database out of reach is exit 3 with a one-line
error, a value the database refuses is exit 2, and in both cases nothing is recorded and the
act is not started (``dlq replay`` records who replays before it publishes anything).

The replay URLs point at a closed port: had the act been started, the command would fail on
RabbitMQ instead, with another message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.hs_schema import admin_audit
from cites_connector.cli.main import cli

CLOSED = "127.0.0.1:1"
REPLAY = ("dlq", "replay", "--id", "ps-77")


def connector(tmp_path: Path, database_url: str | None = None):
    env = {
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(tmp_path / "var"),
        "CONNECTOR_LOGGING__LEVEL": "CRITICAL",
        "CONNECTOR_AMQP_URL": f"amqp://connector:x@{CLOSED}/%2F",
        "CONNECTOR_DLQ_REPLAY_URL": f"amqp://permit-system:x@{CLOSED}/%2F",
    }
    if database_url is not None:
        env["CONNECTOR_DATABASE_URL"] = database_url

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    return run


def one_error_line(result: Result) -> str:
    """The only thing on stderr: one line, ``error: ...``."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def admin_records(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(admin_audit)).scalar_one())
    finally:
        engine.dispose()


def unopenable_sqlite(tmp_path: Path) -> str:
    """A SQLite ledger that cannot be opened (its path is a directory: a volume that is not
    mounted, a file moved away), next to a migrated data directory with its audit key."""
    place = tmp_path / "unmounted"
    place.mkdir()
    return f"sqlite:///{place}"


@pytest.mark.parametrize(
    "args",
    [REPLAY, ("audit", "seal"), ("audit", "verify")],
    ids=["dlq-replay", "audit-seal", "audit-verify"],
)
def test_an_admin_act_with_the_sqlite_ledger_out_of_reach_exits_3_with_one_line(tmp_path, args):
    assert connector(tmp_path)("migrate").exit_code == 0  # the audit key file
    result = connector(tmp_path, unopenable_sqlite(tmp_path))(*args)
    assert result.exit_code == 3, result.output
    assert one_error_line(result) == (
        "error: the ledger database is not reachable: unable to open database file"
    )


def test_dlq_replay_with_postgresql_out_of_reach_exits_3_with_one_line(tmp_path):
    url = f"postgresql+psycopg://nobody@{CLOSED}/none?connect_timeout=2"
    result = connector(tmp_path, url)(*REPLAY)
    assert result.exit_code == 3, result.output
    line = one_error_line(result)
    assert line.startswith("error: the ledger database is not reachable: connection")
    assert "Connection refused" in line  # psycopg's second line, joined into the first


def test_a_replayed_message_id_longer_than_the_audit_subject_is_refused_on_postgresql(
    tmp_path, postgres_url
):
    """Before the one translation, the audit log's own handler called PostgreSQL's
    ``value too long`` an outage (exit 3, "retry later"): it is the input's fault."""
    run = connector(tmp_path, postgres_url)
    assert run("migrate").exit_code == 0
    before = admin_records(postgres_url)
    result = run("dlq", "replay", "--id", "x" * 250)
    assert result.exit_code == 2, result.output
    assert one_error_line(result) == (
        "error: a value is too long or out of range for the ledger: "
        "value too long for type character varying(200)"
    )
    assert admin_records(postgres_url) == before


def test_with_the_ledger_reachable_the_replay_is_recorded_before_it_starts(tmp_path):
    """The counterpart of the tests above: the record is committed, then RabbitMQ (closed
    here) fails the act itself, and the record still says who started it."""
    run = connector(tmp_path)
    assert run("migrate").exit_code == 0
    url = f"sqlite:///{tmp_path / 'var' / 'connector.sqlite3'}"
    before = admin_records(url)
    result = run(*REPLAY)
    assert result.exit_code == 3 and "RabbitMQ" in result.stderr, result.output
    assert admin_records(url) == before + 1
