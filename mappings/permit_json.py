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

Nothing here does I/O: the permit comes in as bytes, text or an already decoded dict.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from cites_connector.domain import limits
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
from cites_connector.mappings import permit_fields as f
from cites_connector.mappings.permit_fields import MAX_VERSION  # noqa: F401 - re-exported

#: CITES source codes (primer "Code lists"); Y (assisted production) is in Res. Conf. 12.3.
SOURCE_CODES = ("W", "R", "D", "A", "C", "F", "U", "I", "O", "X", "Y")
#: CITES purpose-of-transaction codes (form box 5a).
PURPOSE_CODES = ("B", "E", "G", "H", "L", "M", "N", "P", "Q", "S", "T", "Z")
APPENDICES = ("I", "II", "III")
#: a rejection reason travels in an AMQP header: keep it bounded
MAX_PROBLEMS_SHOWN = 20


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _PartyBody(_Body):
    name: Annotated[str | None, f.text(limits.PARTY_NAME)] = None
    country: Annotated[str | None, f.country(optional=True)] = None
    id: Annotated[str | None, f.text(limits.PARTY_ID, identifier=True)] = None


class _LineBody(_Body):
    line: Annotated[str, PlainValidator(f.line_letter)]
    taxon: Annotated[str, PlainValidator(f.taxon)]
    quantity: Annotated[Decimal, PlainValidator(f.quantity)]
    unit: Annotated[str | None, PlainValidator(f.unit)] = None
    appendix: Annotated[str | None, f.one_of(APPENDICES, optional=True)] = None
    source: Annotated[str | None, f.one_of(SOURCE_CODES, optional=True)] = None
    term: Annotated[str | None, PlainValidator(f.term)] = None
    origin_country: Annotated[str | None, f.country(optional=True, allow_unknown=True)] = None
    description: Annotated[str | None, f.text(limits.DESCRIPTION)] = None


class _Identity(_Body):
    """What every permit event carries: the permit's key and its version."""

    permit_number: Annotated[str, f.text(limits.PERMIT_NUMBER, required=True, identifier=True)]
    issuing_country: Annotated[str, f.country(optional=False)]
    version: Annotated[int, PlainValidator(f.version)]


class _StatusChangeBody(_Identity):
    reason: Annotated[str | None, f.text(limits.STATUS_REASON)] = None


class _PermitBody(_Identity):
    type: Annotated[PermitType, f.enum(PermitType)]
    status: Annotated[PermitStatus, f.enum(PermitStatus)] = PermitStatus.VALID
    issued_on: Annotated[date | None, f.iso_date(optional=True)] = None
    valid_from: Annotated[date, f.iso_date()]
    valid_until: Annotated[date, f.iso_date()]
    consignment_policy: Annotated[ConsignmentPolicy, f.enum(ConsignmentPolicy)] = (
        ConsignmentPolicy.SINGLE
    )
    exporter: _PartyBody | None = None
    importer: _PartyBody | None = None
    purpose: Annotated[str | None, f.one_of(PURPOSE_CODES, optional=True)] = None
    security_stamp: Annotated[str | None, f.text(limits.STAMP, identifier=True)] = None
    replaces: Annotated[str | None, f.text(limits.PERMIT_NUMBER, identifier=True)] = None
    lines: Annotated[list[_LineBody], BeforeValidator(f.line_count)]

    @field_validator("valid_until")
    @classmethod
    def _not_before_valid_from(cls, value: date, info: ValidationInfo) -> date:
        valid_from = info.data.get("valid_from")
        if valid_from is not None and value < valid_from:
            raise f.refuse(f"{value.isoformat()} is before valid_from {valid_from.isoformat()}")
        return value


