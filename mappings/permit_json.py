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
- ``quantity`` is a decimal string (or a JSON number) above zero with at most 12 digits before
  and 6 after the point, which fits an SQL ``NUMERIC(18, 6)``. A line for nothing is refused:
  zero is not a quantity a Management Authority can authorise.
- ``version`` is a whole number from 1 to 2**31-1 (an SQL ``INTEGER``); a string of digits is
  accepted, as for the ``permit-version`` AMQP header.
- Terms are any three upper-case letters: CITES has more terms than the primer lists.
- Line letters are one to three upper-case letters (A..Z, then AA...), unique in a permit.
- Whether a version is newer than the stored one is the ledger's question, not this module's.

Nothing here does I/O: the permit comes in as bytes, text or an already decoded dict.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Callable

import pycountry
from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError, ValidationInfo
from pydantic import field_validator
from pydantic_core import PydanticCustomError

from connector.domain.errors import InvalidPermit
from connector.domain.permits import (
    ConsignmentPolicy,
    Party,
    Permit,
    PermitLine,
    PermitStatus,
    PermitStatusChange,
    PermitType,
)
from connector.domain.units import CITES_UNITS, UnknownUnit, canonical, format_decimal
from connector.domain.units import normalise_unit

#: CITES source codes (primer "Code lists"); Y (assisted production) is in Res. Conf. 12.3.
SOURCE_CODES = ("W", "R", "D", "A", "C", "F", "U", "I", "O", "X", "Y")
#: CITES purpose-of-transaction codes (form box 5a).
PURPOSE_CODES = ("B", "E", "G", "H", "L", "M", "N", "P", "Q", "S", "T", "Z")
APPENDICES = ("I", "II", "III")
UNKNOWN_ORIGIN = "XX"
MAX_VERSION = 2**31 - 1
QUANTITY_INTEGER_DIGITS = 12
QUANTITY_DECIMAL_PLACES = 6
#: a rejection reason travels in an AMQP header: keep it bounded
MAX_PROBLEMS_SHOWN = 20

