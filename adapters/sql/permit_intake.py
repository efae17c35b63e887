"""The ledger's bookkeeping of permit events (contract 3.1): the inbox of applied messages and
the status events that arrived before their permit.

The ``Inbox`` and ``EarlyStatuses`` ports on the unit of work's connection.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from cites_connector.adapters.sql import tables as t
from cites_connector.domain.permits import PermitStatus, PermitStatusChange
from cites_connector.services.ports import DuplicateDecision, EarlyStatuses, Inbox, InboxEntry

_i, _p = t.inbox.c, t.pending_permit_status.c
#: built once with bound parameters: SQLAlchemy then compiles each once per engine (issue 14)
_INBOX_ENTRY = select(_i.message_id, _i.body_digest).where(_i.message_id == bindparam("b_id"))
_INSERT_INBOX = insert(t.inbox)
_PENDING_KEY = and_(
    _p.permit_number == bindparam("b_number"), _p.issuing_country == bindparam("b_country")
)
_PEEK_PENDING = select(t.pending_permit_status).where(_PENDING_KEY)
_PENDING_VERSION = select(_p.version).where(_PENDING_KEY)
_INSERT_PENDING = insert(t.pending_permit_status)
_UPDATE_PENDING = update(t.pending_permit_status).where(_PENDING_KEY)
_DELETE_PENDING = delete(t.pending_permit_status).where(_PENDING_KEY)
_MAX_OUTCOME = 2000


class SqlInbox(Inbox):
    """Messages applied already."""

    def __init__(self, connection: Connection):
        self.c = connection

    def entry(self, message_id: str) -> InboxEntry | None:
        row = self.c.execute(_INBOX_ENTRY, {"b_id": message_id}).first()
        return None if row is None else InboxEntry(row[0], row[1])

    def record(
        self,
        message_id: str,
        source: str,
        outcome: str,
        at: datetime,
        body_digest: str | None = None,
    ) -> None:
        try:
            self.c.execute(
                _INSERT_INBOX,
                {
                    "message_id": message_id,
                    "source": source,
                    "outcome": outcome[:_MAX_OUTCOME],
                    "received_at": at,
                    "body_digest": body_digest,
                },
            )
        except IntegrityError as exc:  # a concurrent consumer applied it first
            raise DuplicateDecision(f"message {message_id} applied already") from exc


def _pending_key(permit_number: str, issuing_country: str) -> dict[str, str]:
    return {"b_number": permit_number, "b_country": issuing_country}


class SqlEarlyStatuses(EarlyStatuses):
    """Status events ahead of their permit."""

    def __init__(self, connection: Connection):
        self.c = connection

    def peek(self, permit_number: str, issuing_country: str) -> PermitStatusChange | None:
        row = (
            self.c.execute(_PEEK_PENDING, _pending_key(permit_number, issuing_country))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return PermitStatusChange(
            permit_number,
            issuing_country,
            row["version"],
            PermitStatus(row["status"]),
            row["reason"],
        )

    def keep(self, change: PermitStatusChange) -> None:
        key = _pending_key(change.permit_number, change.issuing_country)
        current = self.c.execute(_PENDING_VERSION, key).scalar()
        row = {"version": change.version, "status": change.status.value, "reason": change.reason}
        if current is None:
            try:
                self.c.execute(
                    _INSERT_PENDING,
                    {
                        "permit_number": change.permit_number,
                        "issuing_country": change.issuing_country,
                        **row,
                    },
                )
            except IntegrityError as exc:  # a concurrent event for the same permit came first
                raise DuplicateDecision(
                    f"pending status of {change.permit_number} stored concurrently"
                ) from exc
        else:
            self.c.execute(_UPDATE_PENDING, key | row)

    def take(self, permit_number: str, issuing_country: str) -> PermitStatusChange | None:
        found = self.peek(permit_number, issuing_country)
        if found is not None:
            self.c.execute(_DELETE_PENDING, _pending_key(permit_number, issuing_country))
        return found
