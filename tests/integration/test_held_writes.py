"""A clearance's rows travel with its COMMIT on PostgreSQL (pipeline.py ``HeldWrites``): a row
the database refuses there still fails the whole clearance, as it did when sent alone.

Each case runs on SQLite too, where the rows are sent at once: the outcome must be the same.
Every failure leaves the ledger as it was (a full dump) and the permit's quantity untouched,
and the next clearance on the same ledger goes through.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import text

from cites_connector.adapters.sql.pipeline import can_pipeline
from cites_connector.app import build_services
from cites_connector.domain.decisions import DeclarationDecision
from cites_connector.domain.errors import Unavailable, UnstorableValue
from cites_connector.domain.permits import ConsignmentPolicy
from cites_connector.services.ports import DuplicateDecision
from tests.hostile.ledger_dump import ledger_dump
from tests.integration.kit import (
    Clock,
    export,
    outbox,
    permit,
    python_item,
    pythons,
    remaining,
    rulebook,
)


def _clearance(ledger, new_id: Callable[[], str] | None = None, max_attempts: int = 8):
    built = build_services(
        ledger,
        rulebook(),
        clock=Clock(),
        new_id=new_id or (lambda: str(uuid.uuid4())),
    )
    built.clearance.max_attempts = max_attempts
    built.permits.apply(permit("P1", pythons(40), policy=ConsignmentPolicy.MULTIPLE))
    return built.clearance


def _held_here(ledger) -> bool:
    """On PostgreSQL the rows are held until the commit: the case tests the pipeline."""
    with ledger.engine.connect() as connection:
        return can_pipeline(connection)


def _usages(ledger, declaration_id: str) -> int:
    with ledger.engine.connect() as c:
        query = text("SELECT count(*) FROM usages WHERE declaration_id = :d")
        return int(c.execute(query, {"d": declaration_id}).scalar_one())


@pytest.mark.postgres
def test_a_value_too_long_for_its_column_stores_nothing_and_draws_nothing(postgres_url):
    """(SQLite does not enforce a column's length.) The audit row, the last of the held rows,
    is refused: the usages, decision, declaration and outbox rows sent before it in the same
    round trip, and the write-off itself, are rolled back with it."""
    from tests.conftest import _sql_ledger

    sql_ledger = _sql_ledger(postgres_url)
    clearance = _clearance(sql_ledger)
    assert _held_here(sql_ledger)
    before = ledger_dump(sql_ledger.engine)
    declaration = export(python_item(1, 10, "P1"))
    with pytest.raises(UnstorableValue) as refused:  # the audit row's actor: the last row
        clearance.clear("D1", 1, declaration, actor="a" * 200, endorsed_by="customs")
    assert refused.value.message == (
        "a value is too long or out of range for the ledger: "
        "value too long for type character varying(128)"
    )
    assert ledger_dump(sql_ledger.engine) == before
    assert remaining(sql_ledger, "P1") == 40
    outcome = clearance.clear("D1", 1, declaration)
    assert outcome.decision.decision is DeclarationDecision.CLEARED
    assert remaining(sql_ledger, "P1") == 30
    sql_ledger.engine.dispose()


def test_a_usage_id_taken_already_is_a_lost_race_decided_again(sql_ledger):
    """A unique violation of a usage (as a concurrent decision of the same item would cause)
    rolls the attempt back and the next attempt, with fresh ids, goes through: one write-off."""
    fresh = (str(uuid.uuid4()) for _ in itertools.count())
    scripted = iter(["taken", "D1-event", "taken"])  # D1's usage; D1's event; D2's first usage
    clearance = _clearance(sql_ledger, lambda: next(scripted, None) or next(fresh))
    clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
    outcome = clearance.clear("D2", 1, export(python_item(1, 5, "P1")))
    assert outcome.decision.decision is DeclarationDecision.CLEARED
    assert remaining(sql_ledger, "P1") == 25
    assert _usages(sql_ledger, "D2") == 1
    assert len(outbox(sql_ledger)) == 4  # each clearance's usage and decision, once


def test_an_outbox_message_id_taken_already_is_refused_and_stores_nothing(sql_ledger):
    """A unique violation of a row that is not a lost race (the outbox's message id) is
    refused as unstorable, as it was when the row was sent alone."""
    clearance = _clearance(sql_ledger, itertools.repeat("same-id").__next__)
    clearance.clear("D1", 1, export(python_item(1, 50, "P1")))  # held: one event, no usage
    before = ledger_dump(sql_ledger.engine)
    with pytest.raises(UnstorableValue) as refused:
        clearance.clear("D2", 1, export(python_item(1, 60, "P1")))
    assert refused.value.message == "a value breaks a rule of the ledger (a constraint)"
    assert ledger_dump(sql_ledger.engine) == before


def test_a_newer_version_stored_meanwhile_fails_the_declaration_row(sql_ledger):
    """The declaration's row never moves back to an older version: a newer one stored behind
    the lock's back (here by hand, without its decision) makes the held upsert fail in the
    server, read as a lost race (retried, then raised), and nothing of the clearance stays."""
    clearance = _clearance(sql_ledger, max_attempts=2)
    with sql_ledger.engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO declarations (declaration_id, latest_version, state, updated_at)"
                " VALUES ('D9', 5, 'CLEARED', CURRENT_TIMESTAMP)"
            )
        )
    before = ledger_dump(sql_ledger.engine)
    with pytest.raises(DuplicateDecision):
        clearance.clear("D9", 1, export(python_item(1, 10, "P1")))
    assert ledger_dump(sql_ledger.engine) == before
    assert remaining(sql_ledger, "P1") == 40


@pytest.mark.postgres
def test_the_database_gone_during_the_commit_is_unavailable_and_stores_nothing(postgres_url):
    """The server ends the clearance's session while it runs the held rows (a trigger ends
    its own backend on the audit row): ``Unavailable``, nothing stored, quantity untouched."""
    from tests.conftest import _sql_ledger

    ledger = _sql_ledger(postgres_url)
    try:
        clearance = _clearance(ledger)
        assert _held_here(ledger)
        before = ledger_dump(ledger.engine)
        with ledger.engine.begin() as c:
            c.execute(
                text(
                    "CREATE FUNCTION gone() RETURNS trigger LANGUAGE plpgsql AS"
                    " $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$"
                )
            )
            c.execute(
                text(
                    "CREATE TRIGGER gone BEFORE INSERT ON audit_log"
                    " FOR EACH ROW EXECUTE FUNCTION gone()"
                )
            )
        with pytest.raises(Unavailable):
            clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
        with ledger.engine.begin() as c:
            c.execute(text("DROP TRIGGER gone ON audit_log"))
            c.execute(text("DROP FUNCTION gone()"))
        assert ledger_dump(ledger.engine) == before
        assert remaining(ledger, "P1") == 40
        outcome = clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
        assert outcome.decision.decision is DeclarationDecision.CLEARED
        assert remaining(ledger, "P1") == 30
    finally:
        ledger.engine.dispose()
