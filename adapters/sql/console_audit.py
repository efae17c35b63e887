"""The newest records of both audit logs, for the console's operations page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.hs_schema import admin_audit
from cites_connector.adapters.sql.tables import audit_log
from cites_connector.adapters.sql.transactions import reading


@dataclass(frozen=True)
class AuditRow:
    chain: str
    number: int
    at: datetime | str
    actor: str
    action: str
    subject: str
    reason: str | None
    details: dict[str, object]


def latest_audit(engine: Engine, last: int = 50) -> list[AuditRow]:
    """The ``last`` newest records of the administration log and of the ledger log."""
    with reading(engine) as c:
        admin = [
            AuditRow(
                "administration",
                r["seq"],
                r["at"],
                r["actor"],
                r["action"],
                r["subject"],
                r["reason"],
                json.loads(r["details"]),
            )
            for r in c.execute(
                select(admin_audit).order_by(admin_audit.c.seq.desc()).limit(last)
            ).mappings()
        ]
        ledger = [
            AuditRow(
                "ledger",
                r["id"],
                utc(r["at"]),
                r["actor"],
                r["action"],
                r["subject"],
                None,
                r["details"],
            )
            for r in c.execute(
                select(audit_log).order_by(audit_log.c.id.desc()).limit(last)
            ).mappings()
        ]
    return admin + ledger
