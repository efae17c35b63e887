"""A row added to the administration audit log by hand, so that the next record would fork it.

A database owner needs no key to insert a row (the triggers refuse only UPDATE and DELETE).
Give it the link the first row of the log already follows as its ``hash``, and the next
administrative act reads that link as the newest one and tries to chain onto it: the unique
``prev_hash`` refuses the record. Before the one translation (issue 10), that refusal
surfaced as SQLAlchemy's own IntegrityError: ``dlq replay`` died with a traceback, and an
``hs`` command was told the *input* broke a rule of the ledger (exit 2). Now the act is
refused with one line naming what to do (exit 1, ``AuditChainConflict``), nothing is
recorded and nothing is done, and ``audit verify`` names the added row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import insert

from cites_connector.adapters.sql.audit_chain import GENESIS
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.hs_schema import admin_audit
from cites_connector.cli.actor import os_account
from cites_connector.cli.main import cli
from tests.hostile.ledger_dump import ledger_dump

REFUSED = (
    "error: the administration audit log already has a record after its newest link (a row "
    "added by hand?): nothing was recorded or done; run cites-connector audit verify"
)


class Connector:
    def __init__(self, tmp_path: Path, database_url: str | None):
        data = tmp_path / "var"
        self.url = database_url or f"sqlite:///{data / 'connector.sqlite3'}"
        self.env = {
            "CONNECTOR_HOME_COUNTRY": "NA",
            "CONNECTOR_DATA_DIR": str(data),
            "CONNECTOR_DATABASE_URL": self.url,
            "CONNECTOR_LOGGING__LEVEL": "CRITICAL",
            "CONNECTOR_HS_ROLES": json.dumps({os_account(): "approver"}),
            # closed ports: a replay that got past its audit record would fail on RabbitMQ
            "CONNECTOR_AMQP_URL": "amqp://connector:x@127.0.0.1:1/%2F",
            "CONNECTOR_DLQ_REPLAY_URL": "amqp://permit-system:x@127.0.0.1:1/%2F",
        }
        migrated = self.run("migrate")
        assert migrated.exit_code == 0, migrated.output
        self.engine = make_engine(self.url)

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env)

    def add_forking_row(self) -> None:
        """What a database owner can do without the key: a row whose hash is the link the
        log's first row follows (the genesis link)."""
        with self.engine.begin() as c:
            c.execute(
                insert(admin_audit).values(
                    at="2026-11-28T10:00:00+00:00",
                    actor="intruder",
                    action="hs.version.published",
                    subject="HS2022/9",
                    reason=None,
                    details="{}",
                    prev_hash="f" * 64,
                    hash=GENESIS,
                )
            )


@pytest.fixture(params=["sqlite", "postgres"])
def connector(request, tmp_path):
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    connector = Connector(tmp_path, url)
    connector.add_forking_row()
    yield connector
    connector.engine.dispose()


def refused(result: Result) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [REFUSED]


@pytest.mark.parametrize(
    "args",
    [
        ("hs", "draft", "new", "--edition", "HS2022", "--reason", "next year's table"),
        ("dlq", "replay", "--id", "ps-77"),
    ],
    ids=["hs-draft-new", "dlq-replay"],
)
def test_an_admin_act_onto_a_forking_row_is_refused_and_changes_nothing(connector, args):
    before = ledger_dump(connector.engine)
    refused(connector.run(*args))
    assert ledger_dump(connector.engine) == before


def test_audit_verify_names_the_row_added_by_hand(connector):
    seq = len(ledger_dump(connector.engine)["admin_audit"])
    result = connector.run("audit", "verify", "--no-seal")
    assert result.exit_code == 1, result.output
    assert f"row {seq}" in result.output
    assert "error: audit verification failed: the administration chain is" in result.stderr
