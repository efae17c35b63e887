"""Rendering results for people (plain tables) and machines (``--json``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import click

from cites_connector.domain.decisions import Decision
from cites_connector.domain.units import format_decimal, unit_label
from cites_connector.services.permits import PermitBalance


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in cells]
    return "\n".join([line.rstrip(), rule, *body])


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _qty(value: Decimal | None, unit: str | None) -> str:
    return "" if value is None else f"{format_decimal(value)} {unit_label(unit)}"


def decision_text(decision: Decision, note: str | None = None) -> str:
    head = (
        f"Declaration {decision.declaration_id} version {decision.version}: "
        f"{decision.decision.value}"
    )
    if decision.hs_table:
        head += f"   (HS table {decision.hs_table})"
    rows = []
    for item in decision.items:
        permit = (
            f"{item.permit_number} ({item.issuing_country}) line {item.permit_line}"
            if item.permit_number
            else ""
        )
        rows.append(
            [
                item.item_number,
                item.hs_code,
                item.status.value,
                permit,
                _qty(item.quantity, item.unit),
                _qty(item.remaining_after, item.unit),
            ]
        )
    parts = [head]
    if note:
        parts.append(note)
    parts += [
        "",
        table(["Item", "HS code", "Status", "Permit", "Quantity", "Remaining after"], rows),
    ]
    details = []
    for item in decision.items:
        for reason in item.reasons:
            details.append(f"  item {item.item_number}  {reason.code.value}: {reason.message}")
        for flag in item.risk_flags:
            details.append(f"  item {item.item_number}  flag {flag.code.value}: {flag.message}")
    for reason in decision.reasons:
        details.append(f"  declaration  {reason.code.value}: {reason.message}")
    if details:
        parts += ["", "Reasons and risk flags:", *details]
    return "\n".join(parts)


def balance_text(balance: PermitBalance, status: str) -> str:
    p = balance.permit
    head = (
        f"Permit {p.permit_number} ({p.issuing_country}) version {p.version}: {status}\n"
        f"type {p.type.value}, {p.consignment_policy.value} consignment, valid "
        f"{p.valid_from.isoformat()} to {p.valid_until.isoformat()}"
        + (f", used by declaration {p.used_by}" if p.used_by else "")
    )
    lines = table(
        ["Line", "Taxon", "Term", "Quantity", "Remaining"],
        [
            [ln.line, ln.taxon, ln.term, _qty(ln.quantity, ln.unit), _qty(ln.remaining, ln.unit)]
            for ln in p.lines
        ],
    )
    usages = table(
        ["Declaration", "Version", "Item", "Line", "Quantity", "Recorded", "Reversed"],
        [
            [
                u.declaration_id,
                u.declaration_version,
                u.item_number,
                u.line,
                _qty(u.quantity, u.unit),
                u.recorded_at.isoformat(timespec="seconds"),
                u.reversed_at.isoformat(timespec="seconds") if u.reversed_at else "",
            ]
            for u in balance.usages
        ],
    )
    return f"{head}\n\n{lines}\n\nUsages:\n{usages if balance.usages else '  none'}"
