"""Trade suspensions and export quotas (contract 5.1): the place kept for them.

The tables and their engine are being built beside the console (the CLI's ``suspensions``
and ``quotas`` verbs); once merged, these pages are to list and edit them through that same
service, with the logged-in user as actor and four eyes as for HS tables. Until then this
page says so, and only administrators and reviewers see it.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from cites_connector.console.auth import require

bp = Blueprint("trade", __name__, url_prefix="/trade")


@bp.route("/")
@require("reviewer")
def index() -> str:
    return render_template("trade.html")
