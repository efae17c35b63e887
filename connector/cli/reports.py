"""A decision and a permit's balance in the three formats (cli/output.py): the head line for
people, then the items (or lines and usages), then the reasons and risk flags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from cites_connector.cli.output import Column, Listing, Qty, emit
from cites_connector.domain.decisions import Decision
from cites_connector.services.permits import PermitBalance

ITEM_COLUMNS = (
    Column("item_number", "Item"),
    Column("hs_code", "HS code"),
    Column("status", "Status"),
    Column("permit", "Permit", csv=False),
    Column("permit_number", "Permit number", table=False),
    Column("issuing_country", "Issuing country", table=False),
    Column("permit_line", "Permit line", table=False),
    Column("quantity", "Quantity"),
    Column("unit", "Unit", table=False),
    Column("remaining_after", "Remaining after"),
    Column("signature", "Signature"),
)
REASON_COLUMNS = (
    Column("item_number", "Item"),
    Column("kind", "Kind"),
    Column("code", "Code"),
    Column("message", "Message"),
)


def permit_ref(number: Any, country: Any, line: Any) -> str:
    return f"{number} ({country}) line {line}" if number else ""


def decision_listings(
    items: list[dict[str, Any]], reasons: list[dict[str, Any]]
) -> tuple[Listing, Listing]:
    """The items and the reasons. The Signature column is shown when the decision was read
    with its permits' signatures (``declarations``); a SOAP answer carries none."""
    signed = any(item.get("signature") for item in items)
    columns = ITEM_COLUMNS if signed else tuple(c for c in ITEM_COLUMNS if c.key != "signature")
    return (
        Listing("item", columns, items),
        Listing("reason", REASON_COLUMNS, reasons, title="Reasons and risk flags:"),
    )


def show_decision(
    fmt: str,
    decision: Decision,
    document: Any,
    note: str | None = None,
    signatures: Mapping[tuple[str, str], str] | None = None,
) -> None:
    """``signatures``: who signed each permit an item was matched to (``Permit.signature``),
    by (permit number, issuing country)."""
    items: list[dict[str, Any]] = []
    signed = signatures or {}
    reasons: list[dict[str, Any]] = []
    for item in decision.items:
        items.append(
            {
                "item_number": item.item_number,
                "hs_code": item.hs_code,
                "status": item.status.value,
                "permit": permit_ref(item.permit_number, item.issuing_country, item.permit_line),
                "permit_number": item.permit_number,
                "issuing_country": item.issuing_country,
                "permit_line": item.permit_line,
                "quantity": None if item.quantity is None else Qty(item.quantity, item.unit),
                "unit": item.unit,
                "remaining_after": None
                if item.remaining_after is None
                else Qty(item.remaining_after, item.unit),
                "signature": signed.get((item.permit_number or "", item.issuing_country or "")),
            }
        )
        reasons += [
            {
                "item_number": item.item_number,
                "kind": "reason",
                "code": r.code.value,
                "message": r.message,
            }
            for r in item.reasons
        ]
        reasons += [
            {
                "item_number": item.item_number,
                "kind": "risk flag",
                "code": f.code.value,
                "message": f.message,
            }
            for f in item.risk_flags
        ]
    reasons += [
        {"item_number": None, "kind": "declaration", "code": r.code.value, "message": r.message}
        for r in decision.reasons
    ]
    shown = decision_listings(items, reasons)
    if fmt == "table":
        head = (
            f"Declaration {decision.declaration_id} version {decision.version}: "
            f"{decision.decision.value}"
        )
        if decision.hs_table:
            head += f"   (HS table {decision.hs_table})"
        click.echo(head)
        if note:
            click.echo(note)
        click.echo()
        emit(fmt, document, *(shown if reasons else shown[:1]))
    else:
        emit(fmt, document, *shown)


LINE_COLUMNS = (
    Column("line", "Line"),
    Column("taxon", "Taxon"),
    Column("term", "Term"),
    Column("quantity", "Quantity"),
    Column("remaining", "Remaining"),
    Column("unit", "Unit", table=False),
)
USAGE_COLUMNS = (
    Column("declaration_id", "Declaration"),
    Column("declaration_version", "Version"),
    Column("item_number", "Item"),
    Column("line", "Line"),
    Column("quantity", "Quantity"),
    Column("unit", "Unit", table=False),
    Column("recorded_at", "Recorded"),
    Column("reversed_at", "Reversed"),
)


def show_balance(fmt: str, balance: PermitBalance, status: str, document: Any) -> None:
    p = balance.permit
    lines = Listing(
        "line",
        LINE_COLUMNS,
        [
            {
                "line": ln.line,
                "taxon": ln.taxon,
                "term": ln.term,
                "quantity": Qty(ln.quantity, ln.unit),
                "remaining": Qty(ln.remaining, ln.unit),
                "unit": ln.unit,
            }
            for ln in p.lines
        ],
    )
    usages = Listing(
        "usage",
        USAGE_COLUMNS,
        [
            {
                "declaration_id": u.declaration_id,
                "declaration_version": u.declaration_version,
                "item_number": u.item_number,
                "line": u.line,
                "quantity": Qty(u.quantity, u.unit),
                "unit": u.unit,
                "recorded_at": u.recorded_at,
                "reversed_at": u.reversed_at,
            }
            for u in balance.usages
        ],
        title="Usages:",
        empty="  none",
    )
    if fmt == "table":
        click.echo(
            f"Permit {p.permit_number} ({p.issuing_country}) version {p.version}: {status}\n"
            f"type {p.type.value}, {p.consignment_policy.value} consignment, valid "
            f"{p.valid_from.isoformat()} to {p.valid_until.isoformat()}"
            + (f", used by declaration {p.used_by}" if p.used_by else "")
            + f"\n{p.signature}\n"
        )
    emit(fmt, document, lines, usages)
