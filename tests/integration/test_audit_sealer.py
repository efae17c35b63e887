"""The audit sealer ``serve`` runs, and ``serve``'s start-up check of the audit key."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import event, func, select

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.audit_checks import seal_ledger, verify_chains
from cites_connector.adapters.sql.audit_ledger import COPIES_CHUNK, _copies_of_sealed
from cites_connector.adapters.sql.audit_sealer import AuditSealWorker
from cites_connector.cli.main import cli

AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def sealed(engine) -> int:
    with engine.connect() as c:
        return c.execute(
            select(func.count())
            .select_from(t.audit_log_seals)
            .where(t.audit_log_seals.c.row_id.is_not(None))
        ).scalar()


def test_the_sealer_links_new_ledger_audit_rows_while_it_runs(sql_ledger):
    worker = AuditSealWorker(sql_ledger.engine, interval=0.05, clock=lambda: datetime.now(UTC))
    worker.start()
    try:
        for n in range(5):
            with sql_ledger.transaction() as session:
                session.audit.record("customs", "declaration.decided", f"D-{n}", {"n": n}, AT)
        deadline = time.monotonic() + 10
        while sealed(sql_ledger.engine) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert sealed(sql_ledger.engine) == 5
    report = verify_chains(sql_ledger.engine, seal=False)
    assert report.ok and (report.ledger.sealed, report.ledger.waiting) == (5, 0)


def write_audit_rows(ledger, count: int, first: int) -> None:
    with ledger.transaction() as session:
        for n in range(first, first + count):
            session.audit.record("customs", "declaration.decided", f"D-{n}", {"n": n}, AT)


def test_the_sealer_sends_the_same_statements_whatever_the_number_of_rows(sql_ledger):
    """Each distinct statement text stays prepared in the driver's statement cache of every
    pooled connection: a text that varied with the number of rows sealed (an IN list as long
    as the batch) grew the serving process by megabytes under load (bench/README.md)."""
    engine = sql_ledger.engine
    seal_ledger(engine, full=True)
    texts: list[str] = []

    def sent(_conn, _cursor, statement, _parameters, _context, _many) -> None:
        texts.append(statement)

    written = 0
    per_pass: dict[int, set[str]] = {}
    for rows in (1, 2, 7, COPIES_CHUNK - 1, COPIES_CHUNK + 1, 2 * COPIES_CHUNK + 37):
        write_audit_rows(sql_ledger, rows, written)
        written += rows
        event.listen(engine, "before_cursor_execute", sent)
        try:
            done = seal_ledger(engine)
        finally:
            event.remove(engine, "before_cursor_execute", sent)
        assert len(done.rows) == rows and done.problem is None
        per_pass[rows] = set(texts)
        texts.clear()
    assert all(found == per_pass[1] for found in per_pass.values()), {
        rows: found - per_pass[1] for rows, found in per_pass.items()
    }
    report = verify_chains(engine, seal=False)
    assert report.ok and (report.ledger.sealed, report.ledger.waiting) == (written, 0)


def test_copies_of_sealed_rows_are_found_in_every_chunk(sql_ledger):
    count = 2 * COPIES_CHUNK + 5
    write_audit_rows(sql_ledger, count, 0)
    seal_ledger(sql_ledger.engine, full=True)
    with sql_ledger.engine.connect() as c:
        by_mac = dict(c.execute(select(t.audit_log.c.mac, t.audit_log.c.id)).all())
        macs = list(by_mac)
        asked = [*macs[:3], "0" * 64, *macs, macs[-1], "f" * 64]
        assert _copies_of_sealed(c, asked) == by_mac
        assert _copies_of_sealed(c, ["0" * 64]) == {}
        assert _copies_of_sealed(c, []) == {}


def test_serve_refuses_to_start_without_the_audit_key(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_SOAP_AUTH", "off")
    monkeypatch.delenv("CONNECTOR_AUDIT_KEY_FILE", raising=False)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    [error] = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert f"the audit key file {tmp_path / 'var' / 'audit.key'} does not exist" in error
    assert "cites-connector migrate makes one" in error
