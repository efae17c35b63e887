"""Issue 9, items 13 and 16: an outbox message that cannot be delivered is failed, not retried
forever.

Before the fix, a refused message (a ``Client`` fault, HTTP 4xx, a notification RabbitMQ will
never take) came back every 24 hours for ever, and a message failing with a retryable error
was retried every five minutes for ever: nothing told the operator which messages were lost
causes. Now both end in the ``failed`` state: shown by ``outbox status`` with the whole last
error, never claimed again by the relay, sent again only by ``outbox retry``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.outbox.relay import OutboxRelay
from cites_connector.adapters.outbox.store import SqlOutboxStore
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.cli.main import cli
from cites_connector.mappings.outbox_messages import AMQP
from tests.integration.outbox.outbox_kit import (
    Clock,
    FakeDeliverer,
    down,
    message,
    put,
    refused,
    rows,
)

FAST = Backoff(initial=1.0, maximum=60.0, jitter=0.0)
LONG_ERROR = "HTTP 400: " + "the customs schema refuses element Items/Item/Quantity; " * 12


def relay(ledger, fake, clock, **options) -> OutboxRelay:
    return OutboxRelay(
        SqlOutboxStore(ledger.engine), {AMQP: fake}, clock=clock, backoff=FAST, **options
    )


def test_a_refused_message_is_failed_and_never_claimed_again(sql_ledger):
    put(sql_ledger, message("m1", "P1"), message("m2", "P1"), message("other", "P2"))
    fake, clock = FakeDeliverer(fail={"m1": refused(LONG_ERROR)}), Clock()
    work = relay(sql_ledger, fake, clock)

    work.run_once()
    for _ in range(5):  # a month of relay passes
        clock.advance(7 * 24 * 3600)
        work.run_once()

    assert fake.attempts.count("m1") == 1
    assert "m2" not in fake.attempts  # still behind its failed head (ordered per key)
    assert fake.delivered == ["other"]
    failed = rows(sql_ledger)["m1"]
    assert failed["failed_at"] is not None and failed["sent_at"] is None
    assert failed["last_error"].endswith(LONG_ERROR)  # the whole error, not a prefix


def test_a_message_failing_retryably_is_failed_after_the_maximum_attempts(sql_ledger):
    put(sql_ledger, message("m1", "P1"))
    fake, clock = FakeDeliverer(fail={"m1": down("connection refused")}), Clock()
    work = relay(sql_ledger, fake, clock, max_attempts=4)

    for _ in range(20):
        work.run_once()
        clock.advance(3600)

    assert fake.attempts == ["m1"] * 4
    failed = rows(sql_ledger)["m1"]
    assert failed["failed_at"] is not None and failed["attempts"] == 4
    assert failed["last_error"] == (
        "gave up after 4 attempts: RetryableDeliveryError: connection refused"
    )


@pytest.fixture
def cli_world(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert run("migrate").exit_code == 0
    ledger = SqlAlchemyLedger(make_engine(f"sqlite:///{tmp_path / 'var' / 'connector.sqlite3'}"))
    put(ledger, message("waits-1", "P1"), message("flaky-1", "P2"), message("refused-1", "P3"))
    fake = FakeDeliverer(
        fail={
            "waits-1": down("not yet"),
            "flaky-1": down("broker down"),
            "refused-1": refused(LONG_ERROR),
        }
    )
    clock = Clock()
    relay(ledger, fake, clock).run_once()
    with ledger.engine.begin() as c:  # waits-1: due again, as if never tried
        from sqlalchemy import update

        from cites_connector.adapters.sql.tables import outbox

        c.execute(
            update(outbox)
            .where(outbox.c.message_id == "waits-1")
            .values(attempts=0, last_error=None, next_attempt_at=None)
        )
    yield run, ledger, fake, clock
    ledger.engine.dispose()


def test_status_separates_pending_retrying_and_failed_and_shows_the_whole_error(cli_world):
    run, _, _, _ = cli_world
    data = json.loads(run("outbox", "status", "--json").output)
    [amqp] = data["channels"]
    assert (amqp["pending"], amqp["retrying"], amqp["failed"], amqp["sent"]) == (1, 1, 1, 0)
    by_id = {f["message_id"]: f for f in data["failures"]}
    assert by_id["refused-1"]["state"] == "failed"
    assert by_id["refused-1"]["last_error"].endswith(LONG_ERROR)
    assert by_id["flaky-1"]["state"] == "retrying"

    text = run("outbox", "status").output
    assert LONG_ERROR.strip() in " ".join(text.split())  # whole, even if wrapped


def test_outbox_retry_sends_a_failed_message_again_once(cli_world):
    run, ledger, fake, _clock = cli_world
    row_id = rows(ledger)["refused-1"]["id"]
    assert run("outbox", "retry", "--id", str(row_id)).exit_code == 0
    del fake.fail["refused-1"]
    # the CLI made it due by the wall clock: the relay runs after that
    relay(ledger, fake, Clock(datetime.now(UTC) + timedelta(minutes=1))).run_once()
    assert "refused-1" in fake.delivered
    assert rows(ledger)["refused-1"]["sent_at"] is not None
