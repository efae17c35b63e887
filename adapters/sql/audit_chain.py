"""The administration audit log: append-only, each row chained to the one before by an HMAC.

Each row stores ``prev_hash`` (the link of the row before it) and ``hash`` =
HMAC-SHA-256(audit key, canonical JSON of its fields and ``prev_hash``) (contract 9, v2).
Changing any field, removing a row or putting one in the middle breaks the chain at that row,
and without the key nobody can recompute it. ``audit verify`` reports the first broken row
and prints the head, which an administrator records elsewhere: no chain can show that its
newest rows were cut off.

Appends are serialised (PostgreSQL: an EXCLUSIVE lock on the table for the transaction;
SQLite serialises writers anyway): administrative acts are rare, and a unique ``prev_hash``
makes a fork impossible even so: a record that would fork the chain (it can only follow a row
added by hand, or a writer that did not take the lock) is refused as ``AuditChainConflict``
and the act it records is not done. The ledger's own audit rows, written by every clearance,
are chained differently, without a global lock (audit_ledger.py).

Rows written before the chain was keyed (migration 0003 to 0007) carry plain SHA-256
hashes. The first keyed row, ``audit.keyed``, is chained onto them: its MAC covers the last
unkeyed hash, so from then on the older rows cannot be recomputed either, and ``verify``
checks them as a plain SHA-256 chain ending exactly there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from cites_connector.adapters.sql.audit_key import AuditKeyError, checked_key, key_id
from cites_connector.adapters.sql.audit_mac import canonical_json, iso_utc, mac, same, sha256_json
from cites_connector.adapters.sql.audit_report import ChainReport
from cites_connector.adapters.sql.codec import Row
from cites_connector.adapters.sql.hs_schema import admin_audit
from cites_connector.domain.errors import ConnectorError

GENESIS = "0" * 64
#: the first keyed row: everything before it was hashed without a key
KEYED = "audit.keyed"
CHAIN = "administration"
_a = admin_audit.c
_FIELDS = ("at", "actor", "action", "subject", "reason", "details")


class AuditChainConflict(ConnectorError):
    """A record would fork the administration chain (the unique ``prev_hash`` refused it):
    the log is not what the connector wrote, so no act is recorded, nor done, on top of it."""

    fault_code = "Server.Configuration"
    exit_code = 1


def _fields(
    actor: str, action: str, subject: str, reason: str | None, details: dict[str, Any], at: datetime
) -> dict[str, Any]:
    return {
        "at": iso_utc(at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "reason": reason,
        "details": canonical_json(details),
    }


def row_hash(key: bytes, fields: Row, prev_hash: str) -> str:
    return mac(key, "admin-row", {**{f: fields[f] for f in _FIELDS}, "prev_hash": prev_hash})


def legacy_hash(fields: Row, prev_hash: str) -> str:
    return sha256_json({**{f: fields[f] for f in _FIELDS}, "prev_hash": prev_hash})


def lock_chain(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE admin_audit IN EXCLUSIVE MODE")


def last_link(connection: Connection) -> str:
    return connection.execute(select(_a.hash).order_by(_a.seq.desc()).limit(1)).scalar() or GENESIS


def keying_record(connection: Connection) -> dict[str, Any] | None:
    """The details of the ``audit.keyed`` row (None: the chains are not keyed yet)."""
    details = connection.execute(
        select(_a.details).where(_a.action == KEYED).order_by(_a.seq).limit(1)
    ).scalar()
    return None if details is None else json.loads(details)


def recorded_key_id(connection: Connection) -> str | None:
    """The id of the key the chains were keyed with (None: not keyed yet)."""
    record = keying_record(connection)
    return None if record is None else record.get("key_id")


def append_legacy(
    connection: Connection,
    actor: str,
    action: str,
    subject: str,
    reason: str | None,
    details: dict[str, Any],
    at: datetime,
) -> str:
    """An unkeyed row, as written before 0006: only migration 0003 (seeding) writes one,
    so that a new database starts exactly as an upgraded one."""
    lock_chain(connection)
    prev = last_link(connection)
    fields = _fields(actor, action, subject, reason, details, at)
    digest = legacy_hash(fields, prev)
    connection.execute(insert(admin_audit).values(**fields, prev_hash=prev, hash=digest))
    return digest


def append_keyed(
    connection: Connection,
    key: bytes,
    actor: str,
    action: str,
    subject: str,
    reason: str | None,
    details: dict[str, Any],
    at: datetime,
) -> str:
    prev = last_link(connection)
    fields = _fields(actor, action, subject, reason, details, at)
    digest = row_hash(key, fields, prev)
    try:
        connection.execute(insert(admin_audit).values(**fields, prev_hash=prev, hash=digest))
    except IntegrityError as exc:
        raise AuditChainConflict(
            "the administration audit log already has a record after its newest link (a "
            "row added by hand?): nothing was recorded or done; run cites-connector audit "
            "verify"
        ) from exc
    return digest


def append(
    connection: Connection,
    actor: str,
    action: str,
    subject: str,
    reason: str | None,
    details: dict[str, Any],
    at: datetime,
) -> str:
    """Append one record in the caller's transaction; returns its link.

    The chains are keyed first if they are not yet (audit_adopt.py), so that the first
    administrative act on a database migrated without the key still starts a keyed chain."""
    from cites_connector.adapters.sql.audit_adopt import ensure_keyed

    key = checked_key(connection, recorded_key_id)
    if key is None:
        raise AuditKeyError(
            "no audit key for this database connection: administrative acts "
            "are recorded only in the keyed chain (CONNECTOR_AUDIT_KEY_FILE)"
        )
    lock_chain(connection)
    ensure_keyed(connection, key, at, actor)
    return append_keyed(connection, key, actor, action, subject, reason, details, at)


def _describe(row: Row) -> str:
    return f"row {row['seq']} ({row['action']} {row['subject']})"


def verify_legacy(rows: Iterable[Row]) -> tuple[int, str, int | None, str | None]:
    """(rows, head, first bad seq, problem) of an unkeyed chain."""
    expected, count = GENESIS, 0
    for row in rows:
        count += 1
        if row["prev_hash"] != expected:
            return (
                count,
                expected,
                row["seq"],
                (
                    f"{_describe(row)} does not follow the row "
                    f"before it: a row was removed, inserted or "
                    f"reordered"
                ),
            )
        if not same(legacy_hash(row, row["prev_hash"]), row["hash"]):
            return (
                count,
                expected,
                row["seq"],
                (
                    f"{_describe(row)} does not match its hash "
                    f"(written before the chain was keyed): it "
                    f"was changed"
                ),
            )
        expected = row["hash"]
    return count, expected, None, None


def verify(connection: Connection, key: bytes) -> ChainReport:
    """Walk the chain from the first row; stop at the first row that does not verify."""
    rows = list(connection.execute(select(admin_audit).order_by(_a.seq)).mappings())
    start = next((i for i, r in enumerate(rows) if r["action"] == KEYED), None)

    def broken(count: int, head: str, row: Row, problem: str) -> ChainReport:
        return ChainReport(CHAIN, count, head, f"row {row['seq']}", row["seq"], problem)

    legacy = rows if start is None else rows[:start]
    count, head, bad, problem = verify_legacy(legacy)
    if bad is not None:
        return ChainReport(CHAIN, count, head, f"row {bad}", bad, problem)
    if start is None:
        return ChainReport(
            CHAIN,
            count,
            head,
            f"row {rows[-1]['seq']}" if rows else "empty",
            rows[-1]["seq"] if rows else 0,
            "the chain has no audit.keyed record: it was never keyed (run "
            "cites-connector migrate) or its keyed rows were removed",
        )
    for row in rows[start:]:
        count += 1
        if row["prev_hash"] != head:
            return broken(
                count,
                head,
                row,
                f"{_describe(row)} does not follow the row before "
                f"it: a row was removed, inserted or reordered",
            )
        if not same(row_hash(key, row, row["prev_hash"]), row["hash"]):
            problem = (
                f"{_describe(row)} does not match its MAC: it was changed after it was "
                f"written, or the audit key is not the one it was written with"
            )
            if row["action"] == KEYED:
                recorded = json.loads(row["details"]).get("key_id")
                if recorded != key_id(key):
                    problem += (
                        f" (the key in use, id {key_id(key)}, is not the key the chains "
                        f"were made with, id {recorded})"
                    )
            return broken(count, head, row, problem)
        head = row["hash"]
    last = rows[-1]
    return ChainReport(CHAIN, count, head, f"row {last['seq']}")
