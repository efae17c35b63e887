"""The statements that store a decision (declaration_rows.py ``save``), built once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.prebuilt import Prebuilt

_s = t.declarations.c

INSERT_DECISION = Prebuilt(
    insert(t.decisions),
    (
        "declaration_id",
        "version",
        "decision",
        "hs_table",
        "declaration_date",
        "payload",
        "declaration",
        "decided_at",
    ),
)
DECLARATION_COLUMNS = ("latest_version", "state", "declarant_code", "office_code", "updated_at")


def _upsert_declaration(dialect: Any) -> Prebuilt:
    """One statement for the declaration's row; it never moves back to an older version.

    A version older than the stored one updates nothing (row count 0): a concurrent decision
    on a newer version committed first, and the caller retries, to answer StaleVersion.
    """
    stmt = dialect.insert(t.declarations)
    return Prebuilt(
        stmt.on_conflict_do_update(
            index_elements=[_s.declaration_id],
            set_={name: stmt.excluded[name] for name in DECLARATION_COLUMNS},
            where=_s.latest_version <= stmt.excluded.latest_version,
        ).execution_options(preserve_rowcount=True),  # when run by Connection.execute
        ("declaration_id", *DECLARATION_COLUMNS),
    )


UPSERT_DECLARATION = {
    "sqlite": _upsert_declaration(sqlite),
    "postgresql": _upsert_declaration(postgresql),
}


def _checked_upsert() -> Prebuilt:
    """PostgreSQL, held until the commit (pipeline.py): the same upsert, failed by the server
    (division by zero) when it wrote no row, since nobody reads its row count before the
    ``COMMIT`` it travels with."""
    names = ("declaration_id", *DECLARATION_COLUMNS)
    stmt = postgresql.insert(t.declarations)
    stmt = stmt.values({n: bindparam(n, type_=t.declarations.c[n].type) for n in names})
    written: Any = stmt.on_conflict_do_update(
        index_elements=[_s.declaration_id],
        set_={name: stmt.excluded[name] for name in DECLARATION_COLUMNS},
        where=_s.latest_version <= stmt.excluded.latest_version,
    ).returning(literal_column("1"))
    return Prebuilt(select(literal_column("1 / count(*)")).select_from(written.cte()), names)


CHECKED_UPSERT = _checked_upsert()
INSERT_CITATION = Prebuilt(insert(t.held_citations), ("declaration_id", "version", "permit_number"))
