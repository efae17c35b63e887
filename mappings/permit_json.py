"""The JSON permit of contract 3.1, translated to and from the domain ``Permit``.

A permit system publishes permits as JSON on ``cites.permits`` (and answers ``permit.lookup``
with the same shape); the CLI imports and exports them. A bad permit must be refused in one
go with every problem named by its JSON path (``lines[1].quantity``, indexes from 0), because
the message ends up in the ``x-rejection-reason`` header of the dead-lettered copy and in the
CLI's output: whoever fixes the permit system should not have to replay it problem by problem.

Choices an integrator can rely on:

- Unknown fields are ignored at every level (permit, party, line). The contract grows by
  adding fields; a permit system one version ahead must not have its permits dead-lettered.
  Known fields are validated strictly: a JSON number is refused where the contract has text
  (``security_stamp`` "0012345" would lose its zeros), ``true`` is never a version or quantity.
- Values are case-sensitive, as the contract writes them; only surrounding blanks are trimmed.
  The one exception is ``unit``, which goes through ``units.normalise_unit`` (so ``NAR``/``NO``
  mean number of specimens, as customs systems write them).
- Countries are ISO 3166-1 alpha-2 codes known to ISO today. ``origin_country`` may also be
  ``XX``, the code CITES trade data uses for an unknown origin.
- Sizes are contract 3.1 (v2)'s field limits, kept in ``cites_connector.domain.limits`` with the
  ledger's column sizes: ``permit_number`` 1-64 characters, ``taxon`` 1-200 (after runs of
  blanks are collapsed), party names and ids up to 200, ``description`` up to 1,000, at most
  10,000 lines. Over a limit, the message names the field and the limit.
- ``quantity`` is a decimal string (or a JSON number) of ASCII digits above zero, with at most
  15 digits before and 6 after the point (contract section 1), and at most
  9,223,372,036,854.775807: the ledger keeps millionths in a 64-bit integer. A line for
  nothing is refused: zero is not a quantity a Management Authority can authorise.
- ``version`` is a whole number from 1 to 2**31-1 (an SQL ``INTEGER``); a string of digits is
  accepted, as for the ``permit-version`` AMQP header.
- Terms are any three upper-case letters: CITES has more terms than the primer lists.
- Line letters are one to three upper-case letters (A..Z, then AA...), unique in a permit.
- Whether a version is newer than the stored one is the ledger's question, not this module's.

Nothing here does I/O: the permit comes in as bytes, text or an already decoded dict. The
body's fields are declared in ``permit_json_schema``, checked by ``permit_fields``; decoding and
the problem report are in ``permit_json_problems``.
"""

from __future__ import annotations

from typing import Any

from cites_connector.domain.errors import InvalidPermit
from cites_connector.domain.permits import (
    ConsignmentPolicy,
    Party,
    Permit,
    PermitLine,
    PermitStatus,
    PermitStatusChange,
    PermitType,
)
from cites_connector.domain.units import format_decimal
from cites_connector.mappings.permit_json_problems import (
    MAX_PROBLEMS_SHOWN,
    JsonInput,
    load,
    report,
    validate,
)
from cites_connector.mappings.permit_json_schema import PartyBody, PermitBody, StatusChangeBody


def _party(body: PartyBody | None) -> Party:
    return Party() if body is None else Party(name=body.name, country=body.country, id=body.id)


def _to_permit(body: PermitBody) -> Permit:
    return Permit(
        permit_number=body.permit_number,
        issuing_country=body.issuing_country,
        version=body.version,
        type=body.type,
        status=body.status,
        issued_on=body.issued_on,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        consignment_policy=body.consignment_policy,
        exporter=_party(body.exporter),
        importer=_party(body.importer),
        purpose=body.purpose,
        security_stamp=body.security_stamp,
        replaces=body.replaces,
        lines=tuple(
            PermitLine(
                line=ln.line,
                taxon=ln.taxon,
                quantity=ln.quantity,
                unit=ln.unit,
                appendix=ln.appendix,
                source=ln.source,
                term=ln.term,
                origin_country=ln.origin_country,
                description=ln.description,
                exported_quantity=ln.exported_quantity,
                origin_permit_number=ln.origin_permit_number,
            )
            for ln in body.lines
        ),
    )


