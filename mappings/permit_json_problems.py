"""Decoding a permit body and naming every problem in it by its JSON path.

A bad permit is refused in one go, every problem named by its path (``lines[1].quantity``,
indexes from 0, with the line's letter when it can be read), because the message ends up in the
``x-rejection-reason`` header of the dead-lettered copy and in the CLI's output: whoever fixes
the permit system should not have to replay it problem by problem.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from cites_connector.domain import limits
from cites_connector.domain.errors import InvalidPermit
from cites_connector.mappings import permit_fields as f
from cites_connector.mappings.permit_json_schema import Body, PermitBody

#: a rejection reason travels in an AMQP header: keep it bounded
MAX_PROBLEMS_SHOWN = 20

#: what a permit body may arrive as: bytes off the wire, text, or JSON already decoded
JsonInput = bytes | bytearray | memoryview | str | dict[str, Any] | list[Any]

BodyT = TypeVar("BodyT", bound=Body)


def _json_object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Two ``quantity`` keys in one line is an error, not "the last one wins": refused
    naming the first key seen again. The dict is built in C; only an object with fewer keys
    than members (a duplicate) is walked to name it (issue 14)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


#: ``json.loads`` with these arguments builds this decoder on every call (issue 14)
_DECODER = json.JSONDecoder(
    parse_float=Decimal,
    parse_constant=_no_constant,
    object_pairs_hook=_json_object_without_duplicate_keys,
)


def load(data: JsonInput) -> Any:
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
        if data.startswith("\ufeff"):  # json.loads refuses it before decoding: its message
            return json.loads(data)
        return _DECODER.decode(data)
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
    problems: list[str] = []
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
    problems: list[str] = []
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


def validate(raw: Any, model: type[BodyT]) -> tuple[BodyT | None, list[str]]:
    """The body, or None with every problem found (the body may be None only with problems)."""
    body: BodyT | None
    try:
        body, problems = model.model_validate(raw), []
    except ValidationError as error:
        body, problems = None, _problems(error, raw)
    if model is PermitBody:
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


def report(raw: Any, problems: list[str]) -> str:
    shown = problems[:MAX_PROBLEMS_SHOWN]
    hidden = len(problems) - len(shown)
    text = "; ".join(shown) + (f"; and {hidden} more problems" if hidden else "")
    return f"{_subject(raw)}: {text}"
