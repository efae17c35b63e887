"""Trade suspensions and export quotas, changing: add and remove a suspension, set a quota,
propose a Species+ import, approve or reject one (four eyes).

Each action calls the service the CLI uses (services/trade_imports.py) with the logged-in
user as actor (``console:NAME``) and the role their console roles give on HS tables (admin
and reviewer: approver). The service checks the role and four eyes (whoever proposed an
import can neither approve nor reject it), and writes the change with its record in the
administration audit chain, or nothing. A reason is asked for every change, as the CLI's
``--reason``. A refused form is shown again with what was wrong next to it (422); a refused
step on a row says why; an action the role may not take answers 403.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, request, url_for
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response as WerkzeugResponse

from cites_connector.console.auth import actor, backend, require, user
from cites_connector.console.trade import KINDS, service, trade_page
from cites_connector.domain.errors import ConnectorError, InvalidInput
from cites_connector.domain.hs_admin import NotPermitted
from cites_connector.domain.trade_controls import (
    PURPOSE_CODES,
    SOURCE_CODES,
    ExportQuota,
    Suspension,
    TradeFlow,
    codes,
)
from cites_connector.domain.units import format_decimal

bp = Blueprint("trade_edit", __name__, url_prefix="/trade/edit")


def _text(name: str, limit: int = 1000) -> str | None:
    """A field as typed (stripped): the domain's checks refuse what does not fit, and the
    cut here only bounds what is read, well above any valid value (a 3-letter country is
    refused, never cut to a valid 2-letter one)."""
    return request.form.get(name, "").strip()[:limit] or None


def _reason() -> str:
    reason = _text("reason")
    if reason is None:
        raise InvalidInput("give the reason for the change: it is recorded in the audit log")
    return reason


def _date(name: str, what: str) -> date | None:
    text = _text(name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{what} {text!r} is not a date (YYYY-MM-DD)") from exc


def _flow() -> TradeFlow:
    text = (_text("flow") or "").upper()
    try:
        return TradeFlow(text)
    except ValueError as exc:
        raise InvalidInput(f"flow {text!r} is not EXPORT, RE_EXPORT, IMPORT or ALL") from exc


def _number(name: str, what: str) -> str:
    text = _text(name)
    if text is None:
        raise InvalidInput(f"give the {what}")
    return text


def _refused_form(form: str, exc: ConnectorError) -> tuple[str, int]:
    if isinstance(exc, NotPermitted):
        abort(403, exc.message)
    return trade_page(422, failed=form, problem=exc.message)


def _refused_step(exc: ConnectorError, back: str) -> WerkzeugResponse:
    if isinstance(exc, NotPermitted):
        abort(403, exc.message)
    flash(f"Refused, nothing changed: {exc.message}", "error")
    return redirect(back)


@bp.route("/suspension", methods=["POST"])
@require("reviewer")
def add_suspension() -> WerkzeugResponse | tuple[str, int]:
    try:
        reason = _reason()
        starts_on = _date("starts_on", "first day")
        if starts_on is None:
            raise InvalidInput("give the first day the suspension is in force")
        suspension = Suspension(
            country=_text("country") or "",
            taxon=_text("taxon"),
            flow=_flow(),
            starts_on=starts_on,
            ends_on=_date("ends_on", "last day"),
            reference=_text("notification") or "",
            sources=codes(_text("sources"), SOURCE_CODES, "source"),
            purposes=codes(_text("purposes"), PURPOSE_CODES, "purpose"),
            notes=_text("notes"),
        )
        added = service().add_suspension(actor(), suspension, reason)
    except ConnectorError as exc:
        return _refused_form("suspension", exc)
    flash(f"Suspension {added.id} added: {added.describe()}.", "ok")
    return redirect(url_for("trade.index"))


@bp.route("/suspension/<int:number>/remove", methods=["POST"])
@require("reviewer")
def remove_suspension(number: int) -> WerkzeugResponse:
    try:
        removed = service().remove_suspension(actor(), number, _reason())
    except ConnectorError as exc:
        return _refused_step(exc, url_for("trade.index"))
    flash(f"Suspension {number} removed: {removed.describe()}.", "ok")
    return redirect(url_for("trade.index"))


@bp.route("/quota", methods=["POST"])
@require("reviewer")
def set_quota() -> WerkzeugResponse | tuple[str, int]:
    admin = service()
    try:
        reason = _reason()
        year = _number("year", "year")
        quantity = _number("quantity", "quantity")
        if not (year.isascii() and year.isdigit()):
            raise InvalidInput(f"year {year!r} is not a calendar year")
        try:
            amount = Decimal(quantity)
        except InvalidOperation as exc:
            raise InvalidInput(f"quantity {quantity!r} is not a number") from exc
        quota = ExportQuota(
            country=admin.home,
            taxon=_text("taxon") or "",
            year=int(year),
            quantity=amount,
            unit=_text("unit"),
            term=_text("term"),
            notes=_text("notes"),
        )
        stored = admin.set_quota(actor(), quota, reason)
    except ConnectorError as exc:
        return _refused_form("quota", exc)
    flash(f"{stored.describe()} set; {format_decimal(stored.used)} used so far.", "ok")
    return redirect(url_for("trade.index", year=stored.year))


@bp.route("/import/<kind>", methods=["POST"])
@require("reviewer")
def propose_import(kind: str) -> WerkzeugResponse | tuple[str, int]:
    """A Species+ ``cites_legislation`` response uploaded and proposed: nothing of it applies
    until another reviewer approves it."""
    if kind not in KINDS:
        abort(404)
    upload = request.files.get("file")
    try:
        reason = _reason()
        if upload is None or not upload.filename:
            raise InvalidInput("choose the Species+ file (JSON) to import")
        raw = upload.stream.read()
        name = secure_filename(upload.filename)[:100] or "upload.json"
        year = _text("year")
        if year is not None and not (year.isascii() and year.isdigit()):
            raise InvalidInput(f"year {year!r} is not a calendar year")
        proposal = backend().propose_import(
            user(),
            kind,
            raw,
            f"{name} sha256:{hashlib.sha256(raw).hexdigest()}",
            reason,
            taxon=_text("taxon"),
            year=int(year) if year else None,
            term=_text("term"),
        )
    except ConnectorError as exc:
        return _refused_form(f"import-{kind}", exc)
    flash(
        f"Import {proposal.number} of {kind} proposed: {len(proposal.entries)} entries. "
        f"Another reviewer applies it by approving it here.",
        "ok",
    )
    return redirect(url_for("trade.proposal", kind=kind, number=proposal.number))


@bp.route("/import/<kind>/<int:number>/<step>", methods=["POST"])
@require("reviewer")
def review_import(kind: str, number: int, step: str) -> WerkzeugResponse:
    if kind not in KINDS or step not in ("approve", "reject"):
        abort(404)
    back = url_for("trade.proposal", kind=kind, number=number)
    admin, who = service(), actor()
    try:
        reason = _reason()
        if step == "approve":
            done = admin.approve(who, kind, number, reason)
            message = (
                f"Import {number} of {kind} applied: {done.added} added, {done.replaced} "
                f"replaced, {done.unchanged} unchanged."
            )
        else:
            admin.reject(who, kind, number, reason)
            message = f"Import {number} of {kind} rejected: nothing of it applies."
    except ConnectorError as exc:
        return _refused_step(exc, back)
    flash(message, "ok")
    return redirect(back)
