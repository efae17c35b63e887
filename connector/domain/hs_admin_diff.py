"""What differs between two tables (``hs diff A B``), row by row.

Rows are keyed by (HS prefix, taxon), the key a table cannot hold twice; a row whose key is in
both tables but whose terms or note differ is "changed". A reviewer approving a draft reads
this, so it is sorted by prefix and says which side each row comes from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cites_connector.domain.hs_tables import HsRow


@dataclass(frozen=True)
class RowChange:
    kind: str  # "added", "removed", "changed"
    before: HsRow | None
    after: HsRow | None

    @property
    def key(self) -> tuple[str, str]:
        row = self.after or self.before
        assert row is not None, "a change has a row on at least one side"
        return (row.hs_prefix, row.taxon)

    def describe(self) -> str:
        def terms(row: HsRow) -> str:
            return " ".join(sorted(row.terms)) or "any term"

        prefix, taxon = self.key
        before, after = self.before, self.after
        if self.kind == "added":
            assert after is not None
            return f"+ {prefix},{taxon}  [{terms(after)}]"
        if self.kind == "removed":
            assert before is not None
            return f"- {prefix},{taxon}  [{terms(before)}]"
        assert before is not None, "a changed row has both sides"
        assert after is not None, "a changed row has both sides"
        parts = []
        if before.terms != after.terms:
            parts.append(f"terms {terms(before)} -> {terms(after)}")
        if (before.note or "") != (after.note or ""):
            parts.append(f"note {before.note or ''!r} -> {after.note or ''!r}")
        return f"~ {prefix},{taxon}  " + "; ".join(parts)


def diff_rows(before: Iterable[HsRow], after: Iterable[HsRow]) -> list[RowChange]:
    old = {(r.hs_prefix, r.taxon): r for r in before}
    new = {(r.hs_prefix, r.taxon): r for r in after}
    changes = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a is None:
            changes.append(RowChange("added", None, b))
        elif b is None:
            changes.append(RowChange("removed", a, None))
        elif a != b:
            changes.append(RowChange("changed", a, b))
    return changes


def row_to_dict(row: HsRow) -> dict[str, object]:
    """A row as the audit log records it (terms sorted, so equal rows hash equal)."""
    return {
        "hs_prefix": row.hs_prefix,
        "taxon": row.taxon,
        "terms": sorted(row.terms),
        "note": row.note,
    }


def changes_to_dicts(changes: Iterable[RowChange]) -> list[dict[str, object]]:
    return [
        {
            "change": c.kind,
            "before": row_to_dict(c.before) if c.before else None,
            "after": row_to_dict(c.after) if c.after else None,
        }
        for c in changes
    ]
