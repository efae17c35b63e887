"""Issue 9, item 10: the audit trails must not be rewritable by whoever can write the database.

Before the fix the administration log was chained with plain SHA-256: a database owner could
rewrite a row and recompute every later hash, and ``audit verify`` said "intact". The
ledger's own audit rows (one per decision, cancellation, permit event) were not chained at
all. Contract 9 (v2): both chains are keyed with HMAC-SHA-256 (``CONNECTOR_AUDIT_KEY_FILE``,
by default a key made in the data directory by the first ``migrate``, mode 0600); ``audit
verify`` checks every chain with the key, prints each chain's head and exits 1 naming the
first bad row. Each attack below is made the way a database owner would (triggers off, SQL),
then ``audit verify`` is run by the real command line.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cites_connector.adapters.sql.engine import make_engine
from cites_connector.cli.actor import os_account
from cites_connector.cli.main import cli
from tests.hostile.audit_kit import rows, sha256_json, tampering
from tests.hostile.ledger_dump import ledger_dump
from tests.samples import write_samples


class World:
    def __init__(self, tmp_path: Path, monkeypatch, database_url: str | None):
        self.data = tmp_path / "var"
        monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
        monkeypatch.setenv("CONNECTOR_DATA_DIR", str(self.data))
        monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
        monkeypatch.setenv("CONNECTOR_HS_ROLES", json.dumps({os_account(): "approver"}))
        monkeypatch.delenv("CONNECTOR_AUDIT_KEY_FILE", raising=False)
        if database_url:
            monkeypatch.setenv("CONNECTOR_DATABASE_URL", database_url)
        self.url = database_url or f"sqlite:///{self.data / 'connector.sqlite3'}"
        self.runner = CliRunner()
        self.migrated = self.run("migrate")
        assert self.migrated.exit_code == 0, self.migrated.output
        self.engine = make_engine(self.url)

    def run(self, *args: str):
        return self.runner.invoke(cli, list(args), catch_exceptions=False)

    def populate(self) -> None:
        """Admin rows (a draft, two edits) and ledger rows (permits, a clearance, a cancel)."""
        permits, sad = write_samples(self.data.parent / "samples")  # dated today: real clock
        assert self.run("permits", "import", str(permits)).exit_code == 0
        assert self.run("declarations", "clear", str(sad), "--id", "WDHA-1042").exit_code == 0
        assert self.run("declarations", "cancel", "WDHA-1042", "--reason", "x").exit_code == 0
        assert self.run("hs", "draft", "new", "--edition", "HS2022", "--reason", "a").exit_code == 0
        assert (
            self.run("hs", "draft", "add", "D1", "0106.20", "Salvator", "--reason", "b").exit_code
            == 0
        )
        assert (
            self.run(
                "hs", "draft", "remove", "D1", "010620", "--taxon", "Salvator", "--reason", "c"
            ).exit_code
            == 0
        )
        sealed = self.run("audit", "seal")
        assert sealed.exit_code == 0, sealed.output

    def verify(self, *args: str):
        return self.run("audit", "verify", *args)


@pytest.fixture(params=["sqlite", "postgres"])
def world(request, tmp_path, monkeypatch):
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    world = World(tmp_path, monkeypatch, url)
    world.populate()
    yield world
    world.engine.dispose()


def admin(world) -> list[dict]:
    return rows(world.engine, "admin_audit", "seq")


def ledger(world) -> list[dict]:
    return rows(world.engine, "audit_log", "id")


def line(result, chain: str) -> str:
    [found] = [ln for ln in result.output.splitlines() if ln.startswith(f"{chain} chain:")]
    return found


# -- the key -----------------------------------------------------------------------------------


def test_the_first_migrate_makes_a_private_key_and_says_to_keep_a_copy(tmp_path, monkeypatch):
    world = World(tmp_path, monkeypatch, None)
    key = world.data / "audit.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert len(bytes.fromhex(key.read_text().strip())) == 32
    assert "keep a copy" in world.migrated.output and str(key) in world.migrated.output
    again = world.run("migrate")
    assert "keep a copy" not in again.output and key.read_text().strip()  # made once


def test_an_intact_world_verifies_and_prints_both_heads(world):
    result = world.verify()
    assert result.exit_code == 0, result.output
    last_admin = admin(world)[-1]
    assert line(result, "administration") == (
        f"administration chain: intact, {len(admin(world))} row(s), head "
        f"{last_admin['hash']} (row {last_admin['seq']})"
    )
    assert line(result, "ledger").startswith(
        f"ledger chain: intact, {len(ledger(world))} row(s) sealed, 0 waiting, head "
    )


# -- the administration chain ------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("actor", "someone-else"),
        ("reason", "nothing"),
        ("details", '{"rows": []}'),
        ("action", "hs.noop"),
        ("at", "2020-01-01T00:00:00.000000+00:00"),
    ],
)
def test_rewriting_any_field_of_an_admin_row_is_detected(world, field, value):
    target = next(r for r in admin(world) if r["action"] == "hs.draft.row_added")
    with tampering(world.engine) as c:
        c.execute(
            text(f"UPDATE admin_audit SET {field} = :v WHERE seq = :s"),
            {"v": value, "s": target["seq"]},
        )
    result = world.verify()
    assert result.exit_code == 1
    assert line(result, "administration").startswith(
        f"administration chain: BROKEN at row {target['seq']}: "
    )


def test_rewriting_an_admin_row_and_recomputing_unkeyed_hashes_is_detected(world):
    """The old attack: change a row, then redo SHA-256 over it and every later row."""
    chain = admin(world)
    index = next(i for i, r in enumerate(chain) if r["action"] == "hs.draft.row_added")
    with tampering(world.engine) as c:
        prev = chain[index - 1]["hash"]
        for r in chain[index:]:
            fields = {k: r[k] for k in ("at", "actor", "action", "subject", "reason", "details")}
            if r is chain[index]:
                fields["actor"] = "someone-else"
            digest = sha256_json({**fields, "prev_hash": prev})
            c.execute(
                text("UPDATE admin_audit SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"a": fields["actor"], "p": prev, "h": digest, "s": r["seq"]},
            )
            prev = digest
    result = world.verify()
    assert result.exit_code == 1
    assert line(result, "administration").startswith(
        f"administration chain: BROKEN at row {chain[index]['seq']}: "
    )


def test_deleting_an_admin_row_is_detected(world):
    chain = admin(world)
    gone = next(r for r in chain if r["action"] == "hs.draft.row_added")
    with tampering(world.engine) as c:
        c.execute(text("DELETE FROM admin_audit WHERE seq = :s"), {"s": gone["seq"]})
    result = world.verify()
    assert result.exit_code == 1
    following = next(r for r in chain if r["seq"] > gone["seq"])
    assert line(result, "administration") == (
        f"administration chain: BROKEN at row {following['seq']}: row {following['seq']} "
        f"({following['action']} {following['subject']}) does not follow the row before it: "
        f"a row was removed, inserted or reordered"
    )


def test_reordering_admin_rows_is_detected(world):
    chain = admin(world)
    a, b = chain[-2], chain[-1]
    with tampering(world.engine) as c:
        c.execute(text("UPDATE admin_audit SET seq = -1 WHERE seq = :s"), {"s": a["seq"]})
        c.execute(
            text("UPDATE admin_audit SET seq = :t WHERE seq = :s"), {"t": a["seq"], "s": b["seq"]}
        )
        c.execute(text("UPDATE admin_audit SET seq = :t WHERE seq = -1"), {"t": b["seq"]})
    result = world.verify()
    assert result.exit_code == 1
    assert line(result, "administration").startswith(
        f"administration chain: BROKEN at row {a['seq']}: "
    )


# -- the ledger chain --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("actor", "someone-else"),
        ("action", "declaration.x"),
        ("subject", "WDHA-9999"),
        ("details", '{"usages": []}'),
        ("at", "2020-01-01 00:00:00.000000"),
    ],
)
def test_rewriting_any_field_of_a_ledger_audit_row_is_detected(world, field, value):
    target = next(r for r in ledger(world) if r["action"] == "declaration.decided")
    with tampering(world.engine) as c:
        c.execute(
            text(f"UPDATE audit_log SET {field} = :v WHERE id = :i"),
            {"v": value, "i": target["id"]},
        )
    result = world.verify()
    assert result.exit_code == 1
    assert line(result, "ledger").startswith(f"ledger chain: BROKEN at row {target['id']}: ")


def test_rewriting_a_ledger_row_with_an_unkeyed_hash_as_its_mac_is_detected(world):
    target = next(r for r in ledger(world) if r["action"] == "declaration.cancelled")
    forged = sha256_json(
        {
            "actor": "customs",
            "action": target["action"],
            "subject": target["subject"],
            "nonce": target["nonce"],
        }
    )
    with tampering(world.engine) as c:
        c.execute(
            text("UPDATE audit_log SET actor = 'customs', mac = :m WHERE id = :i"),
            {"m": forged, "i": target["id"]},
        )
    result = world.verify()
    assert result.exit_code == 1
    assert line(result, "ledger").startswith(f"ledger chain: BROKEN at row {target['id']}: ")


def test_deleting_a_sealed_ledger_row_is_detected(world):
    target = next(r for r in ledger(world) if r["action"] == "declaration.decided")
    with tampering(world.engine) as c:
        c.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": target["id"]})
    result = world.verify()
    assert result.exit_code == 1
    assert line(result, "ledger").startswith(f"ledger chain: BROKEN at row {target['id']}: ")
    assert "was deleted" in line(result, "ledger")


def test_reordering_sealed_ledger_rows_is_detected(world):
    first, second = ledger(world)[-2:]
    with tampering(world.engine) as c:
        c.execute(text("UPDATE audit_log SET id = -1 WHERE id = :i"), {"i": first["id"]})
        c.execute(
            text("UPDATE audit_log SET id = :t WHERE id = :i"),
            {"t": first["id"], "i": second["id"]},
        )
        c.execute(text("UPDATE audit_log SET id = :t WHERE id = -1"), {"t": second["id"]})
    result = world.verify()
    assert result.exit_code == 1
    assert line(result, "ledger").startswith(f"ledger chain: BROKEN at row {first['id']}: ")


def test_a_ledger_row_inserted_without_the_key_is_detected_and_never_sealed(world):
    with tampering(world.engine) as c:
        c.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, subject, details) VALUES "
                "('2026-11-28 10:00:00.000000', 'customs', 'declaration.cancelled', "
                "'WDHA-1042', '{}')"
            )
        )
        forged = c.execute(text("SELECT max(id) FROM audit_log")).scalar()
    result = world.verify()
    assert result.exit_code == 1
    assert line(result, "ledger").startswith(f"ledger chain: BROKEN at row {forged}: ")
    assert "no MAC" in line(result, "ledger")


def test_a_copy_of_a_keyed_ledger_row_is_detected(world):
    target = ledger(world)[-1]
    with tampering(world.engine) as c:
        if c.dialect.name == "sqlite":  # the constraint is part of the table: rebuild it
            c.execute(text("ALTER TABLE audit_log RENAME TO audit_log_old"))
            c.execute(
                text(
                    "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at DATETIME NOT "
                    "NULL, actor VARCHAR(128) NOT NULL, action VARCHAR(64) NOT NULL, "
                    "subject VARCHAR(200) NOT NULL, details JSON NOT NULL, "
                    "nonce VARCHAR(32), mac VARCHAR(64))"
                )
            )
            c.execute(
                text(
                    "INSERT INTO audit_log SELECT id, at, actor, action, subject, "
                    "details, nonce, mac FROM audit_log_old"
                )
            )
            c.execute(text("DROP TABLE audit_log_old"))
        else:
            c.execute(text("ALTER TABLE audit_log DROP CONSTRAINT uq_audit_log_mac"))
        c.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, subject, details, nonce, mac) "
                "SELECT at, actor, action, subject, details, nonce, mac FROM audit_log "
                "WHERE id = :i"
            ),
            {"i": target["id"]},
        )
        copy = c.execute(text("SELECT max(id) FROM audit_log")).scalar()
    result = world.verify()
    assert result.exit_code == 1
    assert line(result, "ledger").startswith(f"ledger chain: BROKEN at row {copy}: ")
    assert f"copy of row {target['id']}" in line(result, "ledger")


def test_removing_a_seal_is_detected(world):
    seals = rows(world.engine, "audit_log_seals", "position")
    middle = seals[len(seals) // 2]
    with tampering(world.engine) as c:
        c.execute(
            text("DELETE FROM audit_log_seals WHERE position = :p"), {"p": middle["position"]}
        )
    result = world.verify("--no-seal")
    assert result.exit_code == 1
    assert "ledger chain: BROKEN at row" in line(result, "ledger")


# -- the key again -----------------------------------------------------------------------------


def test_a_wrong_key_is_detected(world, tmp_path, monkeypatch):
    other = tmp_path / "other.key"
    other.write_text(os.urandom(32).hex() + "\n")
    other.chmod(0o600)
    monkeypatch.setenv("CONNECTOR_AUDIT_KEY_FILE", str(other))
    result = world.verify("--no-seal")
    assert result.exit_code == 1
    assert "BROKEN" in line(result, "administration") and "BROKEN" in line(result, "ledger")
    assert "not the key" in result.output


def test_a_key_file_others_may_read_is_refused(world):
    key = world.data / "audit.key"
    key.chmod(0o644)
    result = world.verify()
    assert result.exit_code == 2
    [error] = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert str(key) in error and "chmod 600" in error


def test_a_process_with_another_key_writes_nothing_and_migrate_makes_no_second_key(
    world, tmp_path, monkeypatch
):
    other = tmp_path / "other.key"
    other.write_text(os.urandom(32).hex() + "\n")
    other.chmod(0o600)
    monkeypatch.setenv("CONNECTOR_AUDIT_KEY_FILE", str(other))
    before = ledger_dump(world.engine)

    _, sad = write_samples(tmp_path / "samples")
    cleared = world.run("declarations", "clear", str(sad), "--id", "WDHA-2000")
    drafted = world.run("hs", "draft", "new", "--edition", "HS2022", "--reason", "x")

    for result in (cleared, drafted):
        assert result.exit_code == 2
        [error] = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
        assert error.startswith(f"error: the audit key file {other} (key id ")
        assert "is not the key this database's audit chains were made with" in error
    assert ledger_dump(world.engine) == before

    missing = tmp_path / "missing.key"
    monkeypatch.setenv("CONNECTOR_AUDIT_KEY_FILE", str(missing))
    migrated = world.run("migrate")
    assert migrated.exit_code == 2 and not missing.exists()
    assert f"the audit key file {missing} does not exist" in migrated.output
