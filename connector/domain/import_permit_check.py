"""Appendix I imports (CITES Art. III(3)): the home country's import permit must be cited and
valid beside the exporting country's document, and is written off too (Art. VI(6))."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import Reason, ReasonCode, Severity, WriteOff
from cites_connector.domain.declarations import Declaration, DeclarationItem
from cites_connector.domain.line_checks import LineResult, TaxonomyView, check_line
from cites_connector.domain.permit_checks import permit_reasons
from cites_connector.domain.permits import Permit, PermitType
from cites_connector.domain.write_off_plan import Draws, plan_write_off


def check_import_permit(
    policy: DecisionPolicy,
    taxonomy: TaxonomyView,
    declaration_id: str,
    declaration: Declaration,
    item: DeclarationItem,
    export: LineResult,
    companions: Sequence[Permit],
    draws: Draws,
) -> tuple[list[Reason], list[WriteOff]]:
    """Appendix I import (Art. III(3)): the home import permit must be cited and valid too."""
    taxon = export.line.taxon
    problems: list[str] = []
    for permit in companions:
        general = [
            r
            for r in permit_reasons(permit, declaration, declaration_id, policy.home_country)
            if r.code not in (ReasonCode.PERMIT_WRONG_TYPE, ReasonCode.PERMIT_WRONG_ISSUER)
            and policy.severity_of(r) is Severity.BLOCK
        ]
        fitting = [
            p
            for t, positions in permit.index.taxa.items()
            if t.casefold() == taxon.casefold() or taxonomy.is_within(taxon, t)
            for p in positions
        ]
        for line in (permit.lines[p] for p in sorted(fitting)):
            result = check_line(
                item,
                permit,
                line,
                [_AnyTaxon(line.taxon)],
                taxonomy,
                item.hs_code,
                draws.of(permit, line.line),
            )
            blocking = general + [
                r for r in result.reasons if r.code is not ReasonCode.TERM_MISMATCH
            ]
            if not blocking and result.quantity is not None:
                return [], [
                    plan_write_off(permit, line, item.number, result.quantity.amount, draws)
                ]
            problems.extend(r.message for r in blocking)
        if not problems:
            problems.append(f"import permit {permit.permit_number} has no line for {taxon}")
    if not companions and export.permit.type is PermitType.IMPORT:
        problems.append(
            f"import permit {export.permit.permit_number} is cited, but not the "
            f"exporting country's export permit or re-export certificate"
        )
    elif not companions:
        problems.append(f"no import permit of {policy.home_country} is cited")
    return [
        Reason(
            ReasonCode.IMPORT_PERMIT_REQUIRED,
            f"{taxon} is listed in Appendix I: a valid import permit issued by "
            f"{policy.home_country} must be cited as well ({'; '.join(problems)})",
        )
    ], []


@dataclass(frozen=True)
class _AnyTaxon:
    """A stand-in HS row for checking an import permit line: species was checked already."""

    taxon: str
    terms: frozenset[str] = frozenset()
