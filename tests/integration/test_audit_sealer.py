"""The audit sealer ``serve`` runs, and ``serve``'s start-up check of the audit key."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import func, select

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.audit_checks import verify_chains
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
