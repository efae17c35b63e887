"""Four eyes on HS tables: who may edit, propose, approve, reject and publish a draft when.

The approver is neither the proposer nor anyone who wrote the rows, so that one person cannot
both make a table and put it in force (contract 7, v2).
"""

from __future__ import annotations

from cites_connector.domain.hs_admin import Draft, DraftStatus, HsAdminRefused, NotPermitted


def check_editable(draft: Draft) -> None:
    if draft.status is not DraftStatus.DRAFT:
        raise HsAdminRefused(
            f"draft {draft.ref} is {draft.status.value}: only a draft in status "
            f"DRAFT can be edited (a proposed draft is rejected first)"
        )


def check_can_propose(draft: Draft) -> None:
    check_editable(draft)
    if not draft.rows:
        raise HsAdminRefused(f"draft {draft.ref} has no rows")


def check_can_approve(draft: Draft, user: str) -> None:
    """The second pair of eyes: not the proposer, and not anyone who wrote the rows."""
    if draft.status is not DraftStatus.PROPOSED:
        raise HsAdminRefused(f"draft {draft.ref} is {draft.status.value}, not PROPOSED")
    if user == draft.proposed_by:
        raise NotPermitted(
            f"{user} proposed draft {draft.ref} and cannot approve it: "
            f"another approver must review it (four eyes)"
        )
    if user in draft.editors:
        raise NotPermitted(
            f"{user} edited draft {draft.ref} and cannot approve it: "
            f"another approver must review it (four eyes)"
        )


def check_can_reject(draft: Draft) -> None:
    if draft.status not in (DraftStatus.PROPOSED, DraftStatus.APPROVED):
        raise HsAdminRefused(
            f"draft {draft.ref} is {draft.status.value}: only a proposed or "
            f"approved draft can be rejected"
        )


def check_can_publish(draft: Draft) -> None:
    if draft.status is not DraftStatus.APPROVED:
        raise HsAdminRefused(
            f"draft {draft.ref} is {draft.status.value}: it must be approved "
            f"by a second person before it is published"
        )


def with_editor(editors: tuple[str, ...], user: str) -> tuple[str, ...]:
    return editors if user in editors else (*editors, user)
