"""HS-to-taxon tables, read side: versions and drafts, rows searched by prefix or taxon, CSV
export, the diff against the version in force, and the impact preview.

Everything goes through the HS administration service the CLI uses (``cites-connector hs``);
the console has no table logic of its own. The editing actions are in ``hs_edit.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from cites_connector.console.auth import backend, has, staff_only, user
from cites_connector.domain.errors import ConnectorError
from cites_connector.domain.hs_admin import Draft, DraftStatus, TableVersion, parse_ref
from cites_connector.domain.hs_admin_csv import format_rows
from cites_connector.domain.hs_admin_diff import diff_rows
from cites_connector.domain.hs_admin_validation import row_name
from cites_connector.domain.hs_tables import HsRow
from cites_connector.services.hs_admin import HsAdminService

bp = Blueprint("hs_tables", __name__, url_prefix="/hs")


def service() -> HsAdminService:
    return backend().hs_admin(user())


def in_force(versions: list[TableVersion], today: date) -> list[TableVersion]:
    """The version of each edition in force today (the latest that started)."""
    best: dict[str, TableVersion] = {}
    for v in versions:
        if not v.active or v.effective_from > today:
            continue
        if v.effective_to is not None and v.effective_to < today:
            continue
        if v.edition not in best or v.effective_from > best[v.edition].effective_from:
            best[v.edition] = v
    return sorted(best.values(), key=lambda v: v.label)


@bp.route("/")
@staff_only
def index() -> str:
    overview = service().overview()
    current = in_force(overview.versions, overview.today)
    return render_template(
        "hs_index.html",
        overview=overview,
        current=current,
        can_edit=has("admin", "reviewer"),
    )


def _matches(row: HsRow, prefix: str, taxon: str) -> bool:
    return (
        not prefix or row.hs_prefix.startswith(prefix) or prefix.startswith(row.hs_prefix)
    ) and (not taxon or taxon.lower() in row.taxon.lower())


def label_of(ref: str) -> str:
    """``d3`` → ``D3``, ``hs2022/1`` → ``HS2022/1``; 404 for anything else."""
    try:
        kind, number = parse_ref(ref)
    except ConnectorError as exc:
        abort(404, str(exc))
    return f"D{number}" if kind == "draft" else f"{kind}/{number}"


def _draft(ref: str) -> Draft | None:
    if not ref.upper().startswith("D"):
        return None
    return next((d for d in service().overview().drafts if d.ref == ref.upper()), None)


def table_page(ref: str, status: int = 200, **extra: Any) -> tuple[str, int]:
    """A version or draft with its rows; a draft with its problems next to each row."""
    admin, label = service(), label_of(ref)
    try:
        _, rows, reviews = admin.rows(label)
        problems = admin.validate(label) if label.startswith("D") else []
    except ConnectorError as exc:
        abort(404, str(exc))
    prefix = request.args.get("prefix", "").strip()[:10]
    taxon = request.args.get("taxon", "").strip()[:200]
    by_row: dict[str, list[str]] = {}
    for p in problems:
        by_row.setdefault(p.row, []).append(p.problem)
    shown = [
        (row, review, by_row.get(row_name(row), []))
        for row, review in zip(rows, reviews, strict=True)
        if _matches(row, prefix, taxon)
    ]
    draft = _draft(label)
    return (
        render_template(
            "hs_table.html",
            label=label,
            rows=shown,
            total=len(rows),
            draft=draft,
            editable=draft is not None
            and draft.status is DraftStatus.DRAFT
            and has("admin", "reviewer"),
            reviewer=has("admin", "reviewer"),
            other_problems=[p for p in problems if not any(p.row == row_name(r) for r in rows)],
            query={"prefix": prefix, "taxon": taxon},
            today=admin.overview().today,
            **extra,
        ),
        status,
    )


@bp.route("/table/<path:ref>")
@staff_only
def show(ref: str) -> tuple[str, int]:
    return table_page(ref)


@bp.route("/csv/<path:ref>")
@staff_only
def export_csv(ref: str) -> Response:
    label = label_of(ref)
    try:
        rows = service().rows(label)[1]
    except ConnectorError as exc:
        abort(404, str(exc))
    name = label.replace("/", "-")
    return Response(
        format_rows(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="hs-{name}.csv"'},
    )


@bp.route("/diff/<path:ref>")
@staff_only
def diff(ref: str) -> str:
    admin = service()
    overview = admin.overview()
    label = label_of(ref)
    try:
        edition, rows, _ = admin.rows(label)
        current = [v for v in in_force(overview.versions, overview.today) if v.edition == edition]
        against = request.args.get("against") or (current[0].label if current else None)
        before = admin.rows(against)[1] if against else ()
    except ConnectorError as exc:
        abort(404, str(exc))
    return render_template(
        "hs_diff.html",
        label=label,
        against=against,
        changes=diff_rows(before, rows),
        versions=overview.versions,
    )


@bp.route("/impact/<path:ref>")
@staff_only
def impact(ref: str) -> str:
    since_text = request.args.get("since", "").strip()
    try:
        since = date.fromisoformat(since_text) if since_text else None
    except ValueError:
        abort(400, "since is not a date of the form YYYY-MM-DD")
    app = backend().app
    try:
        report = service().impact(ref, since, app.ledger, app.rulebook)
    except ConnectorError as exc:
        abort(404, str(exc))
    return render_template("hs_impact.html", report=report, ref=ref, since=since_text)
