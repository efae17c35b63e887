"""HS-to-taxon tables, editing: a draft's rows added, changed and removed in the page, CSV
import, and the four-eyes steps (propose, approve or reject, publish with a date).

Each action calls the HS administration service with the logged-in user as actor
(``console:NAME``); the service checks the role and four eyes (the proposer and anyone who
edited the rows cannot approve), changes the tables and writes the audit record together.
A refused action changes nothing and says why; a refused row is shown next to the row.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from cites_connector.console.auth import actor, require
from cites_connector.console.hs_tables import service, table_page
from cites_connector.domain.errors import ConnectorError
from cites_connector.domain.hs_admin import HsRowsInvalid, NotPermitted
from cites_connector.domain.hs_admin_csv import parse_rows
from cites_connector.domain.hs_tables import HsRow

bp = Blueprint("hs_edit", __name__, url_prefix="/hs/edit")
MAX_CSV = 2 * 1024 * 1024


def _back(ref: str) -> WerkzeugResponse:
    return redirect(url_for("hs_tables.show", ref=ref))


def _refused(exc: ConnectorError, ref: str) -> WerkzeugResponse:
    if isinstance(exc, NotPermitted):
        abort(403, exc.message)
    flash(exc.message, "error")
    return _back(ref)


def _reason() -> str | None:
    return request.form.get("reason", "").strip()[:500] or None


def _row_from_form() -> HsRow:
    return HsRow(
        hs_prefix=request.form.get("hs_prefix", "").strip().replace(".", "")[:16],
        taxon=request.form.get("taxon", "").strip()[:200],
        terms=frozenset(request.form.get("terms", "").upper().replace(",", " ").split()),
        note=request.form.get("note", "").strip()[:500] or None,
    )


@bp.route("/new", methods=["POST"])
@require("reviewer")
def new_draft() -> WerkzeugResponse:
    edition = request.form.get("edition", "").strip()[:16]
    based_on = request.form.get("based_on", "").strip()[:32] or None
    try:
        draft = service().new_draft(actor(), edition, based_on=based_on, reason=_reason())
    except ConnectorError as exc:
        if isinstance(exc, NotPermitted):
            abort(403, exc.message)
        flash(exc.message, "error")
        return redirect(url_for("hs_tables.index"))
    flash(f"Draft {draft.ref} made with {len(draft.rows)} rows.", "ok")
    return _back(draft.ref)


@bp.route("/<ref>/row", methods=["POST"])
@require("reviewer")
def save_row(ref: str) -> WerkzeugResponse | tuple[str, int]:
    """Add a row, or change the row with the same prefix and taxon (its terms, its note)."""
    row = _row_from_form()
    basic = row.problems()
    try:
        if basic:
            raise HsRowsInvalid("row refused, nothing changed", basic)
        service().add_row(actor(), ref, row, _reason())
    except HsRowsInvalid as exc:
        return table_page(
            ref,
            422,
            row_problems={(row.hs_prefix, row.taxon): exc.problems},
            entered=request.form,
        )
    except ConnectorError as exc:
        return _refused(exc, ref)
    flash(f"Row {row.hs_prefix},{row.taxon} saved in {ref}.", "ok")
    return _back(ref)


@bp.route("/<ref>/remove", methods=["POST"])
@require("reviewer")
def remove_row(ref: str) -> WerkzeugResponse:
    prefix = request.form.get("hs_prefix", "").strip()[:16]
    taxon = request.form.get("taxon", "").strip()[:200]
    try:
        service().remove_rows(actor(), ref, prefix, taxon or None, _reason())
    except ConnectorError as exc:
        return _refused(exc, ref)
    flash(f"Row {prefix},{taxon} removed from {ref}.", "ok")
    return _back(ref)


@bp.route("/<ref>/import", methods=["POST"])
@require("reviewer")
def import_csv(ref: str) -> WerkzeugResponse | tuple[str, int]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a CSV file to import.", "error")
        return _back(ref)
    data = upload.stream.read(MAX_CSV + 1)
    try:
        if len(data) > MAX_CSV:
            raise HsRowsInvalid("CSV refused", [f"the file is over {MAX_CSV} bytes"])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HsRowsInvalid("CSV refused", ["the file is not UTF-8 text"]) from exc
        parsed = parse_rows(text, upload.filename[:100])
        service().import_rows(
            actor(), ref, parsed.rows, parsed.lines, upload.filename[:100], _reason()
        )
    except HsRowsInvalid as exc:
        return table_page(ref, 422, import_problems=exc.problems)
    except ConnectorError as exc:
        return _refused(exc, ref)
    flash(f"{len(parsed.rows)} rows imported into {ref}: they replace the draft's rows.", "ok")
    return _back(ref)


@bp.route("/<ref>/<step>", methods=["POST"])
@require("reviewer")
def review(ref: str, step: str) -> WerkzeugResponse:
    """propose, approve, reject (a reason is required) or publish (an effective date)."""
    admin, who, reason = service(), actor(), _reason()
    try:
        if step == "propose":
            admin.propose(who, ref, reason)
        elif step == "approve":
            admin.approve(who, ref, reason)
        elif step == "reject":
            admin.reject(who, ref, reason or "")
        elif step == "publish":
            text = request.form.get("effective_from", "").strip()
            try:
                effective = date.fromisoformat(text)
            except ValueError:
                flash("Give the date the version takes effect (YYYY-MM-DD).", "error")
                return _back(ref)
            published = admin.publish(who, ref, effective, reason)
            flash(f"{ref} published as {published.version.label}, in force from {effective}.", "ok")
            return redirect(url_for("hs_tables.show", ref=published.version.label))
        else:
            abort(404)
    except ConnectorError as exc:
        return _refused(exc, ref)
    flash(f"{ref}: {step} done.", "ok")
    return _back(ref)
