"""Placeholder."""

from __future__ import annotations

from flask import Blueprint

from cites_connector.console.auth import staff_only

bp = Blueprint("hs_edit", __name__, url_prefix="/hs/edit")


@bp.route("/")
@staff_only
def index() -> str:
    return "todo"
