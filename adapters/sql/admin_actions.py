"""Recording an operator's act in the administration audit log, in a transaction of its own.

For administrative verbs whose work is not a ledger transaction (``dlq replay`` republishes
over RabbitMQ): the record is committed before the work starts, so that an act that fails
half-way still says who started it (contract 7, v2).

The transaction is transactions.py's, so its errors mean what every other transaction's mean:
``Unavailable`` (exit 3) when the database is out of reach, ``UnstorableValue`` (exit 2) for a
value it refuses (a subject longer than its column), and ``AuditChainConflict`` (exit 1) for a
record that would fork the chain (audit_chain.py). In each case nothing is recorded, and the
caller does not start the act.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from cites_connector.adapters.sql import audit_chain
from cites_connector.adapters.sql.transactions import writing


def record_admin_action(
    engine: Engine,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any],
    at: datetime,
    reason: str | None = None,
) -> None:
    with writing(engine) as connection:
        audit_chain.append(connection, actor, action, subject, reason, details, at)
