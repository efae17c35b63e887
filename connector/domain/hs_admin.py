"""Administering HS-to-taxon tables: drafts, published versions and who may do what.

A wrong table row either lets wildlife through unchecked or holds lawful trade at every border
post (issue 5), so the rules here are deliberately strict:

- edits go into a *draft*; a draft is proposed, approved by another person, then published
  as a new numbered *version* of its HS edition; a published version's rows never change;
- four eyes: whoever proposed or edited a draft cannot approve it;
- roles are ordered viewer < editor < approver; an approver may also edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum, IntEnum

from cites_connector.domain.errors import ConnectorError, InvalidInput
from cites_connector.domain.hs_tables import HsRow, HsRowSet


class NotPermitted(ConnectorError):
    """The user's role or part in a draft forbids the action (a business refusal)."""

    fault_code = "Client.NotPermitted"
    exit_code = 1


class HsAdminRefused(ConnectorError):
    """The action does not fit the table's state: wrong draft status, overlapping period..."""

    fault_code = "Client.Refused"
    exit_code = 1


class UnknownHsTable(ConnectorError):
    fault_code = "Client.UnknownHsTable"
    exit_code = 1


class HsRowsInvalid(InvalidInput):
    """Rows that fail validation; ``problems`` names each row and what is wrong with it."""

    def __init__(self, message: str, problems: list[str]):
        super().__init__(message + "".join(f"\n  {p}" for p in problems))
        self.problems = problems


class Role(IntEnum):
    NONE = 0
    VIEWER = 1
    EDITOR = 2
    APPROVER = 3


#: the least role each action needs
NEEDS: Mapping[str, Role] = {
    "read": Role.VIEWER,
    "edit": Role.EDITOR,
    "propose": Role.EDITOR,
    "approve": Role.APPROVER,
    "reject": Role.APPROVER,
    "publish": Role.APPROVER,
    "rollback": Role.APPROVER,
}


def role_of(user: str, roles: Mapping[str, str]) -> Role:
    """The user's role from settings; a user not listed may only read (viewer)."""
    name = roles.get(user)
    return Role[name.upper()] if name else Role.VIEWER


def require(user: str, roles: Mapping[str, str], action: str) -> None:
    have, need = role_of(user, roles), NEEDS[action]
    if have < need:
        raise NotPermitted(
            f"{user} is {have.name.lower()}: to {action} HS tables needs the "
            f"{need.name.lower()} role (setting hs_roles)"
        )


class DraftStatus(str, Enum):
    DRAFT = "DRAFT"  # editable
    PROPOSED = "PROPOSED"  # frozen, waiting for a second person
    APPROVED = "APPROVED"  # may be published
    PUBLISHED = "PUBLISHED"  # became a version; kept for the record


class VersionStatus(str, Enum):
    PUBLISHED = "PUBLISHED"
    #: replaced before or on its first day by a version published with ``--supersede``
    WITHDRAWN = "WITHDRAWN"


@dataclass(frozen=True)
class DraftRow:
    row: HsRow
    #: set by a conversion for a split or merged code: the row waits for a person's decision
    review: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.row.hs_prefix, self.row.taxon)


@dataclass(frozen=True)
class Draft:
    number: int
    edition: str
    status: DraftStatus
    rows: tuple[DraftRow, ...]
    created_by: str
    created_at: datetime
    based_on: str | None = None
    #: everyone who changed the rows: none of them may approve (four eyes)
    editors: tuple[str, ...] = ()
    proposed_by: str | None = None
    approved_by: str | None = None
    rejected_by: str | None = None
    rejection: str | None = None
    published_as: str | None = None

    @property
    def ref(self) -> str:
        return f"D{self.number}"

    def hs_rows(self) -> tuple[HsRow, ...]:
        return tuple(r.row for r in self.rows)

    def row_set(self) -> HsRowSet:
        """The draft as a table (version 1 is a placeholder: a draft has no number yet)."""
        return HsRowSet(
            edition=self.edition, version=1, effective_from=date.min, rows=self.hs_rows()
        )


