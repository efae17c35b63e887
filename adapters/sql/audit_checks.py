"""Sealing and verifying the audit chains of a database: what ``serve``'s sealer and the
``audit seal|verify`` commands call, with the key the engine carries (audit_key.py).

Their transactions are transactions.py's, so a database out of reach is ``Unavailable``
(exit 3), as for every other command, and any other database error means what it means there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from cites_connector.adapters.sql import audit_chain, audit_ledger_verify
from cites_connector.adapters.sql.audit_adopt import AuditChainBroken, ensure_keyed
from cites_connector.adapters.sql.audit_chain import (
    AuditChainConflict,
    keying_record,
    recorded_key_id,
)
from cites_connector.adapters.sql.audit_key import AuditKeyError, checked_key, key_id, key_source
from cites_connector.adapters.sql.audit_ledger import BATCH, Sealed, seal_batch
from cites_connector.adapters.sql.audit_report import AuditReport
from cites_connector.adapters.sql.hs_digests import tampered_versions
from cites_connector.adapters.sql.transactions import reading, writing
from cites_connector.domain.errors import Unavailable


def utc_now() -> datetime:
    return datetime.now(UTC)


def _key(engine: Engine) -> bytes:
    source = key_source(engine)
    if source is None:
        raise AuditKeyError("no audit key for this database (CONNECTOR_AUDIT_KEY_FILE)")
    return source.load()


def check_audit_key(engine: Engine) -> bytes:
    """At start-up (``serve``): the key file must be there and readable by this account
    (AuditKeyError otherwise), and be the database's key when the database can be asked
    now; a database that cannot be reached is not a reason to refuse to start."""
    key = _key(engine)
    try:
        with reading(engine) as connection:
            checked_key(connection, recorded_key_id)
    except Unavailable:
        pass
    return key


def seal_ledger(
    engine: Engine, *, full: bool = False, clock: Callable[[], datetime] = utc_now
) -> Sealed:
    """Seal every ledger audit row not sealed yet, a batch per transaction (short ones: the
    sealer never holds up a clearance); stops at a row it cannot vouch for."""
    total = Sealed()
    while True:
        with writing(engine) as connection:
            key = checked_key(connection, recorded_key_id)
            if key is None:
                raise AuditKeyError("no audit key for this database (CONNECTOR_AUDIT_KEY_FILE)")
            ensure_keyed(connection, key, clock(), "seal")
            done = seal_batch(connection, key, clock(), full=full)
        total.rows += done.rows
        total.head, total.position = done.head or total.head, done.position
        total.stopped_at, total.problem = done.stopped_at, done.problem
        if done.problem is not None or len(done.rows) < BATCH:
            return total


def verify_chains(engine: Engine, *, seal: bool = True) -> AuditReport:
    """Both chains and the HS table digests, read in one read-only transaction.

    With ``seal`` every row written so far is sealed first (a full pass), so the reported
    ledger head covers it; a row the sealer refuses is then named by the walk."""
    key = _key(engine)
    notes: list[str] = []
    if seal:
        try:
            sealed = seal_ledger(engine, full=True)
            if sealed.rows:
                notes.append(f"sealed {len(sealed.rows)} ledger audit row(s) first")
        except (AuditKeyError, AuditChainBroken, AuditChainConflict) as exc:
            notes.append(f"not sealed: {exc.message}")
    with reading(engine) as connection:
        administration = audit_chain.verify(connection, key)
        record = keying_record(connection) or {}
        ledger = audit_ledger_verify.verify(
            connection, key, int(record.get("ledger_legacy_rows") or 0)
        )
        tampered = tampered_versions(connection)
    return AuditReport(administration, ledger, tampered, key_id(key), tuple(notes))
