"""Plain-dict forms of declarations and decisions, for storage and for messages.

The ledger stores the mapped declaration with its decision so that a held declaration can be
decided again when its permit arrives, and an HS table draft can be previewed against what was
declared. The dict shapes follow the SOAP response names in snake case (contract section 1).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from cites_connector.domain.decisions import (
    Decision,
    DeclarationDecision,
    ItemDecision,
    ItemStatus,
    Reason,
    ReasonCode,
    WriteOff,
)
from cites_connector.domain.declarations import AttachedDocument, Declaration, DeclarationItem, Flow
from cites_connector.domain.permits import Party
from cites_connector.domain.units import format_decimal


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal(value)


def _undec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _party(party: Party) -> dict[str, Any]:
    return {"name": party.name, "country": party.country, "id": party.id}


def _reason(reason: Reason) -> dict[str, str]:
    return {"code": reason.code.value, "message": reason.message}


def _unreason(data: dict[str, str]) -> Reason:
    return Reason(ReasonCode(data["code"]), data["message"])


def _kept(data: dict[str, Any]) -> dict[str, Any]:
    """The dict without its None values and empty lists: the stored form keeps only what is
    present (the ``*_from_dict`` readers treat a missing key as absent), so stored decisions
    and declarations stay small and the ledger's write path short."""
    return {k: v for k, v in data.items() if v is not None and v != []}


