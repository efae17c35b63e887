"""Recording an operator's act in the administration audit log, in a transaction of its own.

For administrative verbs whose work is not a ledger transaction (``dlq replay`` republishes
over RabbitMQ): the record is committed before the work starts, so that an act that fails
half-way still says who started it (contract 7, v2).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from cites_connector.adapters.sql import audit_chain
from cites_connector.domain.errors import Unavailable


def record_admin_action(
    engine: Engine,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any],
    at: datetime,
    reason: str | None = None,
) -> None:
    try:
        with engine.begin() as connection:
            audit_chain.append(connection, actor, action, subject, reason, details, at)
    except DBAPIError as exc:
        if isinstance(exc, IntegrityError):
            raise
        raise Unavailable(f"the audit log is not reachable: {exc.orig}") from exc
