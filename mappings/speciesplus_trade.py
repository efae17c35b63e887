"""Species+ ``cites_legislation`` responses -> trade suspensions and export quotas (no I/O).

The Species+ API v1 answers ``GET /taxon_concepts/:id/cites_legislation`` with
``{"cites_listings": [...], "cites_quotas": [...], "cites_suspensions": [...]}``
(tests/fixtures/speciesplus/real, recorded from the live API). The response does not name the
taxon it was asked for, only ``taxon_concept_id`` numbers, so the administrator names it
(``--taxon``); an entry whose ``taxon_concept_id`` is null concerns every CITES taxon.

- A suspension: ``geo_entity.iso_code2`` is the Party whose trade is suspended,
  ``applies_to_import`` true = imports into it, false = exports from it; ``start_date``,
  optional ``end_date``; the notification is ``start_notification.name``. Sources and purposes
  are read when an entry carries them (``sources`` / ``purposes``: codes or ``{"code": ...}``);
  the recorded API output has none (then: any). An entry no longer current with no end date
  cannot say when it ended: it is skipped and counted.
- A quota: ``quota`` (a number, 0 = a zero quota), ``geo_entity``, ``unit`` (null = specimens,
  a code, or ``{"code": ...}``), ``publication_date``. The API has no year field: ``year`` when
  present, else the administrator's ``--year``, else the publication year. The term appears
  only in ``notes`` prose, so it comes from ``term`` when present, else ``--term``. Only the
  home country's quotas are export quotas of this connector; the others are counted, not kept.

Anything else is refused whole with the entry and field at fault (exit 2, nothing changed):
an import must never half-apply a file, nor let a malformed entry mean "suspended nowhere".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

from cites_connector.domain.errors import InvalidInput
from cites_connector.domain.trade_controls import (
    PURPOSE_CODES,
    SOURCE_CODES,
    ExportQuota,
    Suspension,
    TradeFlow,
    codes,
)

#: a cites_legislation response is a few hundred kilobytes at most
MAX_BYTES = 5_000_000
MAX_ENTRIES = 5000
_TEXT = re.compile(r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class SuspensionFile:
    suspensions: list[Suspension] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class QuotaFile:
    quotas: list[ExportQuota] = field(default_factory=list)
    other_countries: int = 0


def _refuse_constant(name: str) -> NoReturn:
    raise InvalidInput(f"not JSON a Species+ response can hold: {name}")


def load_response(raw: bytes, key: str) -> list[Mapping[str, Any]]:
    """The list under ``key`` of a cites_legislation response, every entry an object."""
    if len(raw) > MAX_BYTES:
        raise InvalidInput(
            f"the file has {len(raw)} bytes; a Species+ response has under {MAX_BYTES}"
        )
    try:
        data = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidInput(f"not a Species+ JSON response: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise InvalidInput(
            f"not a Species+ cites_legislation response: no {key!r} list "
            f"(GET /api/v1/taxon_concepts/:id/cites_legislation)"
        )
    entries: list[Mapping[str, Any]] = data[key]
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput(f"{len(entries)} {key} entries; at most {MAX_ENTRIES} are read")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InvalidInput(f"{key}[{index}] is not an object")
    return entries


class _Entry:
    """One entry, with errors that say which entry and field."""

    def __init__(self, key: str, index: int, entry: Mapping[str, Any]):
        self.where = f"{key}[{index}] (id {entry.get('id')!r})"
        self.entry = entry

    def fail(self, what: str) -> NoReturn:
        raise InvalidInput(f"{self.where}: {what}")

    def obj(self, name: str) -> Mapping[str, Any]:
        value = self.entry.get(name)
        if not isinstance(value, dict):
            self.fail(f"{name} must be an object")
        return value

    def text(self, value: object, name: str, limit: int, *, required: bool = True) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(f"{name} must be text")
        if len(value) > limit or not _TEXT.fullmatch(value):
            self.fail(f"{name} is longer than {limit} characters or holds control characters")
        return value.strip()

    def day(self, name: str, *, required: bool = True) -> date | None:
        value = self.entry.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            self.fail(f"{name} {value!r} is not a date YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{name} {value!r} is not a date")

    def country(self) -> str:
        code = self.obj("geo_entity").get("iso_code2")
        if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{2}", code):
            self.fail(f"geo_entity.iso_code2 {code!r} is not an ISO 3166-1 alpha-2 code")
        return code

    def concept(self) -> int | None:
        value = self.entry.get("taxon_concept_id")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail("taxon_concept_id must be a number or null")
        return value

    def codes(self, name: str, allowed: frozenset[str]) -> frozenset[str]:
        value = self.entry.get(name)
        if isinstance(value, list):
            value = [v.get("code") if isinstance(v, dict) else v for v in value]
        try:
            return codes(value, allowed, name)
        except InvalidInput as exc:
            self.fail(exc.message)


def _taxon(item: _Entry, taxon: str | None) -> str | None:
    if item.concept() is None:
        return None
    if not taxon:
        item.fail(
            f"concerns taxon concept {item.concept()}, which the response does not name: "
            f"give the taxon the file was requested for (--taxon NAME)"
        )
    return taxon


def read_suspensions(raw: bytes, *, taxon: str | None) -> SuspensionFile:
    found = SuspensionFile()
    for index, entry in enumerate(load_response(raw, "cites_suspensions")):
        item = _Entry("cites_suspensions", index, entry)
        applies_to_import = entry.get("applies_to_import")
        if not isinstance(applies_to_import, bool):
            item.fail("applies_to_import must be true or false")
        is_current = entry.get("is_current", True)
        if not isinstance(is_current, bool):
            item.fail("is_current must be true or false")
        notification = item.text(item.obj("start_notification").get("name"), "notification", 200)
        suspension = _suspension(item, entry, taxon, applies_to_import, notification)
        if not is_current and suspension.ends_on is None:
            found.skipped.append(f"{item.where}: no longer current, with no end date")
            continue
        found.suspensions.append(suspension)
    return found


def _suspension(
    item: _Entry,
    entry: Mapping[str, Any],
    taxon: str | None,
    applies_to_import: bool,
    notification: str | None,
) -> Suspension:
    starts_on = item.day("start_date")
    assert starts_on is not None
    fields: dict[str, Any] = {
        "country": item.country(),
        "taxon": _taxon(item, taxon),
        "flow": TradeFlow.IMPORT if applies_to_import else TradeFlow.EXPORT,
        "starts_on": starts_on,
        "ends_on": item.day("end_date", required=False),
        "reference": notification or "",
        "sources": item.codes("sources", SOURCE_CODES),
        "purposes": item.codes("purposes", PURPOSE_CODES),
        "notes": item.text(entry.get("notes"), "notes", 4000, required=False),
        "origin": f"speciesplus:{_identity(item)}",
    }
    try:
        return Suspension(**fields)
    except InvalidInput as exc:
        item.fail(exc.message)


def read_quotas(
    raw: bytes,
    *,
    home: str,
    taxon: str | None,
    year: int | None = None,
    term: str | None = None,
) -> QuotaFile:
    found = QuotaFile()
    for index, entry in enumerate(load_response(raw, "cites_quotas")):
        item = _Entry("cites_quotas", index, entry)
        amount = entry.get("quota")
        if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
            item.fail(f"quota {amount!r} must be a number")
        country = item.country()
        published = item.day("publication_date", required=False)
        given_year = entry.get("year", year)
        if given_year is None and published is not None:
            given_year = published.year
        if isinstance(given_year, bool) or not isinstance(given_year, int):
            item.fail("has no year: no year field nor publication_date (give --year)")
        unit = entry.get("unit")
        if isinstance(unit, dict):
            unit = unit.get("code")
        entry_term = entry.get("term", term)
        quota_taxon = _taxon(item, taxon)
        if quota_taxon is None:
            item.fail("a quota names its taxon (taxon_concept_id is null)")
        if country != home:
            found.other_countries += 1
            continue
        fields: dict[str, Any] = {
            "country": country,
            "taxon": quota_taxon,
            "year": given_year,
            "quantity": Decimal(amount),
            "unit": item.text(unit, "unit", 8, required=False),
            "term": item.text(entry_term, "term", 8, required=False),
            "notes": item.text(entry.get("notes"), "notes", 4000, required=False),
            "origin": f"speciesplus:{_identity(item)}",
        }
        try:
            found.quotas.append(ExportQuota(**fields))
        except InvalidInput as exc:
            item.fail(exc.message)
    return found


def _identity(item: _Entry) -> int:
    value = item.entry.get("id")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        item.fail("id must be a number")
    return value