def _json_object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Two ``quantity`` keys in one line is an error, not "the last one wins"."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _load(data: bytes | bytearray | memoryview | str | dict | list) -> Any:
    """Decoded JSON; floats become ``Decimal`` so that a quantity is never rounded."""
    if isinstance(data, (dict, list)):
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidPermit(
                f"invalid JSON: the body is not UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
    if not isinstance(data, str):
        raise InvalidPermit(f"invalid JSON: expected text or an object, not {type(data).__name__}")
    try:
        return json.loads(
            data,
            parse_float=Decimal,
            parse_constant=_no_constant,
            object_pairs_hook=_json_object_without_duplicate_keys,
        )
    except (ValueError, RecursionError) as exc:
        raise InvalidPermit(f"invalid JSON: {exc}") from None


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _line_label(raw: Any, loc: tuple[int | str, ...]) -> str:
    """' (line B)' after a line's path, when the line's letter can be read."""
    if len(loc) < 2 or loc[0] != "lines" or not isinstance(loc[1], int):
        return ""
    try:
        letter = raw["lines"][loc[1]]["line"]
    except (KeyError, IndexError, TypeError):
        return ""
    if not isinstance(letter, str) or not f.LINE_LETTERS.fullmatch(letter.strip()):
        return ""
    return f" (line {letter.strip()})"


def _problems(error: ValidationError, raw: Any) -> list[str]:
    problems = []
    for detail in error.errors(include_url=False):
        loc, kind = detail["loc"], detail["type"]
        if kind == "missing":
            message = "is required"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = f"must be a JSON object, not {f.kind(detail['input'])}"
        elif kind == "list_type":
            message = f"must be a JSON list, not {f.kind(detail['input'])}"
        else:
            message = detail["msg"]
        where = _path(loc) + _line_label(raw, loc)
        problems.append(f"{where}: {message}" if where else message)
    return problems


def _duplicate_letters(raw: Any) -> list[str]:
    """Checked on the raw lines so that it is reported even when another line is invalid."""
    lines = raw.get("lines") if isinstance(raw, dict) else None
    if not isinstance(lines, list):
        return []
    first_seen: dict[str, int] = {}
    problems = []
    for index, line in enumerate(lines):
        letter = line.get("line") if isinstance(line, dict) else None
        if not isinstance(letter, str) or not f.LINE_LETTERS.fullmatch(letter.strip()):
            continue
        letter = letter.strip()
        if letter in first_seen:
            problems.append(
                f"lines[{index}].line: duplicate line letter {letter!r} "
                f"(also lines[{first_seen[letter]}])"
            )
        else:
            first_seen[letter] = index
    return problems


def _validate(raw: Any, model: type[_Body]) -> tuple[Any, list[str]]:
    try:
        body, problems = model.model_validate(raw), []
    except ValidationError as error:
        body, problems = None, _problems(error, raw)
    if model is _PermitBody:
        problems += _duplicate_letters(raw)
    return body, problems


def _subject(raw: Any) -> str:
    number = raw.get("permit_number") if isinstance(raw, dict) else None
    if (
        isinstance(number, str)
        and 0 < len(number.strip()) <= limits.PERMIT_NUMBER
        and not f.CONTROL.search(number)
    ):
        return f"permit {number.strip()}"
    return "invalid permit"


def _report(raw: Any, problems: list[str]) -> str:
    shown = problems[:MAX_PROBLEMS_SHOWN]
    hidden = len(problems) - len(shown)
    text = "; ".join(shown) + (f"; and {hidden} more problems" if hidden else "")
    return f"{_subject(raw)}: {text}"


def _party(body: _PartyBody | None) -> Party:
    return Party() if body is None else Party(name=body.name, country=body.country, id=body.id)


def _to_permit(body: _PermitBody) -> Permit:
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
            )
            for ln in body.lines
        ),
    )


def parse_permit(data: bytes | str | dict) -> Permit:
    """A full permit (``permit.issued``, ``permit.amended``, a lookup reply) as the domain's.

    Raises ``InvalidPermit`` naming every problem by its JSON path.
    """
    raw = _load(data)
    body, problems = _validate(raw, _PermitBody)
    if problems:
        raise InvalidPermit(_report(raw, problems))
    return _to_permit(body)


def parse_permit_list(data: bytes | str | dict | list) -> list[Permit]:
    """One permit or a JSON list of permits (``permits import FILE``); all or nothing."""
    raw = _load(data)
    if not isinstance(raw, list):
        return [parse_permit(raw)]
    permits, failures = [], []
    for index, item in enumerate(raw):
        body, problems = _validate(item, _PermitBody)
        if problems:
            failures.append(f"[{index}] {_report(item, problems)}")
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


def parse_status_change(data: bytes | str | dict, status: PermitStatus) -> PermitStatusChange:
    """A ``permit.cancelled`` / ``suspended`` / ``reinstated`` body.

    The new status comes from the routing key, not the body: the contract's body has no
    status field, and a ``status`` the sender adds anyway is ignored like any unknown field.
    """
    raw = _load(data)
    body, problems = _validate(raw, _StatusChangeBody)
    if problems:
        raise InvalidPermit(_report(raw, problems))
    return PermitStatusChange(
        permit_number=body.permit_number,
        issuing_country=body.issuing_country,
        version=body.version,
        status=PermitStatus(status),
        reason=body.reason,
    )


def _party_json(party: Party) -> dict[str, str | None]:
    return {"name": party.name, "country": party.country, "id": party.id}


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
        }
        for ln in permit.lines
    ]
    return body
