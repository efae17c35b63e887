"""``cites-connector outbox status|retry`` on a real SQLite ledger (contract 7)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from cites_connector.adapters.outbox.relay import OutboxRelay
from cites_connector.adapters.outbox.store import SqlOutboxStore
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.cli.main import cli
from cites_connector.mappings.outbox_messages import AMQP, CUSTOMS_CALLBACK
from tests.integration.outbox.outbox_kit import (
    T0,
    Clock,
    FakeDeliverer,
    down,
    message,
    put,
    refused,
    rows,
)


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A migrated ledger with: 1 sent, 1 failing (retryable), 1 refused, 1 waiting callback."""
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    monkeypatch.delenv("CONNECTOR_CUSTOMS_URL", raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert run("migrate").exit_code == 0
    ledger = SqlAlchemyLedger(make_engine(f"sqlite:///{tmp_path / 'var' / 'connector.sqlite3'}"))
    put(
        ledger,
        message("sent-1", "P1"),
        message("flaky-1", "P2"),
        message("refused-1", "P3"),
        message("cb-1", "D1", CUSTOMS_CALLBACK),
    )
    fake = FakeDeliverer(
        fail={"flaky-1": down("broker unreachable"), "refused-1": refused("NOT_FOUND: no route")}
    )
    OutboxRelay(SqlOutboxStore(ledger.engine), {AMQP: fake}, clock=Clock(T0)).run_once()
    yield run, ledger
    ledger.engine.dispose()


def test_status_counts_messages_per_channel_and_state_and_lists_failures(world):
    run, _ = world
    result = run("outbox", "status", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    by_channel = {c["channel"]: c for c in data["channels"]}
    assert by_channel[AMQP] == {
        "channel": AMQP,
        "pending": 0,
        "retrying": 1,
        "failed": 1,
        "sent": 1,
    }
    assert by_channel[CUSTOMS_CALLBACK]["pending"] == 1
    assert data["oldest_pending_at"].startswith("2026-11-28T10:00:00")
    assert data["oldest_pending_age_seconds"] > 0
    assert data["customs_url_configured"] is False
    failures = {f["message_id"]: f for f in data["failures"]}
    assert failures["refused-1"]["state"] == "failed"
    assert failures["refused-1"]["last_error"] == "refused: NOT_FOUND: no route"
    assert failures["flaky-1"]["state"] == "retrying" and failures["flaky-1"]["attempts"] == 1


def test_status_text_names_failures_and_the_missing_customs_endpoint(world):
    run, _ = world
    result = run("outbox", "status")
    assert result.exit_code == 0
    out = result.output
    assert "CONNECTOR_CUSTOMS_URL is not set" in out
    failed = out.index("Failed: never sent again until cites-connector outbox retry --id N")
    retrying = out.index("Retrying: the relay tries again by itself")
    assert failed < out.index("refused: NOT_FOUND: no route") < retrying
    assert retrying < out.index("RetryableDeliveryError: broker unreachable")
    [refused_row] = [line for line in out.splitlines() if "refused-1" in line]
    assert [c.strip() for c in refused_row.split("|")][:6] == [
        "3",
        "refused-1",
        "amqp",
        "cites.usage",
        "usage.recorded",
        "1",
    ]
    assert "Oldest unsent message: 2026-11-28T10:00:00" in out


def _channels(out: str) -> dict[str, list[str]]:
    """The first table's rows: channel -> [pending, retrying, failed, sent]."""
    lines = out.split("\n\n", maxsplit=1)[0].splitlines()[2:]
    return {c[0]: c[1:] for c in ([v.strip() for v in line.split("|")] for line in lines)}


def test_status_separates_pending_retrying_and_failed_and_shows_a_long_error_whole(tmp_path, world):
    """Rows in every state on a real ledger: never tried (pending), failed once and due again
    (retrying), refused for good and out of attempts (failed); a last error of 3000
    characters is shown whole in every format."""
    run, ledger = world
    long_error = "HTTP 503 from customs: " + " ".join(f"part{n:04d}" for n in range(340))
    assert len(long_error) > 3000
    put(ledger, message("tired-1", "P9"), message("new-1", "P8"), message("new-2", "P7"))
    fake = FakeDeliverer(fail={"tired-1": down(long_error)})
    relay = OutboxRelay(SqlOutboxStore(ledger.engine), {AMQP: fake}, clock=Clock(T0))
    relay.run_once()  # new-1 and new-2 are sent, tired-1 retries
    put(ledger, message("new-3", "P6"))  # never tried: pending
    with ledger.engine.begin() as c:  # out of attempts, as the relay marks it
        c.execute(
            t.outbox.update()
            .where(t.outbox.c.message_id == "flaky-1")
            .values(failed_at=T0, attempts=8)
        )
    data = json.loads(run("outbox", "status", "--format", "json").output)
    amqp = next(c for c in data["channels"] if c["channel"] == AMQP)
    assert (amqp["pending"], amqp["retrying"], amqp["failed"], amqp["sent"]) == (1, 1, 2, 3)
    assert [k["kind"] for k in data["kinds"]] == ["usage.recorded", "usage.recorded"]
    states = {f["message_id"]: f["state"] for f in data["failures"]}
    assert states == {"tired-1": "retrying", "refused-1": "failed", "flaky-1": "failed"}
    tired = next(f for f in data["failures"] if f["message_id"] == "tired-1")
    assert tired["last_error"].endswith(long_error)

    table = run("outbox", "status").output
    assert _channels(table)[AMQP] == ["1", "1", "2", "3"]
    assert long_error in table  # one cell, neither cut nor wrapped off a terminal
    assert table.index("flaky-1") < table.index("Retrying:") < table.index("tired-1")

    rows = list(csv.DictReader(io.StringIO(run("outbox", "status", "--format", "csv").output)))
    messages = {r["message_id"]: r for r in rows if r["record"] == "message"}
    assert messages["tired-1"]["last_error"].endswith(long_error)
    assert messages["flaky-1"]["state"] == "failed"
    assert {r["channel"]: r["pending"] for r in rows if r["record"] == "channel"} == {
        AMQP: "1",
        CUSTOMS_CALLBACK: "1",
    }


def test_status_says_when_more_failures_than_listed_wait(world):
    run, _ = world
    out = run("outbox", "status", "--failures", "1").output
    assert "The latest 1 of 2 failed or retrying shown (--failures)." in out


def test_retry_by_id_makes_a_refused_message_due_now(world):
    run, ledger = world
    before = rows(ledger)["refused-1"]
    assert before["failed_at"] == T0 and before["next_attempt_at"] is None
    result = run("outbox", "retry", "--id", str(before["id"]))
    assert result.exit_code == 0 and "1 message(s) due now" in result.output
    after = rows(ledger)["refused-1"]
    assert after["next_attempt_at"] <= datetime.now(UTC)
    assert (after["failed_at"], after["attempts"]) == (None, 0)


def test_retry_all_failed_takes_every_failed_message_and_nothing_else(world):
    run, ledger = world
    result = run("outbox", "retry", "--all-failed")
    assert result.exit_code == 0 and "2 message(s) due now" in result.output
    stored = rows(ledger)
    assert stored["cb-1"]["next_attempt_at"] is None  # waiting, not failed: untouched


def test_retry_of_an_unknown_or_sent_id_is_a_refusal(world):
    run, ledger = world
    result = run("outbox", "retry", "--id", str(rows(ledger)["sent-1"]["id"]), "--id", "999")
    assert result.exit_code == 1
    assert "no unsent outbox message with id" in result.output


def test_retry_needs_ids_or_all_failed(world):
    run, _ = world
    assert run("outbox", "retry").exit_code == 2
    assert run("outbox", "retry", "--all-failed", "--id", "1").exit_code == 2