_DECIMAL_TEXT = re.compile(r"[+-]?\d+(\.\d+)?", re.ASCII)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_LINE_LETTERS = re.compile(r"[A-Z]{1,3}")
_TERM = re.compile(r"[A-Z]{3}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("permit_field", message)


def _show(value: Any) -> str:
    """A value as quoted in an error message, cut short: senders may send anything."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, (list, tuple)) else "an object"


def _text(max_len: int, *, required: bool = False, identifier: bool = False) -> PlainValidator:
    """Text trimmed of blanks; empty means absent. Identifiers must be one clean line."""

    def check(value: Any) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise _refuse(f"must be text, not {_kind(value)}")
        value = value.strip()
        if not value:
            if required:
                raise _refuse("must not be empty")
            return None
        if len(value) > max_len:
            raise _refuse(f"must be at most {max_len} characters (got {len(value)})")
        if identifier and _CONTROL.search(value):
            raise _refuse(f"{_show(value)} contains control characters")
        return value

    return PlainValidator(check)


def _one_of(choices: tuple[str, ...], convert: Callable[[str], Any] = str, *,
            optional: bool = False) -> PlainValidator:
    def check(value: Any) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, str) or value.strip() not in choices:
            raise _refuse(f"{_show(value)} is not one of {', '.join(choices)}")
        return convert(value.strip())

    return PlainValidator(check)


def _enum(enum: type, *, optional: bool = False) -> PlainValidator:
    return _one_of(tuple(member.value for member in enum), enum, optional=optional)


def _country(*, optional: bool, allow_unknown: bool = False) -> PlainValidator:
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        code = value.strip() if isinstance(value, str) else value
        if allow_unknown and code == UNKNOWN_ORIGIN:
            return code
        if not isinstance(code, str) or len(code) != 2 or not code.isupper() \
                or pycountry.countries.get(alpha_2=code) is None:
            raise _refuse(f"{_show(value)} is not an ISO 3166-1 alpha-2 country code")
        return code

    return PlainValidator(check)


def _iso_date(*, optional: bool = False) -> PlainValidator:
    def check(value: Any) -> date | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
            raise _refuse(f"{_show(value)} is not a date in the form yyyy-mm-dd")
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise _refuse(f"{_show(value)} is not a calendar date") from None

    return PlainValidator(check)


def _version(value: Any) -> int:
    digits = value.strip() if isinstance(value, str) else None
    if digits and digits.isascii() and digits.isdigit():
        value = int(digits) if len(digits) <= 12 else MAX_VERSION + 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(f"must be a whole number, not {_show(value)}")
    if not 1 <= value <= MAX_VERSION:
        raise _refuse(f"must be between 1 and {MAX_VERSION} (got {value})")
    return value


def _quantity(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise _refuse(f"must be a decimal string such as \"40\", not {_kind(value)}")
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value.strip()):
            raise _refuse(f"{_show(value)} is not a decimal number")
        value = value.strip()
    amount = Decimal(repr(value) if isinstance(value, float) else value)
    if not amount.is_finite():
        raise _refuse(f"must be a finite number, not {value}")
    if amount <= 0:
        raise _refuse(f"must be greater than zero (got {_show(value)})")
    if amount.adjusted() >= QUANTITY_INTEGER_DIGITS:
        raise _refuse(f"must have at most {QUANTITY_INTEGER_DIGITS} digits before the point")
    if amount.normalize().as_tuple().exponent < -QUANTITY_DECIMAL_PLACES:
        raise _refuse(f"must have at most {QUANTITY_DECIMAL_PLACES} decimal places")
    return canonical(amount)


def _unit(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _refuse(f"must be a CITES unit code or null, not {_kind(value)}")
    try:
        return normalise_unit(value)
    except UnknownUnit:
        known = ", ".join(code for code in CITES_UNITS if code is not None)
        raise _refuse(f"{_show(value)} is not a CITES unit ({known}, "
                      "or null for number of specimens)") from None


def _line_letter(value: Any) -> str:
    if not isinstance(value, str) or not _LINE_LETTERS.fullmatch(value.strip()):
        raise _refuse(f"{_show(value)} is not a line letter (A, B, ... Z, AA, ...)")
    return value.strip()


def _term(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _TERM.fullmatch(value.strip()):
        raise _refuse(f"{_show(value)} is not a CITES term code (three upper-case letters)")
    return value.strip()


_required_name = _text(255, required=True).func


def _taxon(value: Any) -> str:
    """Scientific name with blanks collapsed: 'Python  regius' is the same taxon."""
    return " ".join(_required_name(value).split())


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _PartyBody(_Body):
    name: Annotated[str | None, _text(255)] = None
    country: Annotated[str | None, _country(optional=True)] = None
    id: Annotated[str | None, _text(64, identifier=True)] = None


class _LineBody(_Body):
    line: Annotated[str, PlainValidator(_line_letter)]
    taxon: Annotated[str, PlainValidator(_taxon)]
    quantity: Annotated[Decimal, PlainValidator(_quantity)]
    unit: Annotated[str | None, PlainValidator(_unit)] = None
    appendix: Annotated[str | None, _one_of(APPENDICES, optional=True)] = None
    source: Annotated[str | None, _one_of(SOURCE_CODES, optional=True)] = None
    term: Annotated[str | None, PlainValidator(_term)] = None
    origin_country: Annotated[str | None, _country(optional=True, allow_unknown=True)] = None
    description: Annotated[str | None, _text(1000)] = None


class _Identity(_Body):
    """What every permit event carries: the permit's key and its version."""

    permit_number: Annotated[str, _text(64, required=True, identifier=True)]
    issuing_country: Annotated[str, _country(optional=False)]
    version: Annotated[int, PlainValidator(_version)]


class _StatusChangeBody(_Identity):
    reason: Annotated[str | None, _text(1000)] = None


class _PermitBody(_Identity):
    type: Annotated[PermitType, _enum(PermitType)]
    status: Annotated[PermitStatus, _enum(PermitStatus)] = PermitStatus.VALID
    issued_on: Annotated[date | None, _iso_date(optional=True)] = None
    valid_from: Annotated[date, _iso_date()]
    valid_until: Annotated[date, _iso_date()]
    consignment_policy: Annotated[ConsignmentPolicy, _enum(ConsignmentPolicy)] = (
        ConsignmentPolicy.SINGLE
    )
    exporter: _PartyBody | None = None
    importer: _PartyBody | None = None
    purpose: Annotated[str | None, _one_of(PURPOSE_CODES, optional=True)] = None
    security_stamp: Annotated[str | None, _text(64, identifier=True)] = None
    replaces: Annotated[str | None, _text(64, identifier=True)] = None
    lines: list[_LineBody]

    @field_validator("valid_until")
    @classmethod
    def _not_before_valid_from(cls, value: date, info: ValidationInfo) -> date:
        valid_from = info.data.get("valid_from")
        if valid_from is not None and value < valid_from:
            raise _refuse(f"{value.isoformat()} is before valid_from {valid_from.isoformat()}")
        return value

    @field_validator("lines")
    @classmethod
    def _at_least_one(cls, value: list[_LineBody]) -> list[_LineBody]:
        if not value:
            raise _refuse("a permit needs at least one line")
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
        return json.loads(data, parse_float=Decimal, parse_constant=_no_constant,
                          object_pairs_hook=_json_object_without_duplicate_keys)
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
    if not isinstance(letter, str) or not _LINE_LETTERS.fullmatch(letter.strip()):
        return ""
    return f" (line {letter.strip()})"


def _problems(error: ValidationError, raw: Any) -> list[str]:
    problems = []
    for detail in error.errors(include_url=False):
        loc, kind = detail["loc"], detail["type"]
        if kind == "missing":
            message = "is required"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = f"must be a JSON object, not {_kind(detail['input'])}"
        elif kind == "list_type":
            message = f"must be a JSON list, not {_kind(detail['input'])}"
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
        if not isinstance(letter, str) or not _LINE_LETTERS.fullmatch(letter.strip()):
            continue
        letter = letter.strip()
        if letter in first_seen:
            problems.append(f"lines[{index}].line: duplicate line letter {letter!r} "
                            f"(also lines[{first_seen[letter]}])")
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
    if isinstance(number, str) and 0 < len(number.strip()) <= 64 \
            and not _CONTROL.search(number):
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
            PermitLine(line=ln.line, taxon=ln.taxon, quantity=ln.quantity, unit=ln.unit,
                       appendix=ln.appendix, source=ln.source, term=ln.term,
                       origin_country=ln.origin_country, description=ln.description)
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
        raise InvalidPermit(f"{len(failures)} of {len(raw)} permits are invalid: {shown}"
                            + (f" | and {more} more" if more > 0 else ""))
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
        {"line": ln.line, "taxon": ln.taxon, "appendix": ln.appendix, "source": ln.source,
         "term": ln.term, "quantity": format_decimal(ln.quantity), "unit": ln.unit,
         "origin_country": ln.origin_country, "description": ln.description}
        for ln in permit.lines
    ]
    return body
