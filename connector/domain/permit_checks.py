"""The checks of contract section 5 that concern a permit as a whole.

Each returns the reasons that fail, with a message a customs officer can act on. They never
stop at the first failure: the contract asks for every reason that applies to be listed.
"""

from __future__ import annotations

from collections.abc import Sequence

from cites_connector.domain.decisions import Reason, ReasonCode, Severity
from cites_connector.domain.declarations import Declaration, Flow
from cites_connector.domain.document_types import (
    HELD_CERTIFICATES,
    Issuer,
    fitting_types,
    issuer_for,
)
from cites_connector.domain.parties import PartyMatch, compare_parties, shown_name
from cites_connector.domain.permits import ConsignmentPolicy, Party, Permit, PermitStatus
from cites_connector.domain.validity import usable_until


def _name(permit: Permit) -> str:
    return f"permit {permit.permit_number} ({permit.issuing_country})"


def expected_issuer(declaration: Declaration, home_country: str) -> str | None:
    """Exports and re-exports need the home country's permit; imports the exporting country's."""
    if declaration.flow is Flow.IMPORT:
        return declaration.export_country
    return home_country


def status_reasons(permit: Permit) -> list[Reason]:
    if permit.status is PermitStatus.CANCELLED:
        return [
            Reason(
                ReasonCode.PERMIT_CANCELLED,
                f"{_name(permit)} has been cancelled by its issuing authority",
            )
        ]
    if permit.status is PermitStatus.SUSPENDED:
        return [
            Reason(
                ReasonCode.PERMIT_SUSPENDED,
                f"{_name(permit)} is suspended by its issuing authority",
            )
        ]
    return []


def validity_reasons(
    permit: Permit, declaration: Declaration, home_country: str, foreign_permit_months: int = 6
) -> list[Reason]:
    """Valid from ``valid_from`` to its last usable day, both included: ``valid_until``, or
    earlier by the Convention (validity.py: foreign export permits at import, Art. VI(2);
    travelling-exhibition and ownership certificates)."""
    on = declaration.date
    if on < permit.valid_from:
        return [
            Reason(
                ReasonCode.PERMIT_NOT_YET_VALID,
                f"{_name(permit)} is valid from {permit.valid_from.isoformat()}; "
                f"the declaration is dated {on.isoformat()}",
            )
        ]
    usable = usable_until(permit, declaration, home_country, foreign_permit_months)
    if on > usable.last_day:
        why = (
            f"expired on {usable.last_day.isoformat()}"
            if usable.rule is None
            else f"was usable to {usable.last_day.isoformat()}: {usable.rule}, though it says "
            f"valid until {permit.valid_until.isoformat()}"
        )
        return [
            Reason(
                ReasonCode.PERMIT_EXPIRED,
                f"{_name(permit)} {why}; the declaration is dated {on.isoformat()}",
            )
        ]
    return []


def used_up_reasons(permit: Permit, declaration_id: str) -> list[Reason]:
    """Art. VI(5): a SINGLE permit serves one consignment; its first clearance uses it up."""
    if (
        permit.consignment_policy is ConsignmentPolicy.SINGLE
        and permit.used_by is not None
        and permit.used_by != declaration_id
    ):
        return [
            Reason(
                ReasonCode.PERMIT_USED_UP,
                f"{_name(permit)} is valid for one consignment only and was used by "
                f"declaration {permit.used_by}",
            )
        ]
    return []


def type_and_issuer_reasons(
    permit: Permit, declaration: Declaration, home_country: str
) -> list[Reason]:
    """Contract 5.1 (v2): the document fits the flow and was issued by whom it must be
    (document_types.py)."""
    flow = declaration.flow
    needed = issuer_for(flow, permit.type)
    if needed is None:
        wanted = ", ".join(fitting_types(flow))
        return [
            Reason(
                ReasonCode.PERMIT_WRONG_TYPE,
                f"{_name(permit)} is of type {permit.type.value}; a "
                f"{flow.value.lower().replace('_', '-')} needs {wanted}",
            )
        ]
    if needed is Issuer.ANY:
        return []
    issuer = home_country if needed is Issuer.HOME else declaration.export_country
    if issuer is None:
        return [
            Reason(
                ReasonCode.PERMIT_WRONG_ISSUER,
                f"the declaration names no country of export, so the issuer of "
                f"{_name(permit)} cannot be checked",
            )
        ]
    if permit.issuing_country != issuer:
        return [
            Reason(
                ReasonCode.PERMIT_WRONG_ISSUER,
                f"{_name(permit)} was issued by {permit.issuing_country}; this "
                f"declaration needs a {permit.type.value} issued by {issuer}",
            )
        ]
    return []


