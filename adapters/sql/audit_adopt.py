"""Keying the audit chains of a database, once (migration 0006, docs/audit.md).

A database written before 0006 has an administration chain hashed with plain SHA-256 and
ledger audit rows with no protection at all. Keying them, in one transaction:

- verifies the unkeyed administration chain and refuses to go on if it is broken (keying a
  tampered log would bless the tampering: restore it from a backup first);
- starts the ledger chain (position 0, derived from the key) and seals the existing ledger
  rows as they are, in id order;
- appends the first keyed administration row, ``audit.keyed``, chained onto the last unkeyed
  hash, recording the key's id, how many rows of each chain were keyed as found, and the
  last unkeyed hash. Its MAC makes the older rows as hard to rewrite as the newer ones.

Rows written before the keying are only as trustworthy as the database was until then;
``audit.keyed`` says how many there are. ``migrate`` keys a database as soon as it has the
schema; an administrative act or a seal on a database that was not keyed yet keys it first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from cites_connector.adapters.sql.audit_chain import KEYED, append_keyed, lock_chain, verify_legacy
from cites_connector.adapters.sql.audit_key import key_id
from cites_connector.adapters.sql.audit_ledger import start_chain
from cites_connector.adapters.sql.hs_schema import admin_audit
from cites_connector.domain.errors import ConnectorError


class AuditChainBroken(ConnectorError):
    """The unkeyed chain does not verify: keying it now would hide what was changed."""

    fault_code = "Server.Configuration"
    exit_code = 1


_a = admin_audit.c


def is_keyed(connection: Connection) -> bool:
    return connection.execute(select(_a.seq).where(_a.action == KEYED).limit(1)).first() is not None


def ensure_keyed(connection: Connection, key: bytes, at: datetime, actor: str = "migrate") -> bool:
    """Key both chains unless they are; True when they were keyed now."""
    if is_keyed(connection):
        return False
    lock_chain(connection)
    if is_keyed(connection):  # keyed by another process while we waited for the lock
        return False
    rows = list(connection.execute(select(admin_audit).order_by(_a.seq)).mappings())
    count, head, bad, problem = verify_legacy(rows)
    if bad is not None:
        raise AuditChainBroken(
            f"the administration audit log is broken at row {bad} ({problem}); "
            f"it is not keyed as it is: restore it from a backup, then run "
            f"cites-connector migrate again"
        )
    ledger_rows = start_chain(connection, key, at)
    append_keyed(
        connection,
        key,
        actor,
        KEYED,
        "audit chains",
        "the audit chains are keyed with HMAC-SHA-256 from here on",
        {
            "key_id": key_id(key),
            "legacy_rows": count,
            "legacy_head": head,
            "ledger_legacy_rows": ledger_rows,
        },
        at,
    )
    return True
