"""Paper permits (contingency): one officer enters a permit from the paper document, a second
user confirms it, and only then is it stored — through the permit service, as an electronic
permit is — so that the held declarations citing it are decided again by the same write-off.

Four eyes: the user who entered a permit cannot confirm it. The entry, the confirmation and
a discard are each recorded in the audit chain under the logged-in user.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from cites_connector.console.auth import actor, backend, require, staff_only
from cites_connector.console.paper_form import LINE_FIELDS, LINE_ROWS, PERMIT_TYPES, permit_body
from cites_connector.domain.errors import InvalidInput

bp = Blueprint("paper", __name__, url_prefix="/paper")

CONFIRMED, DISCARDED = "CONFIRMED", "DISCARDED"


def _page(status: int = 200, problem: str | None = None) -> tuple[str, int]:
    paper = backend().permits_read
    return (
        render_template(
            "paper.html",
            waiting=paper.entries("ENTERED"),
            recent=paper.entries(None, limit=20),
            types=PERMIT_TYPES,
            rows=range(LINE_ROWS),
            fields=LINE_FIELDS,
            form=request.form,
            problem=problem,
        ),
        status,
    )


@bp.route("/")
@staff_only
def index() -> tuple[str, int]:
    return _page()


@bp.route("/", methods=["POST"])
@require("officer")
def enter() -> tuple[str, int] | WerkzeugResponse:
    b = backend()
    body = permit_body(request.form)
    try:
        b.parse_permit(body)  # the checks of an electronic permit; nothing stored if it fails
    except InvalidInput as exc:
        return _page(422, f"The permit was not entered: {exc}")
    entry = b.permits_read.enter(actor(), body, b.clock())
    flash(
        f"Paper permit {body['permit_number']} ({body['issuing_country']}) entered as "
        f"entry {entry}: a second user must confirm it before it is used.",
        "ok",
    )
    return redirect(url_for("paper.index"))


@bp.route("/<int:entry_id>/confirm", methods=["POST"])
@require("officer", "reviewer")
def confirm(entry_id: int) -> WerkzeugResponse:
    b = backend()
    entry = b.permits_read.entry(entry_id)
    if entry is None or entry.state != "ENTERED":
        abort(404, f"No paper permit entry {entry_id} waiting for confirmation.")
    if entry.entered_by == actor():
        abort(403, "You entered this permit: a second user must confirm it (four eyes).")
    permit = b.parse_permit(entry.body)
    outcome = b.app.permits.receive_permit(
        permit, actor=actor(), message_id=f"paper-permit:{entry_id}"
    )
    if not outcome.applied.applied and not outcome.duplicate:
        flash(f"Not stored: {outcome.applied.detail}", "error")
        return redirect(url_for("paper.index"))
    b.permits_read.decide(entry_id, actor(), CONFIRMED, b.clock())
    released = ", ".join(d.declaration_id for d in outcome.released) or "none"
    flash(
        f"Permit {permit.permit_number} ({permit.issuing_country}) stored as entered by hand; "
        f"held declarations released: {released}.",
        "ok",
    )
    return redirect(
        url_for("permits.show", number=permit.permit_number, country=permit.issuing_country)
    )


@bp.route("/<int:entry_id>/discard", methods=["POST"])
@require("officer", "reviewer")
def discard(entry_id: int) -> WerkzeugResponse:
    b = backend()
    reason = request.form.get("reason", "").strip()[:500] or None
    if not b.permits_read.decide(entry_id, actor(), DISCARDED, b.clock(), reason):
        abort(404, f"No paper permit entry {entry_id} waiting for confirmation.")
    flash(f"Paper permit entry {entry_id} discarded.", "ok")
    return redirect(url_for("paper.index"))