def country_reasons(permit: Permit, declaration: Declaration, home_country: str) -> list[Reason]:
    """The permit's importer country must be where the goods go. Not for certificates that
    travel with their holder (the importer named is the holder, wherever it goes)."""
    if permit.type in HELD_CERTIFICATES:
        return []
    expected = home_country if declaration.flow is Flow.IMPORT else declaration.destination_country
    actual = permit.importer.country
    if expected and actual and expected != actual:
        return [
            Reason(
                ReasonCode.COUNTRY_MISMATCH,
                f"{_name(permit)} names {actual} as country of import; the goods are "
                f"declared for {expected}",
            )
        ]
    return []


def party_reasons(permit: Permit, declaration: Declaration) -> list[Reason]:
    """Contract 5 (v2): the permit's exporter and importer are the declaration's exporter and
    consignee. Another trader id holds the item whatever the configured severity: that trader
    has a permit of its own to show, or none."""
    reasons: list[Reason] = []
    for role, on_permit, declared in _parties(permit, declaration):
        match = compare_parties(on_permit, declared)
        if match is PartyMatch.OTHER_ID:
            reasons.append(
                Reason(
                    ReasonCode.PARTY_MISMATCH,
                    f"the {role} on {_name(permit)} is trader {on_permit.id} "
                    f"({shown_name(on_permit)}); the declaration names trader {declared.id} "
                    f"({shown_name(declared)}): a permit serves only the trader it was issued to",
                    severity=Severity.BLOCK,
                )
            )
        elif match is PartyMatch.OTHER_NAME:
            reasons.append(
                Reason(
                    ReasonCode.PARTY_MISMATCH,
                    f"the {role} on {_name(permit)} is {shown_name(on_permit)}; the declaration "
                    f"names {shown_name(declared)}",
                )
            )
        elif match is PartyMatch.UNVERIFIED:
            reasons.append(
                Reason(
                    ReasonCode.PARTY_UNVERIFIED,
                    f"the {role} cannot be verified against {_name(permit)}: no trader id on both "
                    f"documents, and the permit gives {shown_name(on_permit)}, the declaration "
                    f"{shown_name(declared)} (a name needs letters to be compared)",
                )
            )
    return reasons


def _parties(permit: Permit, declaration: Declaration) -> list[tuple[str, Party, Party]]:
    """The pairs of traders to compare: exporter and importer; for a certificate used by its
    holder (contract 5.1 (v2)), the holder alone, who is the exporter at export and the
    importer at import. The holder is the certificate's permittee, its ``exporter`` (its
    ``importer`` when no exporter is named)."""
    if permit.type not in HELD_CERTIFICATES:
        return [
            ("exporter", permit.exporter, declaration.exporter),
            ("importer", permit.importer, declaration.consignee),
        ]
    holder = permit.exporter if (permit.exporter.name or permit.exporter.id) else permit.importer
    if declaration.flow is Flow.IMPORT:
        return [("holder", holder, declaration.consignee)]
    return [("holder", holder, declaration.exporter)]


def permit_reasons(
    permit: Permit,
    declaration: Declaration,
    declaration_id: str,
    home_country: str,
    foreign_permit_months: int = 6,
) -> list[Reason]:
    """Every permit-level check, in the order of the contract's table."""
    return [
        *status_reasons(permit),
        *validity_reasons(permit, declaration, home_country, foreign_permit_months),
        *used_up_reasons(permit, declaration_id),
        *type_and_issuer_reasons(permit, declaration, home_country),
        *country_reasons(permit, declaration, home_country),
        *party_reasons(permit, declaration),
        *signature_reasons(permit),
    ]


def signature_reasons(permit: Permit) -> list[Reason]:
    """An ePermit that came unsigned while signatures were checked (docs/signatures.md)."""
    if not permit.unsigned:
        return []
    return [
        Reason(
            ReasonCode.PERMIT_UNSIGNED,
            f"{_name(permit)} came as an ePermit without a signature: who issued it is not proven",
        )
    ]


def choose_permit(candidates: Sequence[Permit], issuer: str | None, home: str) -> Permit:
    """Contract section 2: with several permits of one number, take the expected issuer's."""
    for wanted in (issuer, home):
        for permit in candidates:
            if permit.issuing_country == wanted:
                return permit
    return sorted(candidates, key=lambda p: p.issuing_country)[0]
