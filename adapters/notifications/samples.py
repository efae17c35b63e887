"""Sample broker notifications the templates must render when the connector starts.

One per branch a template may take (cleared with a specimen count and a mass, held with item
and declaration reasons, released, cancelled after a clearance and while held, not concerned),
in the shape ``messages.broker_notification`` builds, so that a template referring to a
variable that does not exist fails at start-up and not at the first declaration that takes
the branch.
"""

from __future__ import annotations

from typing import Any


def _write_off(
    permit: str, line: str, quantity: str, unit: str | None, remaining: str, *, single: bool
) -> dict[str, Any]:
    return {
        "permit_number": permit,
        "issuing_country": "NA",
        "line": line,
        "item_number": 1,
        "quantity": quantity,
        "unit": unit,
        "remaining_after": remaining,
        "permit_used_up": single,
        "single_consignment": single,
    }


def _reason(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _item(
    number: int, hs_code: str, description: str, status: str, **fields: Any
) -> dict[str, Any]:
    item = {
        "item_number": number,
        "hs_code": hs_code,
        "description": description,
        "status": status,
        "permit_number": None,
        "issuing_country": None,
        "permit_line": None,
        "quantity": None,
        "unit": None,
        "remaining_after": None,
        "reasons": [],
        "risk_flags": [],
        "write_offs": [],
        "taxa": [],
    }
    return item | fields


_CLEARED_ITEM = _item(
    1,
    "01062000",
    "Live royal pythons (Python regius), captive bred",
    "MATCHED",
    permit_number="26NA000123",
    issuing_country="NA",
    permit_line="A",
    quantity="40",
    remaining_after="0",
    taxa=["Pythonidae"],
    write_offs=[_write_off("26NA000123", "A", "40", None, "0", single=True)],
    risk_flags=[
        _reason("PARTY_MISMATCH", "the exporter on the declaration is not the one on the permit")
    ],
)
_SKINS_ITEM = _item(
    2,
    "41032000",
    "Tanned crocodile skins",
    "MATCHED",
    permit_number="26NA000131",
    issuing_country="NA",
    permit_line="B",
    quantity="12.5",
    unit="KIL",
    remaining_after="23",
    taxa=["Crocodylia"],
    write_offs=[_write_off("26NA000131", "B", "12.5", "KIL", "23", single=False)],
)
_OTHER_ITEM = _item(3, "03028990", "Frozen fish", "NOT_CONCERNED")

#: notifications the templates must render at start-up: one per branch they may take
SAMPLE_NOTIFICATIONS: tuple[dict[str, Any], ...] = (
    {
        "declaration_id": "NA-WDH-2026-E-1042",
        "version": 1,
        "decision": "CLEARED",
        "event": "decided",
        "items": [_CLEARED_ITEM, _SKINS_ITEM, _OTHER_ITEM],
        "reasons": [],
    },
    {
        "declaration_id": "NA-WDH-2026-E-1043",
        "version": 2,
        "decision": "HELD",
        "event": "amended",
        "items": [
            _item(
                1,
                "01062000",
                "Live royal pythons",
                "HELD",
                permit_number="26NA000123",
                issuing_country="NA",
                permit_line="A",
                quantity="45",
                reasons=[
                    _reason(
                        "QUANTITY_EXCEEDED",
                        "45 specimens declared, 40 left on permit 26NA000123 line A",
                    )
                ],
            ),
            _item(
                2,
                "01062000",
                "Live ball pythons",
                "HELD",
                reasons=[_reason("NO_PERMIT_REFERENCED", "no CITES document is attached")],
            ),
            _SKINS_ITEM | {"item_number": 3, "remaining_after": None},
        ],
        "reasons": [_reason("PERMIT_UNKNOWN", "permit 26NA000999 is not known")],
    },
    {
        "declaration_id": "NA-WDH-2026-E-1042",
        "version": 1,
        "decision": "CLEARED",
        "event": "cancelled",
        "items": [_CLEARED_ITEM, _OTHER_ITEM],
        "reasons": [],
    },
    {
        "declaration_id": "NA-WDH-2026-E-1043",
        "version": 2,
        "decision": "CLEARED",
        "event": "released",
        "items": [_SKINS_ITEM],
        "reasons": [],
    },
    {
        "declaration_id": "NA-WDH-2026-E-1044",
        "version": 1,
        "decision": "NOT_CONCERNED",
        "event": "decided",
        "items": [_OTHER_ITEM],
        "reasons": [],
    },
    {
        "declaration_id": "NA-WDH-2026-E-1043",
        "version": 2,
        "decision": "HELD",
        "event": "cancelled",
        "items": [_SKINS_ITEM | {"remaining_after": None}],
        "reasons": [],
    },
)
