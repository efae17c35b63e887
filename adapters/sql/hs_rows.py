"""HS table versions, drafts and the administration audit log on SQL (the ``HsTableVersions``,
``HsDrafts`` and ``AdminAuditTrail`` ports of the unit of work)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from cites_connector.adapters.sql import audit_chain
from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.hs_schema import (
    hs_draft_rows,
    hs_drafts,
    hs_version_rows,
    hs_versions,
)
from cites_connector.domain.hs_admin import (
    Draft,
    DraftRow,
    DraftStatus,
    HsAdminRefused,
    TableVersion,
    VersionStatus,
)
from cites_connector.domain.hs_admin_csv import rows_digest
from cites_connector.domain.hs_tables import HsRow
from cites_connector.services.ports import AdminAuditTrail, HsDrafts, HsTableVersions

_v, _vr, _d, _dr = hs_versions.c, hs_version_rows.c, hs_drafts.c, hs_draft_rows.c


def _row(record: RowMapping) -> HsRow:
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


class SqlHsTableVersions(HsTableVersions):
    def __init__(self, connection: Connection):
        self.c = connection

    def all(self) -> list[TableVersion]:
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

    def add(self, version: TableVersion, draft_number: int | None) -> None:
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

    def _where(self, label: str) -> ColumnElement[bool]:
        edition, number = _split(label)
        return and_(_v.edition == edition, _v.number == number)

    def end(self, label: str, effective_to: date) -> None:
        self.c.execute(
            update(hs_versions).where(self._where(label)).values(effective_to=effective_to)
        )

    def withdraw(self, label: str) -> None:
        self.c.execute(
            update(hs_versions)
            .where(self._where(label))
            .values(status=VersionStatus.WITHDRAWN.value)
        )


class SqlHsDrafts(HsDrafts):
    def __init__(self, connection: Connection):
        self.c = connection

    def _drafts(self, where: ColumnElement[bool] | None = None, lock: bool = False) -> list[Draft]:
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

    def all(self) -> list[Draft]:
        return self._drafts()

    def get(self, number: int, *, lock: bool = False) -> Draft | None:
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

    def add(self, draft: Draft) -> int:
        number: int = self.c.execute(
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

    def save(self, draft: Draft) -> None:
        self.c.execute(update(hs_drafts).where(_d.id == draft.number).values(**self._head(draft)))
        self._put_rows(draft.number, draft.rows)


class SqlAdminAuditTrail(AdminAuditTrail):
    def __init__(self, connection: Connection):
        self.c = connection

    def record(
        self,
        actor: str,
        action: str,
        subject: str,
        reason: str | None,
        details: dict[str, Any],
        at: datetime,
    ) -> None:
        audit_chain.append(self.c, actor, action, subject, reason, details, at)
