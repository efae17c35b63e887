"""The checks of contract section 5 that concern a permit as a whole.

Each returns the reasons that fail, with a message a customs officer can act on. They never
stop at the first failure: the contract asks for every reason that applies to be listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from cites_connector.domain.decisions import Reason, ReasonCode, Severity
from cites_connector.domain.declarations import Declaration, Flow
from cites_connector.domain.parties import PartyMatch, compare_parties, shown_name
from cites_connector.domain.permits import ConsignmentPolicy, Permit, PermitStatus, PermitType

#: Which permit types fit which flow (contract section 5, "permit type and issuer fit the flow")
FITTING_TYPES: dict[Flow, frozenset[PermitType]] = {
    Flow.EXPORT: frozenset(
        {PermitType.EXPORT, PermitType.RE_EXPORT, PermitType.CERTIFICATE_OF_ORIGIN}
    ),
    Flow.RE_EXPORT: frozenset({PermitType.RE_EXPORT}),
    Flow.IMPORT: frozenset(
        {PermitType.EXPORT, PermitType.RE_EXPORT, PermitType.CERTIFICATE_OF_ORIGIN}
    ),
}


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


def validity_reasons(permit: Permit, on: date) -> list[Reason]:
    if on < permit.valid_from:
        return [
            Reason(
                ReasonCode.PERMIT_NOT_YET_VALID,
                f"{_name(permit)} is valid from {permit.valid_from.isoformat()}; "
                f"the declaration is dated {on.isoformat()}",
            )
        ]
    if on > permit.valid_until:
        return [
            Reason(
                ReasonCode.PERMIT_EXPIRED,
                f"{_name(permit)} expired on {permit.valid_until.isoformat()}; "
                f"the declaration is dated {on.isoformat()}",
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
    reasons: list[Reason] = []
    fitting = FITTING_TYPES.get(declaration.flow, frozenset())
    if permit.type not in fitting:
        wanted = ", ".join(sorted(t.value for t in fitting))
        reasons.append(
            Reason(
                ReasonCode.PERMIT_WRONG_TYPE,
                f"{_name(permit)} is of type {permit.type.value}; a "
                f"{declaration.flow.value.lower().replace('_', '-')} needs {wanted}",
            )
        )
    issuer = expected_issuer(declaration, home_country)
    if issuer is None:
        reasons.append(
            Reason(
                ReasonCode.PERMIT_WRONG_ISSUER,
                f"the declaration names no country of export, so the issuer of "
                f"{_name(permit)} cannot be checked",
            )
        )
    elif permit.issuing_country != issuer:
        reasons.append(
            Reason(
                ReasonCode.PERMIT_WRONG_ISSUER,
                f"{_name(permit)} was issued by {permit.issuing_country}; this "
                f"declaration needs a permit issued by {issuer}",
            )
        )
    return reasons


def country_reasons(permit: Permit, declaration: Declaration, home_country: str) -> list[Reason]:
    """The permit's importer country must be where the goods go."""
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
    for role, on_permit, declared in (
        ("exporter", permit.exporter, declaration.exporter),
        ("importer", permit.importer, declaration.consignee),
    ):
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


def permit_reasons(
    permit: Permit, declaration: Declaration, declaration_id: str, home_country: str
) -> list[Reason]:
    """Every permit-level check, in the order of the contract's table."""
    return [
        *status_reasons(permit),
        *validity_reasons(permit, declaration.date),
        *used_up_reasons(permit, declaration_id),
        *type_and_issuer_reasons(permit, declaration, home_country),
        *country_reasons(permit, declaration, home_country),
        *party_reasons(permit, declaration),
    ]


def choose_permit(candidates: Sequence[Permit], issuer: str | None, home: str) -> Permit:
    """Contract section 2: with several permits of one number, take the expected issuer's."""
    for wanted in (issuer, home):
        for permit in candidates:
            if permit.issuing_country == wanted:
                return permit
    return sorted(candidates, key=lambda p: p.issuing_country)[0]
