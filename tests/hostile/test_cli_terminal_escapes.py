"""A remote party's text cannot drive the operator's terminal through a CLI table.

A last error holds what the customs endpoint or the broker answered; dead letters, SAD files
and permits carry text from outside too. Printed raw, an escape sequence in it would clear the
screen, retitle the window or hide the rows after it. ``--format table`` shows every control
character as an escape (``\\x1b``); JSON keeps the text exact (JSON escapes it)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cites_connector.adapters.outbox.relay import OutboxRelay
from cites_connector.adapters.outbox.store import SqlOutboxStore
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.cli.main import cli
from cites_connector.mappings.outbox_messages import AMQP
from tests.integration.outbox.outbox_kit import T0, Clock, FakeDeliverer, message, put, refused

HOSTILE = "\x1b]0;all clear\x07\x1b[2J\x1b[8mhidden\x9b31m\r"


def test_an_escape_sequence_in_a_last_error_is_shown_not_obeyed(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    ledger = SqlAlchemyLedger(make_engine(f"sqlite:///{tmp_path / 'var' / 'connector.sqlite3'}"))
    put(ledger, message("evil-1", "P1"))
    fake = FakeDeliverer(fail={"evil-1": refused(f"HTTP 400: {HOSTILE}")})
    OutboxRelay(SqlOutboxStore(ledger.engine), {AMQP: fake}, clock=Clock(T0)).run_once()
    ledger.engine.dispose()

    table = runner.invoke(cli, ["outbox", "status"]).output
    assert not any(ch in table for ch in "\x1b\x07\x9b\r")
    assert "\\x1b]0;all clear\\x07\\x1b[2J\\x1b[8mhidden\\x9b31m\\x0d" in table

    data = json.loads(runner.invoke(cli, ["outbox", "status", "--format", "json"]).output)
    [failure] = data["failures"]
    assert failure["last_error"].endswith(HOSTILE)
