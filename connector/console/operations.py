"""Placeholder."""

from __future__ import annotations

from flask import Blueprint

from cites_connector.console.auth import staff_only

bp = Blueprint("operations", __name__, url_prefix="/operations")


@bp.route("/")
@staff_only
def index() -> str:
    return "todo"


@bp.route("/dashboard")
@staff_only
def dashboard() -> str:
    return "todo"
