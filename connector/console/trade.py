"""Placeholder."""

from __future__ import annotations

from flask import Blueprint

from cites_connector.console.auth import staff_only

bp = Blueprint("trade", __name__, url_prefix="/trade")


@bp.route("/")
@staff_only
def index() -> str:
    return "todo"