@dataclass(frozen=True)
class TableVersion:
    edition: str
    number: int
    effective_from: date
    effective_to: date | None
    status: VersionStatus
    rows: tuple[HsRow, ...]
    published_by: str
    published_at: datetime
    approved_by: str | None = None
    proposed_by: str | None = None
    source: str | None = None

    @property
    def label(self) -> str:
        """``HS2022/2``: what a decision records as the table it used (``hs_table``)."""
        return f"{self.edition}/{self.number}"

    @property
    def active(self) -> bool:
        return self.status is VersionStatus.PUBLISHED

    def covers(self, day: date) -> bool:
        return (
            self.active
            and self.effective_from <= day
            and (self.effective_to is None or day <= self.effective_to)
        )

    def state_on(self, today: date) -> str:
        if not self.active:
            return "WITHDRAWN"
        if today < self.effective_from:
            return "SCHEDULED"
        if self.effective_to is not None and today > self.effective_to:
            return "ENDED"
        return "IN FORCE"

    def row_set(self) -> HsRowSet:
        return HsRowSet(
            edition=self.edition,
            version=self.number,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            rows=self.rows,
        )


def parse_ref(text: str) -> tuple[str, int]:
    """``D3`` -> ("draft", 3); ``HS2022/2`` -> ("HS2022", 2). Refuses anything else."""
    value = text.strip()
    if value[:1] in "Dd" and value[1:].isdigit():
        return "draft", int(value[1:])
    edition, _, number = value.partition("/")
    if edition and number.isdigit() and edition.replace("HS", "").isdigit():
        return edition.upper(), int(number)
    raise InvalidInput(f"{text!r} names neither a draft (D3) nor a version (HS2022/2)")


# -- the timeline of published versions ---------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    """What publishing a version on ``effective_from`` changes besides adding it."""

    effective_from: date
    #: the version in force before the new one: its period now ends the day before
    closes: tuple[tuple[str, date], ...] = ()
    #: scheduled versions the new one replaces (``--supersede``): they never take effect
    withdraws: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def plan_publication(
    versions: list[TableVersion],
    effective_from: date,
    today: date,
    supersede: frozenset[str] = frozenset(),
) -> Publication:
    """Place a new open-ended version on the timeline, refusing overlaps.

    The contract's rule is that one set is in force per day and stays in force until a later
    one takes effect. So the version covering the new start day (having started earlier) is
    closed the day before; any version starting on or after that day would overlap the new
    one and is refused, unless named in ``supersede`` (a scheduled version being replaced,
    e.g. a corrected HS 2027 table for 1 January 2027). A date in the past is refused:
    declarations already decided would no longer match the table that says it was in force.
    """
    if effective_from < today:
        raise HsAdminRefused(
            f"effective date {effective_from} is in the past (today is {today}):"
            f" a table cannot change what was already decided"
        )
    active = [v for v in versions if v.active]
    unknown = sorted(supersede - {v.label for v in active})
    if unknown:
        raise HsAdminRefused(f"--supersede {', '.join(unknown)}: no such published version")
    closes, withdraws = [], []
    for version in sorted(active, key=lambda v: v.effective_from):
        if version.effective_from < effective_from:
            if version.effective_to is None or version.effective_to >= effective_from:
                closes.append((version.label, effective_from - timedelta(days=1)))
            if version.label in supersede:
                raise HsAdminRefused(
                    f"{version.label} took effect on {version.effective_from}, "
                    f"before {effective_from}: it is ended, not superseded"
                )
        elif version.label in supersede:
            withdraws.append(version.label)
        else:
            period = f"{version.effective_from} to {version.effective_to or 'open'}"
            raise HsAdminRefused(
                f"a version effective from {effective_from} would overlap {version.label} "
                f"({period}); to replace {version.label} before it takes effect, publish with "
                f"--supersede {version.label}"
            )
    if len(closes) > 1:  # cannot happen while periods are disjoint; never silently repair
        raise HsAdminRefused(f"versions {', '.join(c[0] for c in closes)} overlap already")
    return Publication(effective_from, tuple(closes), tuple(withdraws))


def tables_in_force(versions: list[TableVersion]) -> list[HsRowSet]:
    """The active versions as row sets for ``HsTables`` (withdrawn versions never apply)."""
    return [v.row_set() for v in versions if v.active]
