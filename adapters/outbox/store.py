"""The outbox table as a queue: claim due rows, mark them sent or failed, report, retry.

Order is kept per (channel, ordering key): a row is claimed only when no earlier unsent row
of its key is failed or not yet due, so a usage report of a permit never overtakes an
earlier one, and a failed head blocks its key until it goes through (other keys go on).
Different channels have different receivers, so they never block each other.

Claiming sets ``next_attempt_at`` to a lease: other relays then see those rows as not due
and skip them (and every later row of their keys) until the lease ends, which is also how
rows of a relay that died mid-batch come back. Claims are serialised (PostgreSQL: an
advisory transaction lock, then ``FOR UPDATE SKIP LOCKED``; SQLite: ``BEGIN IMMEDIATE``), so
two relays can never both see a key's head as free.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select, text, update

from cites_connector.adapters.outbox.status import OutboxStatus, read_status
from cites_connector.adapters.sql import audit_chain
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.transactions import writing

_o = t.outbox
#: pg_advisory_xact_lock key of outbox claims: b"CITESOUT" read as a big-endian integer
CLAIM_LOCK_KEY = int.from_bytes(b"CITESOUT", "big")
#: the longest error kept: a SOAP fault string or a broker's reply text fits whole
MAX_ERROR = 4000


@dataclass(frozen=True)
class OutboxRow:
    id: int
    message_id: str
    channel: str
    destination: str
    routing_key: str
    ordering_key: str | None
    body: dict[str, Any]
    headers: dict[str, Any]
    created_at: datetime
    attempts: int


def _row(m: Any) -> OutboxRow:
    return OutboxRow(
        m["id"],
        m["message_id"],
        m["channel"],
        m["destination"],
        m["routing_key"],
        m["ordering_key"],
        m["body"],
        m["headers"],
        utc(m["created_at"]),
        m["attempts"],
    )


class SqlOutboxStore:
    """The relay's and the operator's side of the outbox; each call is one transaction,
    opened (and its errors translated) where every transaction is (adapters/sql/transactions.py).
    The rows themselves are written by the ledger's unit of work (``uow.outbox``)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    # -- the relay's side ---------------------------------------------------------------------
    def claim_due(
        self, channels: Iterable[str], now: datetime, limit: int, lease: timedelta
    ) -> list[OutboxRow]:
        """Due rows of ``channels`` in id order, none behind a failed or not-yet-due row of
        its key; they are leased until ``now + lease``.

        One pass over the unsent rows (the barrier of each key, then the rows before it), so
        a claim stays linear in the backlog even when a failed head holds thousands back.
        """
        channels = sorted(set(channels))
        if not channels or limit < 1:
            return []
        # per key, the first unsent row that is failed or not due: rows after it must wait
        barriers = (
            select(_o.c.channel, _o.c.ordering_key, func.min(_o.c.id).label("barrier"))
            .where(
                _o.c.sent_at.is_(None),
                _o.c.channel.in_(channels),
                _o.c.ordering_key.is_not(None),
                or_(_o.c.attempts > 0, _o.c.failed_at.is_not(None), _o.c.next_attempt_at > now),
            )
            .group_by(_o.c.channel, _o.c.ordering_key)
            .cte("barriers")
        )
        query = (
            select(_o)
            .outerjoin(
                barriers,
                and_(
                    barriers.c.channel == _o.c.channel, barriers.c.ordering_key == _o.c.ordering_key
                ),
            )
            .where(
                _o.c.sent_at.is_(None),
                _o.c.failed_at.is_(None),
                _o.c.channel.in_(channels),
                or_(_o.c.next_attempt_at.is_(None), _o.c.next_attempt_at <= now),
                or_(barriers.c.barrier.is_(None), _o.c.id <= barriers.c.barrier),
            )
            .order_by(_o.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=_o)
        )
        with writing(self.engine) as c:
            if self.postgres:
                c.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK_KEY})
            rows = [_row(m) for m in c.execute(query).mappings()]
            if rows:
                c.execute(
                    update(_o)
                    .where(_o.c.id.in_([r.id for r in rows]))
                    .values(next_attempt_at=now + lease)
                )
        return rows

    def mark_sent(self, ids: Sequence[int], at: datetime) -> int:
        if not ids:
            return 0
        with writing(self.engine) as c:
            return c.execute(
                update(_o)
                .where(_o.c.id.in_(list(ids)), _o.c.sent_at.is_(None))
                .values(sent_at=at, next_attempt_at=None)
            ).rowcount

    def renew(self, ids: Sequence[int], until: datetime) -> int:
        """Extend the lease of rows still in a relay's hands (the lease-keeper): only unsent,
        unfailed ones, so a row just marked is never leased again."""
        if not ids:
            return 0
        with writing(self.engine) as c:
            return c.execute(
                update(_o)
                .where(_o.c.id.in_(list(ids)), _o.c.sent_at.is_(None), _o.c.failed_at.is_(None))
                .values(next_attempt_at=until)
            ).rowcount

    def mark_retry(self, row_id: int, error: str, next_attempt_at: datetime) -> None:
        """A failed attempt worth another try, at ``next_attempt_at``."""
        with writing(self.engine) as c:
            c.execute(
                update(_o)
                .where(_o.c.id == row_id, _o.c.sent_at.is_(None))
                .values(
                    attempts=_o.c.attempts + 1,
                    last_error=error[:MAX_ERROR],
                    next_attempt_at=next_attempt_at,
                )
            )

    def mark_failed(self, row_id: int, error: str, at: datetime) -> None:
        """The relay gives up: never claimed again until ``outbox retry`` (contract 4)."""
        with writing(self.engine) as c:
            c.execute(
                update(_o)
                .where(_o.c.id == row_id, _o.c.sent_at.is_(None))
                .values(
                    attempts=_o.c.attempts + 1,
                    last_error=error[:MAX_ERROR],
                    failed_at=at,
                    next_attempt_at=None,
                )
            )

    def release(self, ids: Sequence[int], now: datetime) -> None:
        """Give claimed rows back undelivered (relay stopping, key blocked): due now."""
        if ids:
            with writing(self.engine) as c:
                c.execute(
                    update(_o)
                    .where(_o.c.id.in_(list(ids)), _o.c.sent_at.is_(None))
                    .values(next_attempt_at=now)
                )

    # -- the operator's side ------------------------------------------------------------------
    def retry(
        self, now: datetime, ids: Sequence[int] | None = None, *, actor: str | None = None
    ) -> list[int]:
        """Make unsent rows due now: the given ids, or (``ids`` None) every failed or retrying
        row. Their attempts start again from zero, so a row failed for too many attempts gets
        the relay's whole patience again. With an ``actor`` the operator's act is recorded in
        the administration audit log, in the same transaction (contract 7, v2).

        Returns the ids that were made due; ids unknown or already sent are not among them.
        """
        where: list[ColumnElement[bool]] = [_o.c.sent_at.is_(None)]
        where.append(
            or_(_o.c.attempts > 0, _o.c.failed_at.is_not(None))
            if ids is None
            else _o.c.id.in_(list(ids))
        )
        with writing(self.engine) as c:
            found = [r for (r,) in c.execute(select(_o.c.id).where(*where).order_by(_o.c.id))]
            if found:
                c.execute(
                    update(_o)
                    .where(_o.c.id.in_(found))
                    .values(next_attempt_at=now, failed_at=None, attempts=0)
                )
            if actor is not None:
                audit_chain.append(
                    c,
                    actor,
                    "outbox.retry",
                    "outbox",
                    None,
                    {"asked": "all-failed" if ids is None else sorted(ids), "made_due": found},
                    now,
                )
        return found

    def status(self, failures: int = 10) -> OutboxStatus:
        return read_status(self.engine, failures)
