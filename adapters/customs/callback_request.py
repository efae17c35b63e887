"""The body of a ``customs-callback`` outbox row, translated to SubmitControlResult's fields.

The row body keeps the snake-case dict shapes of ``cites_connector.domain.decision_dicts`` (what the
service layer writes in the clearance transaction); the SOAP names are applied only here, at
the edge. Pure translation, no I/O: the simulator's tests and the client share it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

_ITEM_FIELDS = (
    ("permit_number", "PermitNumber"),
    ("issuing_country", "IssuingCountry"),
    ("permit_line", "PermitLine"),
)


def _reasons(reasons: list[dict[str, str]] | None, element: str) -> dict[str, Any] | None:
    if not reasons:
        return None
    return {element: [{"Code": r["code"], "Message": r["message"]} for r in reasons]}


def _item(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ItemNumber": item["item_number"],
        "HsCode": item["hs_code"],
        "Status": item["status"],
    }
    for key, name in _ITEM_FIELDS:
        if item.get(key) is not None:
            out[name] = item[key]
    if item.get("quantity") is not None:
        out["Quantity"] = Decimal(item["quantity"])
    if item.get("unit") is not None:
        out["Unit"] = item["unit"]
    if item.get("remaining_after") is not None:
        out["RemainingAfter"] = Decimal(item["remaining_after"])
    reasons = _reasons(item.get("reasons"), "Reason")
    if reasons:
        out["Reasons"] = reasons
    flags = _reasons(item.get("risk_flags"), "Flag")
    if flags:
        out["RiskFlags"] = flags
    return out


def submit_control_result_request(body: dict[str, Any], callback_id: str) -> dict[str, Any]:
    """zeep keyword arguments of SubmitControlResult for an outbox row body."""
    request: dict[str, Any] = {
        "CallbackId": callback_id,
        "DeclarationId": body["declaration_id"],
        "Version": int(body["version"]),
        "Decision": body["decision"],
        "Items": {"Item": [_item(i) for i in body.get("items", ())]},
    }
    reasons = _reasons(body.get("reasons"), "Reason")
    if reasons:
        request["Reasons"] = reasons
    return request
