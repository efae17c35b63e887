"""Tampering with the audit tables the way a database owner could, for the audit tests.

The tables are append-only by triggers; a tamperer with the database owner's rights switches
them off first (SQLite: drops them; PostgreSQL: ``DISABLE TRIGGER USER``), makes the change,
and puts them back, so that only the chains can tell.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, text

AUDIT_TABLES = ("admin_audit", "audit_log", "audit_log_seals")


@contextmanager
def tampering(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as c:
        if c.dialect.name == "postgresql":
            for table in AUDIT_TABLES:
                c.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            yield c
            for table in AUDIT_TABLES:
                c.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            return
        triggers = c.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
                "('admin_audit', 'audit_log', 'audit_log_seals')"
            )
        ).all()
        for name, _ in triggers:
            c.execute(text(f"DROP TRIGGER {name}"))
        yield c
        for _, sql in triggers:
            c.execute(text(sql))


def rows(engine: Engine, table: str, order: str) -> list[dict[str, Any]]:
    with engine.connect() as c:
        return [
            dict(r) for r in c.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).mappings()
        ]


def sha256_json(value: Any) -> str:
    """What an attacker without the key computes: the old unkeyed chain's hash."""
    body = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()
