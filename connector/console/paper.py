"""Placeholder."""

from __future__ import annotations

from flask import Blueprint

from cites_connector.console.auth import staff_only

bp = Blueprint("paper", __name__, url_prefix="/paper")


@bp.route("/")
@staff_only
def index() -> str:
    return "todo"
