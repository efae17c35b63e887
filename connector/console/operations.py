"""Operations (administrators): EPIX reachable or not and the declarations held waiting for
its permits, the outbox backlog and failed deliveries with a retry button,
dead-lettered permit messages with their reasons and a replay button, the audit logs with
their verification; and for all staff a dashboard (charts drawn on the server as SVG).

Retry and replay are the acts of ``cites-connector outbox retry`` and ``dlq replay``, recorded
in the audit chain under the logged-in user.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from cites_connector.app.console_backend import DeadLetter
from cites_connector.console.auth import actor, backend, require, staff_only
from cites_connector.console.charts import day_bars, share_bars
from cites_connector.domain.errors import ConnectorError

bp = Blueprint("operations", __name__, url_prefix="/operations")


@bp.route("/")
@require("admin")
def index() -> str:
    b = backend()
    status = b.outbox_status(50)
    letters: list[DeadLetter] = []
    total, broker_problem = 0, None
    try:
        letters, total = b.dead_letters(50)
    except ConnectorError as exc:
        broker_problem = exc.message
    return render_template(
        "operations.html",
        status=status,
        dependencies=b.dependencies(),
        age=status.oldest_pending_age(b.clock()),
        letters=letters,
        total=total,
        broker_problem=broker_problem,
        customs_url=bool(b.app.settings.customs_url),
        replay_configured=b.app.settings.dlq_replay_url is not None,
    )


@bp.route("/outbox/retry", methods=["POST"])
@require("admin")
def retry() -> WerkzeugResponse:
    b = backend()
    if request.form.get("all"):
        ids = None
    else:
        try:
            ids = [int(request.form.get("id", ""))]
        except ValueError:
            flash("No outbox message chosen.", "error")
            return redirect(url_for("operations.index"))
    due = b.outbox_retry(actor(), ids)
    if ids and not due:
        flash(f"No unsent outbox message {ids[0]}.", "error")
    else:
        flash(f"{len(due)} message(s) due now: the relay sends them at its next poll.", "ok")
    return redirect(url_for("operations.index"))


@bp.route("/dlq/replay", methods=["POST"])
@require("admin")
def replay() -> WerkzeugResponse:
    b = backend()
    message_id = None if request.form.get("all") else request.form.get("message_id", "")[:200]
    if message_id == "":
        flash("No dead letter chosen.", "error")
        return redirect(url_for("operations.index"))
    try:
        result = b.replay(actor(), message_id)
    except ConnectorError as exc:
        flash(f"Not replayed: {exc.message}", "error")
        return redirect(url_for("operations.index"))
    for letter, problem in result.failed:
        flash(f"{letter.message_id} not replayed: {problem}", "error")
    flash(f"{len(result.replayed)} replayed, {len(result.failed)} not replayed.", "ok")
    return redirect(url_for("operations.index"))


@bp.route("/audit")
@require("admin")
def audit() -> str:
    b = backend()
    try:
        report, problem = b.verify_audit(), None
    except ConnectorError as exc:
        report, problem = None, exc.message
    return render_template("audit.html", report=report, problem=problem, rows=b.latest_audit(50))


@bp.route("/dashboard")
@staff_only
def dashboard() -> str:
    b = backend()
    figures = b.dashboard(14)
    return render_template(
        "dashboard.html",
        figures=figures,
        days=day_bars(figures.per_day, figures.since, b.clock().date()),
        reasons=share_bars(figures.held_reasons),
    )
