"""SqlHsTableStore: HS table versions, drafts and the admin audit on SQLite or PostgreSQL.

It is also the Rulebook's table provider (``tables``): the Rulebook asks for the tables on
every decision, and ``HsTables.in_force`` picks by the declaration date, so a version
published for a future date is simply part of the set and takes effect on its day without a
restart. The set is cached and reloaded when a cheap query (highest version id, number of
versions) shows a publication, checked at most every ``refresh_seconds``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from cites_connector.adapters.sql import audit_chain
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.engine import READ_ONLY
from cites_connector.adapters.sql.hs_schema import (
    hs_draft_rows,
    hs_drafts,
    hs_version_rows,
    hs_versions,
)
from cites_connector.domain.errors import Unavailable
from cites_connector.domain.hs_admin import (
    Draft,
    DraftRow,
    DraftStatus,
    HsAdminRefused,
    TableVersion,
    VersionStatus,
    tables_in_force,
)
from cites_connector.domain.hs_admin_csv import rows_digest
from cites_connector.domain.hs_tables import HsRow, HsTables
from cites_connector.domain.records import decision_from_dict, declaration_from_dict
from cites_connector.domain.usages import DeclarationState, StoredDecision
from cites_connector.services.hs_ports import HsSession, HsStore

_v, _vr, _d, _dr = hs_versions.c, hs_version_rows.c, hs_drafts.c, hs_draft_rows.c


def _row(record) -> HsRow:
    return HsRow(
        record["hs_prefix"], record["taxon"], frozenset(record["terms"].split()), record["note"]
    )


def _row_values(row: HsRow) -> dict[str, Any]:
    return {
        "hs_prefix": row.hs_prefix,
        "taxon": row.taxon,
        "terms": " ".join(sorted(row.terms)),
        "note": row.note,
    }


def _split(label: str) -> tuple[str, int]:
    edition, _, number = label.partition("/")
    return edition, int(number)


class SqlHsSession(HsSession):
    def __init__(self, connection: Connection):
        self.c = connection

    # -- versions -------------------------------------------------------------------------------
    def versions(self) -> list[TableVersion]:
        rows: dict[int, list[HsRow]] = {}
        for r in self.c.execute(select(hs_version_rows).order_by(_vr.id)).mappings():
            rows.setdefault(r["version_id"], []).append(_row(r))
        return [
            TableVersion(
                edition=v["edition"],
                number=v["number"],
                effective_from=v["effective_from"],
                effective_to=v["effective_to"],
                status=VersionStatus(v["status"]),
                rows=tuple(rows.get(v["id"], ())),
                published_by=v["published_by"],
                published_at=utc(v["published_at"]),
                approved_by=v["approved_by"],
                proposed_by=v["proposed_by"],
                source=v["source"],
            )
            for v in self.c.execute(
                select(hs_versions).order_by(_v.effective_from, _v.id)
            ).mappings()
        ]

    def lock_timeline(self) -> None:
        if self.c.dialect.name == "postgresql":
            self.c.exec_driver_sql("LOCK TABLE hs_versions IN SHARE ROW EXCLUSIVE MODE")

    def add_version(self, version: TableVersion, draft_number: int | None) -> None:
        try:
            new_id = self.c.execute(
                insert(hs_versions)
                .values(
                    edition=version.edition,
                    number=version.number,
                    effective_from=version.effective_from,
                    effective_to=version.effective_to,
                    status=version.status.value,
                    published_by=version.published_by,
                    published_at=version.published_at,
                    proposed_by=version.proposed_by,
                    approved_by=version.approved_by,
                    draft_number=draft_number,
                    source=version.source,
                    rows_digest=rows_digest(version.rows),
                )
                .returning(_v.id)
            ).scalar_one()
        except IntegrityError as exc:
            raise HsAdminRefused(f"{version.label} was published meanwhile; try again") from exc
        if version.rows:
            self.c.execute(
                insert(hs_version_rows),
                [_row_values(r) | {"version_id": new_id} for r in version.rows],
            )

    def _where(self, label: str):
        edition, number = _split(label)
        return and_(_v.edition == edition, _v.number == number)

    def end_version(self, label: str, effective_to: date) -> None:
        self.c.execute(
            update(hs_versions).where(self._where(label)).values(effective_to=effective_to)
        )

    def withdraw_version(self, label: str) -> None:
        self.c.execute(
            update(hs_versions)
            .where(self._where(label))
            .values(status=VersionStatus.WITHDRAWN.value)
        )

    # -- drafts ---------------------------------------------------------------------------------
    def _drafts(self, where=None, lock: bool = False) -> list[Draft]:
        query = select(hs_drafts).order_by(_d.id.desc())
        if where is not None:
            query = query.where(where)
        if lock and self.c.dialect.name == "postgresql":
            query = query.with_for_update()
        heads = list(self.c.execute(query).mappings())
        if not heads:
            return []
        rows: dict[int, list[DraftRow]] = {}
        for r in self.c.execute(
            select(hs_draft_rows)
            .where(_dr.draft_id.in_([h["id"] for h in heads]))
            .order_by(_dr.position, _dr.id)
        ).mappings():
            rows.setdefault(r["draft_id"], []).append(DraftRow(_row(r), r["review"]))
        return [
            Draft(
                number=h["id"],
                edition=h["edition"],
                status=DraftStatus(h["status"]),
                rows=tuple(rows.get(h["id"], ())),
                created_by=h["created_by"],
                created_at=utc(h["created_at"]),
                based_on=h["based_on"],
                editors=tuple(h["editors"] or ()),
                proposed_by=h["proposed_by"],
                approved_by=h["approved_by"],
                rejected_by=h["rejected_by"],
                rejection=h["rejection"],
                published_as=h["published_as"],
            )
            for h in heads
        ]

    def drafts(self) -> list[Draft]:
        return self._drafts()

    def draft(self, number: int, *, lock: bool = False) -> Draft | None:
        found = self._drafts(_d.id == number, lock)
        return found[0] if found else None

    def _head(self, draft: Draft) -> dict[str, Any]:
        return {
            "edition": draft.edition,
            "status": draft.status.value,
            "based_on": draft.based_on,
            "editors": list(draft.editors),
            "proposed_by": draft.proposed_by,
            "approved_by": draft.approved_by,
            "rejected_by": draft.rejected_by,
            "rejection": draft.rejection,
            "published_as": draft.published_as,
        }

    def _put_rows(self, number: int, rows: tuple[DraftRow, ...]) -> None:
        self.c.execute(delete(hs_draft_rows).where(_dr.draft_id == number))
        if rows:
            self.c.execute(
                insert(hs_draft_rows),
                [
                    _row_values(r.row) | {"draft_id": number, "position": i, "review": r.review}
                    for i, r in enumerate(rows)
                ],
            )

    def add_draft(self, draft: Draft) -> int:
        number = self.c.execute(
            insert(hs_drafts)
            .values(
                **self._head(draft),
                created_by=draft.created_by,
                created_at=draft.created_at,
            )
            .returning(_d.id)
        ).scalar_one()
        self._put_rows(number, draft.rows)
        return number

    def save_draft(self, draft: Draft) -> None:
        self.c.execute(update(hs_drafts).where(_d.id == draft.number).values(**self._head(draft)))
        self._put_rows(draft.number, draft.rows)

    # -- audit ----------------------------------------------------------------------------------
    def audit(
        self,
        actor: str,
        action: str,
        subject: str,
        reason: str | None,
        details: dict[str, Any],
        at: datetime,
    ) -> None:
        audit_chain.append(self.c, actor, action, subject, reason, details, at)

    # -- recorded declarations --------------------------------------------------------------------
    def recorded_decisions(self, since: date | None) -> list[StoredDecision]:
        dc, sc = t.decisions.c, t.declarations.c
        query = (
            select(dc.payload, dc.declaration, dc.decided_at, sc.state)
            .join(
                t.declarations,
                and_(sc.declaration_id == dc.declaration_id, sc.latest_version == dc.version),
            )
            .order_by(dc.declaration_date, dc.declaration_id)
        )
        if since is not None:
            query = query.where(dc.declaration_date >= since)
        return [
            StoredDecision(
                decision_from_dict(r["payload"]),
                declaration_from_dict(r["declaration"]),
                DeclarationState(r["state"]),
                utc(r["decided_at"]),
            )
            for r in self.c.execute(query).mappings()
        ]


class SqlHsTableStore(HsStore):
    def __init__(
        self,
        engine: Engine,
        *,
        refresh_seconds: float = 0.0,
        fallback: Callable[[], HsTables] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self.fallback = fallback
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: HsTables | None = None
        self._marker: tuple | None = None
        self._checked = float("-inf")

    @contextmanager
    def transaction(self) -> Iterator[SqlHsSession]:
        try:
            with self.engine.begin() as connection:
                yield SqlHsSession(connection)
        except (OperationalError, DBAPIError) as exc:
            if isinstance(exc, IntegrityError):
                raise
            raise Unavailable(f"the database is not reachable: {exc.orig}") from exc

    @contextmanager
    def snapshot(self) -> Iterator[SqlHsSession]:
        """Read-only: PostgreSQL is told so (READ ONLY transaction), SQLite by query_only."""
        try:
            with self.engine.connect() as connection:
                connection = connection.execution_options(**{READ_ONLY: True})
                sqlite = connection.dialect.name == "sqlite"
                tx = connection.begin()
                try:
                    connection.exec_driver_sql(
                        "PRAGMA query_only = ON" if sqlite else "SET TRANSACTION READ ONLY"
                    )
                    yield SqlHsSession(connection)
                finally:
                    tx.rollback()
                    if sqlite:  # the pooled connection goes back writable
                        connection.exec_driver_sql("PRAGMA query_only = OFF")
                        connection.rollback()
        except (OperationalError, DBAPIError) as exc:
            if isinstance(exc, IntegrityError):
                raise
            raise Unavailable(f"the database is not reachable: {exc.orig}") from exc

    # -- the Rulebook's provider ------------------------------------------------------------------
    def tables(self) -> HsTables:
        """The published tables, reloaded after a publication; the fallback before migrate."""
        now = self._monotonic()
        cached = self._cached
        if cached is not None and now - self._checked < self.refresh_seconds:
            return cached
        with self._lock:
            try:
                with self.engine.connect() as connection:
                    # a reader: on SQLite a writing BEGIN here would wait for the very ledger
                    # transaction that asked for the tables
                    connection = connection.execution_options(**{READ_ONLY: True})
                    marker = tuple(
                        connection.execute(select(func.max(_v.id), func.count(_v.id))).one()
                    )
                    if self._cached is not None and marker == self._marker:
                        self._checked = now
                        return self._cached
                    sets = tables_in_force(SqlHsSession(connection).versions())
            except (OperationalError, ProgrammingError):
                # no hs_versions table yet (before migrate): keep what we have, else fallback
                if self._cached is not None:
                    return self._cached
                return self._fallback()
            tables = HsTables(sets) if sets else self._fallback()
            self._cached, self._marker, self._checked = tables, marker, now
            return tables

    def _fallback(self) -> HsTables:
        if self.fallback is None:
            return HsTables(())
        return self.fallback()
