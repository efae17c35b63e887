"""Declarations for staff: search, a declaration's page with its timeline, the held queue."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request

from cites_connector.app.console_backend import DeclarationFilter
from cites_connector.console.auth import backend, staff_only
from cites_connector.domain.errors import ConnectorError, UnknownDeclaration
from cites_connector.services.hs_admin import LookupAnswer

bp = Blueprint("declarations", __name__, url_prefix="/declarations")

STATES = ("CLEARED", "HELD", "NOT_CONCERNED", "CANCELLED")


def _date(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"{name} is not a date of the form YYYY-MM-DD")


def page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


def search_filter() -> tuple[DeclarationFilter, dict[str, str]]:
    args = {
        k: request.args.get(k, "").strip()[:64]
        for k in ("id", "broker", "decision", "date_from", "date_to")
    }
    state = args["decision"].upper() or None
    if state is not None and state not in STATES:
        abort(400, f"decision is one of {', '.join(STATES)}")
    where = DeclarationFilter(
        declaration_id=args["id"] or None,
        declarant_code=args["broker"] or None,
        state=state,
        date_from=_date("date_from"),
        date_to=_date("date_to"),
    )
    return where, {k: v for k, v in args.items() if v}


@bp.route("/")
@staff_only
def index() -> str:
    where, args = search_filter()
    found = backend().reads.declarations(where, page_number())
    return render_template(
        "declarations.html", page=found, args=args, states=STATES, now=backend().clock()
    )


@bp.route("/held")
@staff_only
def held() -> str:
    rows = backend().reads.held(limit=500)
    return render_template("held.html", rows=rows, now=backend().clock())


def declaration_view(declaration_id: str) -> dict[str, Any]:
    """What a declaration's page shows, for staff and (fewer parts) for its broker."""
    b = backend()
    try:
        stored = b.app.clearance.stored(declaration_id)
    except UnknownDeclaration:
        abort(404, f"No declaration {declaration_id}.")
    with b.app.ledger.snapshot() as uow:
        usages = uow.usages.find(declaration_id=declaration_id, active_only=False)
    keys = sorted(
        {
            (i.permit_number, i.issuing_country)
            for i in stored.decision.items
            if i.permit_number and i.issuing_country
        }
    )
    return {
        "stored": stored,
        "decision": stored.decision,
        "declaration": stored.declaration,
        "usages": usages,
        "by_hand": b.permits_read.hand_entered(keys),
        "signatures": b.permits_read.signatures(keys),
        "now": b.clock(),
    }


@bp.route("/<path:declaration_id>")
@staff_only
def show(declaration_id: str) -> str:
    b = backend()
    view = declaration_view(declaration_id)
    declared_on = view["declaration"].date
    admin = b.hs_factory({})
    hs_rows: dict[str, LookupAnswer | None] = {}
    for item in view["decision"].items:
        if item.taxa and item.hs_code not in hs_rows:
            try:
                hs_rows[item.hs_code] = admin.lookup(item.hs_code, declared_on)
            except ConnectorError:  # a code the table cannot read: shown without its row
                hs_rows[item.hs_code] = None
    return render_template(
        "declaration.html",
        hs_rows=hs_rows,
        versions=b.reads.versions(declaration_id),
        timeline=b.reads.timeline(declaration_id),
        **view,
    )
