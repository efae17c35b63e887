"""Placeholder."""

from __future__ import annotations

from flask import Blueprint

from cites_connector.console.auth import staff_only

bp = Blueprint("permits", __name__, url_prefix="/permits")


@bp.route("/")
@staff_only
def index() -> str:
    return "todo"


@bp.route("/<number>/<country>")
@staff_only
def show(number: str, country: str) -> str:
    return "todo"
