"""deploy/backup: a ledger with real data, backed up and restored into a FRESH database, on
SQLite and on PostgreSQL; `cites-connector audit verify` passes on the copy and the permit
balances and the decision survive. Everything goes through the real commands.

The sample permits and declaration (examples/) are moved to today's date, keeping their
distances (the declaration 8 days after the first permit's issue...): the connector checks a
declaration date against the clock of the check, and the samples were written for 2026-11-28.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import tarfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.deploy.tools import DEPLOY, ROOT, connector_command, connector_env, postgres_bin, run

BACKUP = DEPLOY / "backup" / "cites-connector-backup"
RESTORE = DEPLOY / "backup" / "cites-connector-restore"
SAMPLE_DAY = date(2026, 11, 28)  # the registration date of examples/sad-export-WDHA-E1042.xml
DECLARATION = "WDHA-BACKUP-1"


def shifted_samples(directory: Path) -> tuple[Path, Path]:
    """examples/ moved by (today - the sample's day): every date in both files alike."""
    delta = datetime.now(UTC).date() - SAMPLE_DAY

    def iso(match: re.Match) -> str:
        return (date.fromisoformat(match.group(0)) + delta).isoformat()

    def dmy(match: re.Match) -> str:
        day = datetime.strptime(match.group(0), "%d/%m/%Y").date() + delta
        return day.strftime("%d/%m/%Y")

    permits = directory / "permits.json"
    permits.write_text(
        re.sub(r"\d{4}-\d\d-\d\d", iso, (ROOT / "examples" / "permits-namibia.json").read_text())
    )
    sad = directory / f"{DECLARATION}.xml"
    sad.write_text(
        re.sub(
            r"\b\d\d/\d\d/\d{4}\b",
            dmy,
            (ROOT / "examples" / "sad-export-WDHA-E1042.xml").read_text(),
        )
    )
    return permits, sad


def cli(env: dict, *args: str, expect: int = 0) -> str:
    done = run([connector_command(), *args], env)
    assert done.returncode == expect, f"cites-connector {' '.join(args)}: {done.stderr}"
    return done.stdout


def balances(env: dict) -> dict[str, list[str]]:
    return {
        number: [
            line["remaining"]
            for line in json.loads(cli(env, "permits", "show", number, "--json"))["lines"]
        ]
        for number in ("26NA000123", "26NA000131")
    }


def ledger_with_a_clearance(env: dict, work: Path) -> dict[str, list[str]]:
    permits, sad = shifted_samples(work)
    cli(env, "migrate")
    cli(env, "permits", "import", str(permits))
    cleared = json.loads(cli(env, "declarations", "clear", str(sad), "--id", DECLARATION, "--json"))
    assert cleared["decision"] == "CLEARED"
    before = balances(env)
    assert before == {"26NA000123": ["0"], "26NA000131": ["38"]}  # 12 kg of 50 written off
    return before


def backup(env: dict, out: Path, *extra: str) -> Path:
    done = run(["bash", str(BACKUP), "--out", str(out), *extra], env)
    assert done.returncode == 0, done.stderr
    archive = Path(done.stdout.strip().splitlines()[-1])
    assert archive.is_file() and archive.parent == out
    assert archive.stat().st_mode & 0o077 == 0  # it holds the audit key
    return archive


def restore(env: dict, archive: Path, *extra: str):
    return run(["bash", str(RESTORE), str(archive), *extra], env)


def assert_restored(env: dict, before: dict, sad: Path) -> None:
    verified = run([connector_command(), "audit", "verify"], env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ledger chain: intact" in verified.stdout
    assert balances(env) == before
    shown = json.loads(cli(env, "declarations", "show", DECLARATION, "--json"))
    assert shown["state"] == "CLEARED"
    # the stored decision came back too: the same declaration again writes nothing off twice
    again = json.loads(cli(env, "declarations", "clear", str(sad), "--id", DECLARATION, "--json"))
    assert again["repeated"] is True
    assert balances(env) == before


def members(archive: Path) -> set[str]:
    with tarfile.open(archive) as tar:
        return {Path(name).name for name in tar.getnames()}


# -- SQLite --------------------------------------------------------------------------------


def test_sqlite_backup_restores_into_a_fresh_file_and_verifies(tmp_path):
    source = connector_env(
        CONNECTOR_HOME_COUNTRY="NA",
        CONNECTOR_LOGGING__LEVEL="WARNING",
        CONNECTOR_DATA_DIR=str(tmp_path / "live"),
    )
    before = ledger_with_a_clearance(source, tmp_path)
    config = tmp_path / "etc"
    config.mkdir()
    (config / "connector.toml").write_text('home_country = "NA"\n')
    archive = backup(
        source,
        tmp_path / "backups",
        "--config-dir",
        str(config),
        "--rabbitmq-definitions",
        str(ROOT / "config" / "rabbitmq-definitions.json"),
    )
    assert members(archive) >= {
        "database.sqlite3",
        "audit.key",
        "connector.toml",
        "MANIFEST",
        "SHA256SUMS",
        "rabbitmq-definitions.json",
    }

    target = dict(source, CONNECTOR_DATA_DIR=str(tmp_path / "restored"))
    restored = restore(
        target, archive, "--config-to", str(tmp_path / "config-from-backup"), "--migrate"
    )
    assert restored.returncode == 0, restored.stderr
    assert "database at revision" in restored.stdout  # --migrate ran (nothing to do here)
    assert (tmp_path / "restored" / "audit.key").read_bytes() == (
        tmp_path / "live" / "audit.key"
    ).read_bytes()
    assert (tmp_path / "config-from-backup" / "connector.toml").is_file()
    assert_restored(target, before, tmp_path / f"{DECLARATION}.xml")


def test_sqlite_backup_is_consistent_while_another_connection_writes(tmp_path):
    """The online backup copies the last committed state: a transaction still open in another
    connection (serve, mid-clearance) is not in the copy, and does not block it."""
    source = connector_env(
        CONNECTOR_HOME_COUNTRY="NA",
        CONNECTOR_LOGGING__LEVEL="WARNING",
        CONNECTOR_DATA_DIR=str(tmp_path / "live"),
    )
    before = ledger_with_a_clearance(source, tmp_path)
    writer = sqlite3.connect(tmp_path / "live" / "connector.sqlite3", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE in_flight (x INTEGER)")
    try:
        archive = backup(source, tmp_path / "backups")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    target = dict(source, CONNECTOR_DATA_DIR=str(tmp_path / "restored"))
    assert restore(target, archive).returncode == 0
    copy = sqlite3.connect(tmp_path / "restored" / "connector.sqlite3")
    tables = {name for (name,) in copy.execute("SELECT name FROM sqlite_master")}
    copy.close()
    assert "in_flight" not in tables
    assert_restored(target, before, tmp_path / f"{DECLARATION}.xml")


def test_restore_refuses_a_damaged_backup_and_changes_nothing(tmp_path):
    source = connector_env(
        CONNECTOR_HOME_COUNTRY="NA",
        CONNECTOR_LOGGING__LEVEL="WARNING",
        CONNECTOR_DATA_DIR=str(tmp_path / "live"),
    )
    ledger_with_a_clearance(source, tmp_path)
    archive = backup(source, tmp_path / "backups")
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as tar, tarfile.open(damaged, "w") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read() if member.isfile() else None
            if member.name.endswith("database.sqlite3"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            out.addfile(member, None if data is None else io.BytesIO(data))
    target = dict(source, CONNECTOR_DATA_DIR=str(tmp_path / "restored"))
    refused = restore(target, damaged)
    assert refused.returncode == 2 and "checksums do not match" in refused.stderr
    assert not (tmp_path / "restored").exists()


def test_restore_never_writes_over_a_ledger_or_another_key(tmp_path):
    source = connector_env(
        CONNECTOR_HOME_COUNTRY="NA",
        CONNECTOR_LOGGING__LEVEL="WARNING",
        CONNECTOR_DATA_DIR=str(tmp_path / "live"),
    )
    ledger_with_a_clearance(source, tmp_path)
    archive = backup(source, tmp_path / "backups")
    live = tmp_path / "live" / "connector.sqlite3"
    kept = live.read_bytes()
    refused = restore(source, archive)  # into the live ledger itself
    assert refused.returncode == 2 and "exists" in refused.stderr
    assert live.read_bytes() == kept

    other = tmp_path / "other"
    other.mkdir()
    (other / "audit.key").write_text("c3" * 32 + "\n")
    (other / "audit.key").chmod(0o600)
    refused = restore(dict(source, CONNECTOR_DATA_DIR=str(other)), archive)
    assert refused.returncode == 2 and "another audit key" in refused.stderr
    assert not (other / "connector.sqlite3").exists()


def test_a_backup_without_its_key_restores_but_does_not_verify_with_another(tmp_path):
    """--no-key: the key lives only in the password safe. Restored next to a wrong key, the
    ledger is there but `audit verify` fails, and the restore says so (exit 1)."""
    source = connector_env(
        CONNECTOR_HOME_COUNTRY="NA",
        CONNECTOR_LOGGING__LEVEL="WARNING",
        CONNECTOR_DATA_DIR=str(tmp_path / "live"),
    )
    ledger_with_a_clearance(source, tmp_path)
    archive = backup(source, tmp_path / "backups", "--no-key")
    assert "audit.key" not in members(archive)
    target_dir = tmp_path / "restored"
    target_dir.mkdir()
    target = dict(source, CONNECTOR_DATA_DIR=str(target_dir))
    missing = restore(target, archive)
    assert missing.returncode == 2 and "holds no audit key" in missing.stderr
    (target_dir / "audit.key").write_text("d4" * 32 + "\n")
    (target_dir / "audit.key").chmod(0o600)
    restored = restore(target, archive)
    assert restored.returncode == 1 and "does not verify" in restored.stderr
    (target_dir / "audit.key").write_bytes((tmp_path / "live" / "audit.key").read_bytes())
    assert run([connector_command(), "audit", "verify"], target).returncode == 0


def test_retention_keeps_the_newest_backups(tmp_path):
    source = connector_env(
        CONNECTOR_HOME_COUNTRY="NA",
        CONNECTOR_LOGGING__LEVEL="WARNING",
        CONNECTOR_DATA_DIR=str(tmp_path / "live"),
    )
    cli(source, "migrate")
    out = tmp_path / "backups"
    out.mkdir()
    for day in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (out / f"cites-connector-{day}.tar").write_bytes(b"old")
    newest = backup(source, out, "--keep", "2")
    assert sorted(p.name for p in out.glob("cites-connector-*.tar")) == sorted(
        ["cites-connector-20260103T000000Z.tar", newest.name]
    )


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgresql_backup_restores_into_a_fresh_database_and_verifies(
    tmp_path, fresh_postgres_database
):
    live_url = fresh_postgres_database()
    source = connector_env(
        CONNECTOR_HOME_COUNTRY="NA",
        CONNECTOR_LOGGING__LEVEL="WARNING",
        CONNECTOR_DATA_DIR=str(tmp_path / "live"),
        CONNECTOR_DATABASE_URL=live_url,
        PG_BIN=postgres_bin(),
    )
    before = ledger_with_a_clearance(source, tmp_path)
    archive = backup(source, tmp_path / "backups")
    assert {"database.pgdump", "audit.key"} <= members(archive)

    fresh_url = fresh_postgres_database()
    target = dict(
        source, CONNECTOR_DATABASE_URL=fresh_url, CONNECTOR_DATA_DIR=str(tmp_path / "restored")
    )
    restored = restore(target, archive)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restored and verified" in restored.stderr
    assert_restored(target, before, tmp_path / f"{DECLARATION}.xml")

    # a database that is not fresh is refused, and left as it was
    again = restore(target, archive)
    assert again.returncode == 2 and "already holds" in again.stderr
    assert balances(target) == before
