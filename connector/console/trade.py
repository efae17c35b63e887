"""Trade suspensions and export quotas (contract 5.1, v2), read side: the suspensions (in
force, and on request those removed), the home country's quotas with what the year's
clearances used, and the Species+ imports proposed and decided.

Everything goes through the service the CLI uses (``cites-connector suspensions`` and
``quotas``: services/trade_imports.py), with the logged-in user as actor; the console keeps no
rule of its own. The changing actions are in ``trade_edit.py``. Every staff role reads these
pages (an officer explaining a hold for a suspension or a quota sees what caused it); changes
need ``reviewer`` or ``admin``, as for HS tables.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from cites_connector.console.auth import backend, has, staff_only, user
from cites_connector.domain.trade_controls import TradeFlow
from cites_connector.services.trade_imports import TradeImports
from cites_connector.services.trade_ports import Proposal

bp = Blueprint("trade", __name__, url_prefix="/trade")

#: the two kinds of Species+ import (the CLI's groups)
KINDS = ("suspensions", "quotas")


def service() -> TradeImports:
    return backend().trade_admin(user())


def _year() -> int | None:
    text = request.args.get("year", "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) == 4 else None


def trade_page(
    status: int = 200, *, failed: str | None = None, problem: str = ""
) -> tuple[str, int]:
    """The page; ``failed`` names the form refused (its entries shown again, ``problem``
    next to it)."""
    admin = service()
    show_removed = request.args.get("removed") == "1"
    active = admin.suspensions()
    listed = admin.suspensions(removed=True) if show_removed else active
    active_ids = {s.id for s in active}
    proposals = sorted(
        (p for kind in KINDS for p in admin.proposals(kind)),
        key=lambda p: (p.status.value != "PROPOSED", -p.proposed_at.timestamp()),
    )
    return (
        render_template(
            "trade.html",
            suspensions=[(s, s.id in active_ids) for s in listed],
            show_removed=show_removed,
            quotas=admin.quotas(_year()),
            year=_year(),
            proposals=proposals,
            home=admin.home,
            today=admin.clock().date(),
            flows=[f.value for f in TradeFlow],
            can_change=has("admin", "reviewer"),
            failed=failed,
            problem=problem,
            entered=request.form if failed else {},
        ),
        status,
    )


@bp.route("/")
@staff_only
def index() -> tuple[str, int]:
    return trade_page()


def find_proposal(kind: str, number: int) -> Proposal:
    if kind not in KINDS:
        abort(404, f"There are imports of suspensions and of quotas, not of {kind}.")
    found = next((p for p in service().proposals(kind) if p.number == number), None)
    if found is None:
        abort(404, f"No import {number} of {kind}.")
    return found


@bp.route("/imports/<kind>/<int:number>")
@staff_only
def proposal(kind: str, number: int) -> str:
    """One proposed import with every entry it would apply: what the second person checks
    against Species+ before approving."""
    return render_template(
        "trade_import.html",
        kind=kind,
        proposal=find_proposal(kind, number),
        can_review=has("admin", "reviewer"),
    )
