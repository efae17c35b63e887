"""Issue 9, item 10: databases written before the audit chains were keyed.

A database at revision 0004 has an administration log chained with plain SHA-256 and ledger
audit rows with no protection. ``migrate`` keys both (adapters/sql/audit_adopt.py): the old
rows are taken as they are, the first keyed record (``audit.keyed``) is chained onto the
last unkeyed hash, and from then on rewriting an old row is detected like rewriting a new
one. A log that is already broken is not keyed (that would bless the tampering): ``migrate``
refuses and changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cites_connector.adapters.sql import audit_chain
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.migrate import current, upgrade
from cites_connector.cli.main import cli
from tests.hostile.audit_kit import rows, sha256_json, tampering
from tests.hostile.ledger_dump import ledger_dump

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def old_database(tmp_path, monkeypatch):
    """A SQLite ledger at 0004 with three old ledger audit rows and two admin rows."""
    data = tmp_path / "var"
    url = f"sqlite:///{data / 'connector.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine, "0004")
    with engine.begin() as c:  # the 0004 columns only: no nonce, no MAC
        for n in range(3):
            c.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, subject, details) "
                    "VALUES (:at, 'customs', 'declaration.decided', :s, :d)"
                ),
                {"at": "2026-11-20 08:00:00.000000", "s": f"OLD-{n}", "d": json.dumps({"n": n})},
            )
        audit_chain.append_legacy(c, "ana", "hs.draft.created", "D1", "old", {"rows": 1}, AT)
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(data))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    monkeypatch.delenv("CONNECTOR_AUDIT_KEY_FILE", raising=False)
    runner = CliRunner()
    yield engine, (lambda *args: runner.invoke(cli, list(args), catch_exceptions=False))
    engine.dispose()


def test_migrate_keys_an_old_database_and_its_old_rows_are_protected_from_then_on(old_database):
    engine, run = old_database
    assert run("migrate").exit_code == 0
    keyed = rows(engine, "admin_audit", "seq")[-1]
    assert keyed["action"] == "audit.keyed"
    details = json.loads(keyed["details"])
    assert (details["legacy_rows"], details["ledger_legacy_rows"]) == (2, 3)
    verified = run("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "ledger chain: intact, 3 row(s) sealed, 0 waiting" in verified.output

    old = rows(engine, "audit_log", "id")[1]
    with tampering(engine) as c:
        c.execute(
            text("UPDATE audit_log SET actor = 'someone-else' WHERE id = :i"), {"i": old["id"]}
        )
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert f"ledger chain: BROKEN at row {old['id']}: " in result.output


def test_an_old_admin_row_rewritten_with_recomputed_sha256_after_keying_is_detected(old_database):
    engine, run = old_database
    assert run("migrate").exit_code == 0
    chain = rows(engine, "admin_audit", "seq")
    keyed_at = next(i for i, r in enumerate(chain) if r["action"] == "audit.keyed")
    with tampering(engine) as c:  # rewrite the old rows' actor, redo their unkeyed hashes
        prev = "0" * 64
        for r in chain[:keyed_at]:
            fields = {
                k: r[k] for k in ("at", "actor", "action", "subject", "reason", "details")
            } | {"actor": "someone-else"}
            digest = sha256_json({**fields, "prev_hash": prev})
            c.execute(
                text("UPDATE admin_audit SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"a": "someone-else", "p": prev, "h": digest, "s": r["seq"]},
            )
            prev = digest
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert (
        f"administration chain: BROKEN at row {chain[keyed_at]['seq']}: row "
        f"{chain[keyed_at]['seq']} (audit.keyed audit chains) does not follow the row "
        f"before it"
    ) in result.output


def test_an_old_log_already_broken_is_not_keyed_and_migrate_changes_nothing(old_database):
    engine, run = old_database
    first = rows(engine, "admin_audit", "seq")[0]
    with engine.begin() as c:  # at 0004 the triggers exist already for admin_audit
        c.execute(text("DROP TRIGGER admin_audit_no_update"))
        c.execute(
            text("UPDATE admin_audit SET actor = 'someone-else' WHERE seq = :s"),
            {"s": first["seq"]},
        )
    before = ledger_dump(engine)

    result = run("migrate")

    assert result.exit_code == 1
    [error] = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert error.startswith(f"error: the administration audit log is broken at row {first['seq']} ")
    assert "restore it from a backup" in error
    assert current(engine) == "0004" and ledger_dump(engine) == before
