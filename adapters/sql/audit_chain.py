"""The administration audit log: append-only, each row chained to the one before by a hash.

Each row stores ``prev_hash`` (the hash of the row before it; 64 zeros for the first) and
``hash = sha256(canonical JSON of the row's fields and prev_hash)``. Changing any field of a
row, removing a row or inserting one in the middle breaks the chain from that row on, and
``cites-connector audit verify`` reports the first broken row. The chain cannot show that the
newest rows were cut off: ``verify`` prints the head hash so that an administrator can record
it elsewhere (a ticket, an e-mail) and compare later.

Appends are serialised: SQLite writers already are (BEGIN IMMEDIATE), PostgreSQL takes an
EXCLUSIVE lock on the table for the transaction; a unique ``prev_hash`` makes a fork
impossible even so.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, insert, select

from adapters.sql.hs_schema import admin_audit, hs_version_rows, hs_versions
from connector.domain.hs_admin_csv import rows_digest
from connector.domain.hs_tables import HsRow

GENESIS = "0" * 64
_a = admin_audit.c


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def row_hash(*, at: str, actor: str, action: str, subject: str, reason: str | None,
             details: str, prev_hash: str) -> str:
    body = canonical_json({"at": at, "actor": actor, "action": action, "subject": subject,
                           "reason": reason, "details": details, "prev_hash": prev_hash})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _at(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def append(connection: Connection, actor: str, action: str, subject: str, reason: str | None,
           details: dict[str, Any], at: datetime) -> str:
    """Append one record in the caller's transaction; returns its hash."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE admin_audit IN EXCLUSIVE MODE")
    prev = connection.execute(
        select(_a.hash).order_by(_a.seq.desc()).limit(1)).scalar() or GENESIS
    fields = {"at": _at(at), "actor": actor, "action": action, "subject": subject,
              "reason": reason, "details": canonical_json(details)}
    digest = row_hash(**fields, prev_hash=prev)
    connection.execute(insert(admin_audit).values(**fields, prev_hash=prev, hash=digest))
    return digest


@dataclass(frozen=True)
class Verification:
    rows: int
    head: str
    #: the first broken row's sequence number and what is wrong; None when all is well
    broken_at: int | None = None
    problem: str | None = None
    #: published versions whose rows no longer match the digest stored at publication
    tampered_versions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.broken_at is None and not self.tampered_versions


def verify(connection: Connection) -> Verification:
    """Walk the chain from the first row; stop at the first row that does not verify."""
    expected_prev, count = GENESIS, 0
    for row in connection.execute(select(admin_audit).order_by(_a.seq)).mappings():
        count += 1
        if row["prev_hash"] != expected_prev:
            return Verification(count, expected_prev, row["seq"], (
                f"row {row['seq']} ({row['action']} {row['subject']}) does not follow the row "
                f"before it: a row was removed, inserted or reordered"))
        recomputed = row_hash(at=row["at"], actor=row["actor"], action=row["action"],
                              subject=row["subject"], reason=row["reason"],
                              details=row["details"], prev_hash=row["prev_hash"])
        if recomputed != row["hash"]:
            return Verification(count, expected_prev, row["seq"], (
                f"row {row['seq']} ({row['action']} {row['subject']}) was changed after it was "
                f"written: its content no longer matches its hash"))
        expected_prev = row["hash"]
    return Verification(count, expected_prev, tampered_versions=_tampered_versions(connection))


def _tampered_versions(connection: Connection) -> tuple[str, ...]:
    rows: dict[int, list[HsRow]] = {}
    for r in connection.execute(select(hs_version_rows)).mappings():
        rows.setdefault(r["version_id"], []).append(
            HsRow(r["hs_prefix"], r["taxon"], frozenset(r["terms"].split()), r["note"]))
    bad = []
    for v in connection.execute(select(hs_versions).order_by(hs_versions.c.id)).mappings():
        if rows_digest(rows.get(v["id"], ())) != v["rows_digest"]:
            bad.append(f"{v['edition']}/{v['number']}")
    return tuple(bad)