def parse_permit(data: JsonInput) -> Permit:
    """A full permit (``permit.issued``, ``permit.amended``, a lookup reply) as the domain's.

    Raises ``InvalidPermit`` naming every problem by its JSON path.
    """
    raw = load(data)
    body, problems = validate(raw, PermitBody)
    if body is None or problems:
        raise InvalidPermit(report(raw, problems))
    return _to_permit(body)


def parse_permit_list(data: JsonInput) -> list[Permit]:
    """One permit or a JSON list of permits (``permits import FILE``); all or nothing."""
    raw = load(data)
    if not isinstance(raw, list):
        return [parse_permit(raw)]
    permits: list[Permit] = []
    failures: list[str] = []
    for index, item in enumerate(raw):
        body, problems = validate(item, PermitBody)
        if body is None or problems:
            failures.append(f"[{index}] {report(item, problems)}")
        else:
            permits.append(_to_permit(body))
    if failures:
        shown = " | ".join(failures[:MAX_PROBLEMS_SHOWN])
        more = len(failures) - MAX_PROBLEMS_SHOWN
        raise InvalidPermit(
            f"{len(failures)} of {len(raw)} permits are invalid: {shown}"
            + (f" | and {more} more" if more > 0 else "")
        )
    return permits


def parse_status_change(data: JsonInput, status: PermitStatus) -> PermitStatusChange:
    """A ``permit.cancelled`` / ``suspended`` / ``reinstated`` body.

    The new status comes from the routing key, not the body: the contract's body has no
    status field, and a ``status`` the sender adds anyway is ignored like any unknown field.
    """
    raw = load(data)
    body, problems = validate(raw, StatusChangeBody)
    if body is None or problems:
        raise InvalidPermit(report(raw, problems))
    return PermitStatusChange(
        permit_number=body.permit_number,
        issuing_country=body.issuing_country,
        version=body.version,
        status=PermitStatus(status),
        reason=body.reason,
    )


def _party_json(party: Party) -> dict[str, str | None]:
    return {"name": party.name, "country": party.country, "id": party.id}


def _line_v2(line: PermitLine) -> dict[str, str]:
    """The v2 line fields, written only when set (output stays the contract's example)."""
    fields: dict[str, str] = {}
    if line.exported_quantity is not None:
        fields["exported_quantity"] = format_decimal(line.exported_quantity)
    if line.origin_permit_number is not None:
        fields["origin_permit_number"] = line.origin_permit_number
    return fields


def permit_to_json(permit: Permit) -> dict[str, Any]:
    """The contract 3.1 body for a permit: quantities as decimal strings, dates ISO.

    What the ledger adds (``remaining``, ``used_by``) is not part of the permit event and is
    left out; ``replaces`` is written only when set, so output matches the contract example.
    """
    body: dict[str, Any] = {
        "permit_number": permit.permit_number,
        "issuing_country": permit.issuing_country,
        "version": permit.version,
        "type": PermitType(permit.type).value,
        "status": PermitStatus(permit.status).value,
        "issued_on": permit.issued_on.isoformat() if permit.issued_on else None,
        "valid_from": permit.valid_from.isoformat(),
        "valid_until": permit.valid_until.isoformat(),
        "consignment_policy": ConsignmentPolicy(permit.consignment_policy).value,
        "exporter": _party_json(permit.exporter),
        "importer": _party_json(permit.importer),
        "purpose": permit.purpose,
        "security_stamp": permit.security_stamp,
    }
    if permit.replaces is not None:
        body["replaces"] = permit.replaces
    body["lines"] = [
        {
            "line": ln.line,
            "taxon": ln.taxon,
            "appendix": ln.appendix,
            "source": ln.source,
            "term": ln.term,
            "quantity": format_decimal(ln.quantity),
            "unit": ln.unit,
            "origin_country": ln.origin_country,
            "description": ln.description,
            **_line_v2(ln),
        }
        | _v2_line_fields(ln)
        for ln in permit.lines
    ]
    return body


def _v2_line_fields(line: PermitLine) -> dict[str, str]:
    """Box 14 and the origin permit, written only when the line has them (contract 3.1 v2)."""
    fields: dict[str, str] = {}
    if line.exported_quantity is not None:
        fields["exported_quantity"] = format_decimal(line.exported_quantity)
    if line.origin_permit_number is not None:
        fields["origin_permit_number"] = line.origin_permit_number
    return fields
