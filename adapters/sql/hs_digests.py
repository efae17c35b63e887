"""Published HS table versions whose rows no longer match the digest stored at publication.

The rows of a published version never change (triggers refuse it); ``audit verify`` also
recomputes each version's digest, so a change made with the triggers switched off is named.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from cites_connector.adapters.sql.hs_schema import hs_version_rows, hs_versions
from cites_connector.domain.hs_admin_csv import rows_digest
from cites_connector.domain.hs_tables import HsRow


def tampered_versions(connection: Connection) -> tuple[str, ...]:
    rows: dict[int, list[HsRow]] = {}
    for r in connection.execute(select(hs_version_rows)).mappings():
        rows.setdefault(r["version_id"], []).append(
            HsRow(r["hs_prefix"], r["taxon"], frozenset(r["terms"].split()), r["note"])
        )
    bad = []
    for v in connection.execute(select(hs_versions).order_by(hs_versions.c.id)).mappings():
        if rows_digest(rows.get(v["id"], ())) != v["rows_digest"]:
            bad.append(f"{v['edition']}/{v['number']}")
    return tuple(bad)
