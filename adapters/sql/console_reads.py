"""What the console reads of the ledger: declaration searches, the held queue, timelines.

Read-only queries, each bounded: lists are paginated (``limit`` rows plus one, to know whether
there is a next page, and no ``COUNT(*)`` over the whole ledger) and ordered along the
indexes of migration 0009, so that a page comes back in milliseconds from 100,000
declarations (bench/console_declarations.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, and_, or_, select

from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.tables import (
    audit_log,
    decisions,
    declarations,
    held_citations,
    outbox,
)
from cites_connector.adapters.sql.transactions import reading

_d, _x = declarations, decisions


@dataclass(frozen=True)
class DeclarationFilter:
    declaration_id: str | None = None
    #: a broker account: only these declarant codes (an empty tuple means none at all)
    declarant_codes: tuple[str, ...] | None = None
    declarant_code: str | None = None
    state: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class DeclarationRow:
    declaration_id: str
    version: int
    state: str
    decision: str
    declarant_code: str | None
    office_code: str | None
    declaration_date: date
    decided_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Page:
    rows: list[DeclarationRow]
    page: int
    has_next: bool


@dataclass(frozen=True)
class HeldRow:
    declaration_id: str
    version: int
    declarant_code: str | None
    office_code: str | None
    held_since: datetime
    reason_codes: tuple[str, ...]
    cited_permits: tuple[str, ...]


@dataclass(frozen=True)
class VersionRow:
    version: int
    decision: str
    decided_at: datetime
    hs_table: str | None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    what: str
    actor: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _row(m: Any) -> DeclarationRow:
    return DeclarationRow(
        declaration_id=m["declaration_id"],
        version=m["version"],
        state=m["state"],
        decision=m["decision"],
        declarant_code=m["declarant_code"],
        office_code=m["office_code"],
        declaration_date=m["declaration_date"],
        decided_at=utc(m["decided_at"]),
        updated_at=utc(m["updated_at"]),
    )


def reason_codes(payload: dict[str, Any]) -> tuple[str, ...]:
    """Every reason code of a stored decision, the declaration's and its items', once each."""
    codes = [r["code"] for r in payload.get("reasons", ())]
    for item in payload.get("items", ()):
        codes.extend(r["code"] for r in item.get("reasons", ()))
    return tuple(dict.fromkeys(codes))


class SqlConsoleReads:
    def __init__(self, engine: Engine):
        self.engine = engine

    def declarations(self, where: DeclarationFilter, page: int = 1, per_page: int = 50) -> Page:
        conditions = []
        if where.declaration_id:
            conditions.append(_d.c.declaration_id == where.declaration_id)
        if where.declarant_codes is not None:
            conditions.append(_d.c.declarant_code.in_(list(where.declarant_codes)))
        if where.declarant_code:
            conditions.append(_d.c.declarant_code == where.declarant_code)
        if where.state:
            conditions.append(_d.c.state == where.state)
        if where.date_from:
            conditions.append(_x.c.declaration_date >= where.date_from)
        if where.date_to:
            conditions.append(_x.c.declaration_date <= where.date_to)
        query = (
            select(
                _d.c.declaration_id,
                _d.c.state,
                _d.c.declarant_code,
                _d.c.office_code,
                _d.c.updated_at,
                _x.c.version,
                _x.c.decision,
                _x.c.declaration_date,
                _x.c.decided_at,
            )
            .join(
                _x,
                and_(
                    _x.c.declaration_id == _d.c.declaration_id,
                    _x.c.version == _d.c.latest_version,
                ),
            )
            .where(*conditions)
            .order_by(_d.c.updated_at.desc(), _d.c.declaration_id.desc())
            .limit(per_page + 1)
            .offset((page - 1) * per_page)
        )
        with reading(self.engine) as c:
            rows = [_row(m) for m in c.execute(query).mappings()]
        return Page(rows[:per_page], page, len(rows) > per_page)

    def held(self, limit: int = 200, codes: Sequence[str] | None = None) -> list[HeldRow]:
        """Held declarations, the longest waiting first, with what each waits for."""
        query = (
            select(
                _d.c.declaration_id,
                _d.c.declarant_code,
                _d.c.office_code,
                _x.c.version,
                _x.c.decided_at,
                _x.c.payload,
            )
            .join(
                _x,
                and_(
                    _x.c.declaration_id == _d.c.declaration_id,
                    _x.c.version == _d.c.latest_version,
                ),
            )
            .where(_d.c.state == "HELD")
            .order_by(_x.c.decided_at, _d.c.declaration_id)
            .limit(limit)
        )
        if codes is not None:
            query = query.where(_d.c.declarant_code.in_(list(codes)))
        with reading(self.engine) as c:
            found = list(c.execute(query).mappings())
            ids = [m["declaration_id"] for m in found]
            cited: dict[tuple[str, int], list[str]] = {}
            if ids:
                for r in c.execute(
                    select(held_citations).where(held_citations.c.declaration_id.in_(ids))
                ).mappings():
                    key = (r["declaration_id"], r["version"])
                    cited.setdefault(key, []).append(r["permit_number"])
        return [
            HeldRow(
                declaration_id=m["declaration_id"],
                version=m["version"],
                declarant_code=m["declarant_code"],
                office_code=m["office_code"],
                held_since=utc(m["decided_at"]),
                reason_codes=reason_codes(m["payload"]),
                cited_permits=tuple(sorted(cited.get((m["declaration_id"], m["version"]), ()))),
            )
            for m in found
        ]

    def versions(self, declaration_id: str) -> list[VersionRow]:
        with reading(self.engine) as c:
            rows = c.execute(
                select(_x.c.version, _x.c.decision, _x.c.decided_at, _x.c.hs_table)
                .where(_x.c.declaration_id == declaration_id)
                .order_by(_x.c.version)
            ).mappings()
            return [
                VersionRow(r["version"], r["decision"], utc(r["decided_at"]), r["hs_table"])
                for r in rows
            ]

    def declarant_of(self, declaration_id: str) -> str | bool | None:
        """The declarant code of a stored declaration; False when there is none."""
        with reading(self.engine) as c:
            row = c.execute(
                select(_d.c.declarant_code).where(_d.c.declaration_id == declaration_id)
            ).first()
        return False if row is None else row[0]

    def timeline(self, declaration_id: str) -> list[TimelineEntry]:
        """What happened to a declaration: the audit records about it (received, decided,
        amended, released, cancelled) and the messages written for it (broker
        notifications, customs callbacks) with whether they were sent."""
        entries: list[TimelineEntry] = []
        with reading(self.engine) as c:
            for r in c.execute(
                select(audit_log.c.at, audit_log.c.actor, audit_log.c.action, audit_log.c.details)
                .where(audit_log.c.subject == declaration_id)
                .order_by(audit_log.c.id)
            ).mappings():
                entries.append(TimelineEntry(utc(r["at"]), r["action"], r["actor"], r["details"]))
            for r in c.execute(
                select(outbox).where(outbox.c.ordering_key == declaration_id).order_by(outbox.c.id)
            ).mappings():
                state = (
                    f"sent {utc(r['sent_at']).isoformat(timespec='seconds')}"
                    if r["sent_at"]
                    else "failed"
                    if r["failed_at"]
                    else "waiting to be sent"
                )
                entries.append(
                    TimelineEntry(
                        utc(r["created_at"]),
                        f"message.{r['channel']}",
                        None,
                        {"to": r["routing_key"], "state": state, "attempts": r["attempts"]},
                    )
                )
        return sorted(entries, key=lambda e: e.at)

    def audit_about(self, subject: str, limit: int = 200) -> list[TimelineEntry]:
        with reading(self.engine) as c:
            rows = c.execute(
                select(audit_log.c.at, audit_log.c.actor, audit_log.c.action, audit_log.c.details)
                .where(audit_log.c.subject == subject)
                .order_by(audit_log.c.id)
                .limit(limit)
            ).mappings()
            return [
                TimelineEntry(utc(r["at"]), r["action"], r["actor"], r["details"]) for r in rows
            ]

    def ledger_audit(self, last: int = 50, actor_prefix: str | None = None) -> list[TimelineEntry]:
        query = select(
            audit_log.c.at, audit_log.c.actor, audit_log.c.action, audit_log.c.subject
        ).order_by(audit_log.c.id.desc())
        if actor_prefix:
            query = query.where(or_(audit_log.c.actor.startswith(actor_prefix)))
        with reading(self.engine) as c:
            rows = c.execute(query.limit(last)).mappings()
            return [
                TimelineEntry(utc(r["at"]), r["action"], r["actor"], {"subject": r["subject"]})
                for r in rows
            ]
