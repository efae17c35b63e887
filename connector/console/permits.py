"""Permits for staff: search by number, country and taxon; a permit's page with its lines,
issued and remaining quantities, status history and every usage (declaration, date, office).
A permit entered from paper is marked so on every page that shows it."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from cites_connector.console.auth import backend, staff_only
from cites_connector.console.declarations import page_number
from cites_connector.domain.errors import UnknownPermit

bp = Blueprint("permits", __name__, url_prefix="/permits")


@bp.route("/")
@staff_only
def index() -> str:
    args = {k: request.args.get(k, "").strip()[:200] for k in ("number", "country", "taxon")}
    args["country"] = args["country"].upper()[:2]
    page = page_number()
    rows, has_next = backend().permits_read.search(
        number=args["number"] or None,
        country=args["country"] or None,
        taxon=args["taxon"] or None,
        page=page,
    )
    return render_template(
        "permits.html",
        rows=rows,
        page=page,
        has_next=has_next,
        args={k: v for k, v in args.items() if v},
    )


@bp.route("/<path:number>/<country>")
@staff_only
def show(number: str, country: str) -> str:
    b = backend()
    try:
        balance = b.app.permits.balance(number, country.upper())
    except UnknownPermit:
        abort(404, f"No permit {number} ({country}).")
    permit = balance.permit
    today = b.app.rulebook.policy.day_of(b.clock())
    return render_template(
        "permit.html",
        permit=permit,
        status=permit.balance_status(today),
        usages=sorted(balance.usages, key=lambda u: u.recorded_at),
        history=b.reads.audit_about(f"{permit.permit_number}/{permit.issuing_country}"),
        paper=b.permits_read.by_hand(permit.permit_number, permit.issuing_country),
    )
