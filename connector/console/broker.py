"""The broker's view: only the declarations of the account's declarant codes.

A broker sees each declaration's decision, the reasons in plain words and what to do next;
nothing else (every staff page answers 403). Another declarant's declaration answers 404,
the same as one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from cites_connector.app.console_backend import DeclarationFilter
from cites_connector.console.auth import backend, require, user
from cites_connector.console.declarations import declaration_view, page_number, search_filter

bp = Blueprint("broker", __name__, url_prefix="/my")


def _codes() -> tuple[str, ...]:
    return tuple(user().declarant_codes)


@bp.route("/declarations")
@require("broker")
def my_declarations() -> str:
    where, args = search_filter()
    mine = DeclarationFilter(
        declaration_id=where.declaration_id,
        declarant_codes=_codes(),
        state=where.state,
        date_from=where.date_from,
        date_to=where.date_to,
    )
    args.pop("broker", None)
    found = backend().reads.declarations(mine, page_number())
    return render_template("broker_declarations.html", page=found, args=args)


@bp.route("/declarations/<path:declaration_id>")
@require("broker")
def my_declaration(declaration_id: str) -> str:
    code = backend().reads.declarant_of(declaration_id)
    if code is False or code not in _codes():
        abort(404, f"No declaration {declaration_id} of yours.")
    return render_template(
        "broker_declaration.html", staff=False, **declaration_view(declaration_id)
    )