def _kept_lists(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """``_kept`` with each list of dicts under ``keys`` compacted one level too."""
    kept = _kept(data)
    for key in keys:
        if key in kept:  # an empty list is gone already
            kept[key] = [_kept(entry) for entry in kept[key]]
    return kept


_ITEM_LISTS = ("reasons", "risk_flags", "write_offs")


def compact_decision(data: dict[str, Any]) -> dict[str, Any]:
    """The stored form of ``decision_to_dict(...)``, along the dict's known shape (issue 14:
    it runs in every clearance); tests/unit/test_stored_dicts.py holds it to a generic walk."""
    kept = _kept_lists(data, ("reasons",))
    if "items" in kept:
        items = []
        for item in kept["items"]:
            stored = _kept_lists(item, _ITEM_LISTS)
            if "taxa" in stored:
                stored["taxa"] = list(stored["taxa"])
            items.append(stored)
        kept["items"] = items
    return kept


def compact_declaration(data: dict[str, Any]) -> dict[str, Any]:
    """The stored form of ``declaration_to_dict(...)`` (see ``compact_decision``)."""
    kept = _kept(data)
    for party in ("exporter", "consignee"):
        if party in kept:
            kept[party] = _kept(kept[party])
    if "items" in kept:
        kept["items"] = [_kept_lists(item, ("documents",)) for item in kept["items"]]
    return kept


def declaration_to_dict(declaration: Declaration) -> dict[str, Any]:
    return {
        "declaration_type": declaration.declaration_type,
        "flow": declaration.flow.value,
        "date": declaration.date.isoformat(),
        "date_defaulted": declaration.date_defaulted,
        "office": declaration.office,
        "office_name": declaration.office_name,
        "procedure": declaration.procedure,
        "exporter": _party(declaration.exporter),
        "consignee": _party(declaration.consignee),
        "declarant_code": declaration.declarant_code,
        "declarant_name": declaration.declarant_name,
        "export_country": declaration.export_country,
        "destination_country": declaration.destination_country,
        "items": [
            {
                "number": i.number,
                "hs_code": i.hs_code,
                "description": i.description,
                "origin_country": i.origin_country,
                "net_mass": _dec(i.net_mass),
                "supplementary_quantity": _dec(i.supplementary_quantity),
                "supplementary_unit": i.supplementary_unit,
                "supplementary_unit_code": i.supplementary_unit_code,
                "documents": [{"code": d.code, "reference": d.reference} for d in i.documents],
            }
            for i in declaration.items
        ],
    }


def declaration_from_dict(data: dict[str, Any]) -> Declaration:
    return Declaration(
        declaration_type=data["declaration_type"],
        flow=Flow(data["flow"]),
        date=date.fromisoformat(data["date"]),
        date_defaulted=data.get("date_defaulted", False),
        office=data.get("office"),
        office_name=data.get("office_name"),
        procedure=data.get("procedure"),
        exporter=Party(**data.get("exporter", {})),
        consignee=Party(**data.get("consignee", {})),
        declarant_code=data.get("declarant_code"),
        declarant_name=data.get("declarant_name"),
        export_country=data.get("export_country"),
        destination_country=data.get("destination_country"),
        items=tuple(
            DeclarationItem(
                number=i["number"],
                hs_code=i["hs_code"],
                description=i.get("description"),
                origin_country=i.get("origin_country"),
                net_mass=_undec(i.get("net_mass")),
                supplementary_quantity=_undec(i.get("supplementary_quantity")),
                supplementary_unit=i.get("supplementary_unit"),
                supplementary_unit_code=i.get("supplementary_unit_code"),
                documents=tuple(
                    AttachedDocument(d["code"], d.get("reference")) for d in i.get("documents", ())
                ),
            )
            for i in data["items"]
        ),
    )


def _write_off(w: WriteOff) -> dict[str, Any]:
    return {
        "permit_number": w.permit_number,
        "issuing_country": w.issuing_country,
        "line": w.line,
        "item_number": w.item_number,
        "quantity": _dec(w.quantity),
        "unit": w.unit,
        "remaining_after": _dec(w.remaining_after),
        "permit_used_up": w.permit_used_up,
        "single_consignment": w.single_consignment,
    }


def _unwrite_off(d: dict[str, Any]) -> WriteOff:
    return WriteOff(
        d["permit_number"],
        d["issuing_country"],
        d["line"],
        d["item_number"],
        Decimal(d["quantity"]),
        d.get("unit"),
        Decimal(d["remaining_after"]),
        d["permit_used_up"],
        d.get("single_consignment", False),
    )


def item_to_dict(item: ItemDecision) -> dict[str, Any]:
    return {
        "item_number": item.item_number,
        "hs_code": item.hs_code,
        "status": item.status.value,
        "description": item.description,
        "permit_number": item.permit_number,
        "issuing_country": item.issuing_country,
        "permit_line": item.permit_line,
        "quantity": _dec(item.quantity),
        "unit": item.unit,
        "remaining_after": _dec(item.remaining_after),
        "reasons": [_reason(r) for r in item.reasons],
        "risk_flags": [_reason(r) for r in item.risk_flags],
        "write_offs": [_write_off(w) for w in item.write_offs],
        "taxa": list(item.taxa),
    }


def decision_to_dict(decision: Decision) -> dict[str, Any]:
    return {
        "declaration_id": decision.declaration_id,
        "version": decision.version,
        "decision": decision.decision.value,
        "hs_table": decision.hs_table,
        "declarant_code": decision.declarant_code,
        "office": decision.office,
        "reasons": [_reason(r) for r in decision.reasons],
        "items": [item_to_dict(i) for i in decision.items],
    }


def decision_from_dict(data: dict[str, Any]) -> Decision:
    return Decision(
        declaration_id=data["declaration_id"],
        version=data["version"],
        decision=DeclarationDecision(data["decision"]),
        hs_table=data.get("hs_table"),
        declarant_code=data.get("declarant_code"),
        office=data.get("office"),
        reasons=tuple(_unreason(r) for r in data.get("reasons", ())),
        items=tuple(
            ItemDecision(
                item_number=i["item_number"],
                hs_code=i["hs_code"],
                status=ItemStatus(i["status"]),
                description=i.get("description"),
                permit_number=i.get("permit_number"),
                issuing_country=i.get("issuing_country"),
                permit_line=i.get("permit_line"),
                quantity=_undec(i.get("quantity")),
                unit=i.get("unit"),
                remaining_after=_undec(i.get("remaining_after")),
                reasons=tuple(_unreason(r) for r in i.get("reasons", ())),
                risk_flags=tuple(_unreason(r) for r in i.get("risk_flags", ())),
                write_offs=tuple(_unwrite_off(w) for w in i.get("write_offs", ())),
                taxa=tuple(i.get("taxa", ())),
            )
            for i in data["items"]
        ),
    )
