"""``cites-connector hs ...``: administering the HS-to-taxon tables (contract 6, issue 5).

Every command takes ``--user`` (default: the operating-system user); writing commands also
take ``--reason``, recorded with the change in the hash-chained audit log.
"""

from __future__ import annotations

import csv
import getpass
import io
import os
import sys
from datetime import date
from pathlib import Path

import click

from connector.cli.main import EXIT_REFUSED, Context, cli, handle_errors
from connector.cli.output import emit_json, table

DATE = click.DateTime(formats=["%Y-%m-%d"])
CSV_OUT = click.Path(path_type=Path, dir_okay=False, allow_dash=True)
CSV_IN = click.Path(path_type=Path, dir_okay=False, exists=True)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a container
        return os.environ.get("USER") or "unknown"


def user_option(command):
    return click.option("--user", default=_os_user, show_default="the OS user",
                        help="Who acts (roles: setting hs_roles); recorded in the audit log.")(
        command)


def reason_option(command):
    return click.option("--reason", required=True,
                        help="Why: recorded with the change in the audit log.")(command)


def service(obj: Context):
    """The administration service on the application's database, taxonomy and clock."""
    from adapters.sql.hs_store import SqlHsTableStore
    from connector.services.hs_admin import HsAdminService
    from hs_codes.nomenclature import load_cites_terms, load_nomenclature

    app = obj.app
    return HsAdminService(SqlHsTableStore(app.engine), roles=dict(app.settings.hs_roles),
                          taxonomy=app.rulebook.taxonomy, terms=load_cites_terms(),
                          nomenclature=load_nomenclature, clock=app.clock)


def _write(path: Path, text: str) -> None:
    if str(path) == "-":
        click.echo(text, nl=False)
    else:
        path.write_text(text, encoding="utf-8")


def _day(value) -> date | None:
    return value.date() if value is not None else None


@cli.group()
def hs() -> None:
    """HS-to-taxon tables: versions, drafts, four-eyes review, publication, impact."""


# -- reading ----------------------------------------------------------------------------------

@hs.command("list")
@user_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def list_(obj: Context, user: str, as_json: bool) -> None:
    """Published versions (status, effective dates) and drafts (review status)."""
    view = service(obj).overview()
    versions = [{"version": v.label, "state": v.state_on(view.today),
                 "effective_from": v.effective_from.isoformat(),
                 "effective_to": v.effective_to.isoformat() if v.effective_to else None,
                 "rows": len(v.rows), "published_by": v.published_by,
                 "approved_by": v.approved_by, "source": v.source} for v in view.versions]
    drafts = [{"draft": d.ref, "edition": d.edition, "status": d.status.value,
               "based_on": d.based_on, "rows": len(d.rows),
               "flagged": sum(1 for r in d.rows if r.review), "created_by": d.created_by,
               "proposed_by": d.proposed_by, "approved_by": d.approved_by,
               "rejected_by": d.rejected_by, "rejection": d.rejection,
               "published_as": d.published_as} for d in view.drafts]
    if as_json:
        emit_json({"today": view.today.isoformat(), "versions": versions, "drafts": drafts})
        return
    click.echo(f"Versions (today {view.today}):")
    click.echo(table(["Version", "State", "From", "To", "Rows", "Published by", "Approved by",
                      "Source"],
                     [[v["version"], v["state"], v["effective_from"], v["effective_to"] or "open",
                       v["rows"], v["published_by"], v["approved_by"], v["source"]]
                      for v in versions]))
    click.echo("\nDrafts:")
    if not drafts:
        click.echo("  none")
        return
    click.echo(table(["Draft", "Edition", "Status", "Based on", "Rows", "To review",
                      "Created by", "Proposed by", "Approved by", "Published as"],
                     [[d["draft"], d["edition"], d["status"], d["based_on"], d["rows"],
                       d["flagged"], d["created_by"], d["proposed_by"], d["approved_by"],
                       d["published_as"]] for d in drafts]))


@hs.command()
@click.argument("ref")
@click.option("--prefix", default=None, help="Only rows whose HS prefix starts with this.")
@click.option("--taxon", default=None, help="Only rows of this taxon (case-insensitive).")
@user_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def show(obj: Context, ref: str, prefix: str | None, taxon: str | None, user: str,
         as_json: bool) -> None:
    """Rows of a version (HS2022/1) or a draft (D3)."""
    edition, rows, reviews = service(obj).rows(ref)
    picked = [(r, rv) for r, rv in zip(rows, reviews)
              if (prefix is None or r.hs_prefix.startswith(prefix.replace(".", "")))
              and (taxon is None or r.taxon.casefold() == taxon.casefold())]
    if as_json:
        emit_json({"ref": ref, "edition": edition, "rows": [
            {"hs_prefix": r.hs_prefix, "taxon": r.taxon, "terms": sorted(r.terms),
             "note": r.note, "review": rv} for r, rv in picked]})
        return
    click.echo(f"{ref} ({edition}): {len(picked)} of {len(rows)} rows")
    click.echo(table(["HS prefix", "Taxon", "Terms", "Note", "Review"],
                     [[r.hs_prefix, r.taxon, " ".join(sorted(r.terms)), r.note, rv]
                      for r, rv in picked]))


@hs.command()
@click.argument("hs_code")
@click.option("--date", "on", type=DATE, default=None, help="Declaration date (default: today).")
@user_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def lookup(obj: Context, hs_code: str, on, user: str, as_json: bool) -> None:
    """Which rows apply to HS_CODE on a date, and why (the version, the matched prefix)."""
    answer = service(obj).lookup(hs_code, _day(on))
    if as_json:
        emit_json({"hs_code": answer.code, "date": answer.day.isoformat(),
                   "table": answer.table, "prefix": answer.prefix, "excluded": answer.excluded,
                   "cites_goods": bool(answer.rows) and not answer.excluded,
                   "rows": [{"hs_prefix": r.hs_prefix, "taxon": r.taxon,
                             "terms": sorted(r.terms), "note": r.note} for r in answer.rows]})
        return
    if answer.table is None:
        click.echo(f"no HS table is in force on {answer.day}: declarations are refused")
        sys.exit(EXIT_REFUSED)
    head = f"HS {answer.code} on {answer.day}: table {answer.table}"
    if answer.prefix is None:
        click.echo(f"{head}: no row matches: not CITES goods")
    elif answer.excluded:
        click.echo(f"{head}: prefix {answer.prefix} is excluded: not CITES goods")
    else:
        click.echo(f"{head}: longest matching prefix {answer.prefix}: may hold CITES specimens")
    if answer.rows:
        click.echo(table(["HS prefix", "Taxon", "Terms", "Note"],
                         [[r.hs_prefix, r.taxon, " ".join(sorted(r.terms)) or "any", r.note]
                          for r in answer.rows]))


@hs.command()
@click.argument("ref")
@user_option
@click.pass_obj
@handle_errors
def validate(obj: Context, ref: str, user: str) -> None:
    """Check every row of a draft or version; exit 1 when a row has a problem."""
    problems = service(obj).validate(ref)
    if not problems:
        click.echo(f"{ref}: every row is valid")
        return
    click.echo(f"{ref}: {len(problems)} problem(s)")
    for problem in problems:
        click.echo(f"  {problem}")
    sys.exit(EXIT_REFUSED)


@hs.command()
@click.argument("a")
@click.argument("b")
@user_option
@click.pass_obj
@handle_errors
def diff(obj: Context, a: str, b: str, user: str) -> None:
    """Rows added (+), removed (-) and changed (~) from A to B."""
    changes = service(obj).diff(a, b)
    click.echo(f"{a} -> {b}: {len(changes)} change(s)")
    for change in changes:
        click.echo(f"  {change.describe()}")


# -- drafts -------------------------------------------------------------------------------------

@hs.group()
def draft() -> None:
    """Create and edit drafts (only a draft in status DRAFT can be edited)."""


@draft.command("new")
@click.option("--edition", required=True, help="HS edition of the draft, e.g. HS2022, HS2027.")
@click.option("--from", "based_on", default=None,
              help="Start from this version or draft (default: the edition's latest version).")
@click.option("--empty", is_flag=True, help="Start with no rows.")
@user_option
@reason_option
@click.pass_obj
@handle_errors
def draft_new(obj: Context, edition: str, based_on: str | None, empty: bool, user: str,
              reason: str) -> None:
    """Start a draft."""
    created = service(obj).new_draft(user, edition, based_on=based_on, empty=empty,
                                     reason=reason)
    click.echo(f"draft {created.ref} ({created.edition}) created with {len(created.rows)} rows"
               + (f" from {created.based_on}" if created.based_on else ""))


@draft.command("add")
@click.argument("ref")
@click.argument("hs_prefix")
@click.argument("taxon")
@click.option("--terms", default="", help="CITES term codes, space-separated (none: any term).")
@click.option("--note", default=None)
@user_option
@reason_option
@click.pass_obj
@handle_errors
def draft_add(obj: Context, ref: str, hs_prefix: str, taxon: str, terms: str,
              note: str | None, user: str, reason: str) -> None:
    """Add a row (taxon '-' excludes the prefix); re-adding a row replaces it and clears a
    conversion's review flag."""
    from connector.domain.hs_tables import HsRow

    row = HsRow(hs_prefix.replace(".", "").strip(), taxon.strip(),
                frozenset(terms.replace(",", " ").split()), note)
    edited = service(obj).add_row(user, ref, row, reason)
    click.echo(f"draft {edited.ref}: row {row.describe()} added ({len(edited.rows)} rows)")


@draft.command("remove")
@click.argument("ref")
@click.argument("hs_prefix")
@click.option("--taxon", default=None, help="Only this taxon's row (default: every row).")
@user_option
@reason_option
@click.pass_obj
@handle_errors
def draft_remove(obj: Context, ref: str, hs_prefix: str, taxon: str | None, user: str,
                 reason: str) -> None:
    """Remove the rows of a prefix (or one row with --taxon)."""
    edited = service(obj).remove_rows(user, ref, hs_prefix.replace(".", ""), taxon, reason)
    click.echo(f"draft {edited.ref}: {len(edited.rows)} rows left")


@draft.command("import")
@click.argument("ref")
@click.argument("file", type=CSV_IN)
@user_option
@reason_option
@click.pass_obj
@handle_errors
def draft_import(obj: Context, ref: str, file: Path, user: str, reason: str) -> None:
    """Replace a draft's rows with a CSV (hs_prefix,taxon,terms,note); all or nothing."""
    from connector.domain.hs_admin_csv import parse_rows

    parsed = parse_rows(file.read_text(encoding="utf-8-sig"), file.name)
    edited = service(obj).import_rows(user, ref, parsed.rows, parsed.lines, file.name, reason)
    click.echo(f"draft {edited.ref}: {len(edited.rows)} rows imported from {file.name}")


@draft.command("export")
@click.argument("ref")
@click.argument("file", type=CSV_OUT)
@user_option
@click.pass_obj
@handle_errors
def draft_export(obj: Context, ref: str, file: Path, user: str) -> None:
    """Write the rows of a draft or version as CSV ('-' for standard output)."""
    from connector.domain.hs_admin_csv import format_rows

    _, rows, _ = service(obj).rows(ref)
    _write(file, format_rows(rows))
    if str(file) != "-":
        click.echo(f"{len(rows)} rows of {ref} written to {file}")


# -- review and publication -------------------------------------------------------------------

_REVIEW_HELP = {
    "propose": "Propose a valid draft for review by another approver.",
    "approve": "Approve a proposed draft (not one you proposed or edited: four eyes).",
    "reject": "Send a proposed or approved draft back for editing, saying why.",
}


def _review(action: str):
    @hs.command(action, help=_REVIEW_HELP[action])
    @click.argument("ref")
    @user_option
    @reason_option
    @click.pass_obj
    @handle_errors
    def command(obj: Context, ref: str, user: str, reason: str) -> None:
        done = getattr(service(obj), action)(user, ref, reason)
        click.echo(f"draft {done.ref} is {done.status.value}"
                   + (f" (rejected by {done.rejected_by}: {done.rejection})"
                      if action == "reject" else ""))

    return command


propose = _review("propose")
approve = _review("approve")
reject = _review("reject")


def _published(result) -> None:
    v = result.version
    click.echo(f"{v.label} published: {len(v.rows)} rows, in force from {v.effective_from}")
    for label, last in result.ended:
        click.echo(f"  {label} now ends on {last}")
    for label in result.withdrawn:
        click.echo(f"  {label} withdrawn: it never takes effect")


@hs.command()
@click.argument("ref")
@click.option("--effective", type=DATE, required=True, help="First day the version applies.")
@click.option("--supersede", multiple=True,
              help="A scheduled version this one replaces before it takes effect.")
@user_option
@reason_option
@click.pass_obj
@handle_errors
def publish(obj: Context, ref: str, effective, supersede: tuple[str, ...], user: str,
            reason: str) -> None:
    """Publish an approved draft as the next version of its edition."""
    _published(service(obj).publish(user, ref, effective.date(), reason, supersede))


@hs.command()
@click.argument("version")
@click.option("--effective", type=DATE, required=True, help="First day the copy applies.")
@click.option("--supersede", multiple=True,
              help="A scheduled version this one replaces before it takes effect.")
@user_option
@reason_option
@click.pass_obj
@handle_errors
def rollback(obj: Context, version: str, effective, supersede: tuple[str, ...], user: str,
             reason: str) -> None:
    """Publish a copy of an older VERSION as a new version."""
    _published(service(obj).rollback(user, version, effective.date(), reason, supersede))


# -- impact and conversion ---------------------------------------------------------------------

IMPACT_COLUMNS = ("kind", "declaration_id", "version", "declaration_date", "item_number",
                  "hs_code", "chapter", "change", "count", "table_before", "taxa_before",
                  "taxa_after", "before", "after")


def impact_csv(report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, IMPACT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i in report.items:
        writer.writerow({"kind": "item", "declaration_id": i.declaration_id,
                         "version": i.version, "declaration_date": i.declaration_date,
                         "item_number": i.item_number, "hs_code": i.hs_code,
                         "chapter": i.chapter, "change": i.change,
                         "table_before": i.table_before, "taxa_before": " ".join(i.taxa_before),
                         "taxa_after": " ".join(i.taxa_after), "before": i.status_before,
                         "after": i.status_after})
    for d in report.declarations:
        writer.writerow({"kind": "declaration", "declaration_id": d.declaration_id,
                         "version": d.version, "declaration_date": d.declaration_date,
                         "change": "DECISION_CHANGED", "table_before": d.table_before,
                         "before": d.decision_before, "after": d.decision_after})
    for chapter, counts in report.chapters().items():
        for change, count in sorted(counts.items()):
            writer.writerow({"kind": "chapter", "chapter": chapter, "change": change,
                             "count": count})
    return out.getvalue()


@hs.command()
@click.argument("ref")
@click.option("--since", type=DATE, default=None,
              help="Only declarations dated on or after this day (default: all).")
@click.option("--csv", "csv_file", type=CSV_OUT, default=None,
              help="Also write the report as CSV to this file ('-': standard output only).")
@user_option
@click.pass_obj
@handle_errors
def impact(obj: Context, ref: str, since, csv_file: Path | None, user: str) -> None:
    """Decide recorded declarations again with REF instead of their table; writes nothing."""
    from connector.domain.hs_admin_impact import KINDS

    app = obj.app
    report = service(obj).impact(ref, _day(since), app.ledger, app.rulebook.policy)
    text = impact_csv(report)
    if csv_file is not None and str(csv_file) == "-":
        click.echo(text, nl=False)
        return
    click.echo(f"Impact of {report.draft} on {report.declarations_examined} declaration(s), "
               f"{report.items_examined} item(s)"
               + (f" dated from {report.since}" if report.since else "") + ": nothing written")
    click.echo(f"\nItems that change ({len(report.items)}):")
    click.echo(table(["Declaration", "Item", "HS code", "Change", "Table before", "Taxa before",
                      "Taxa after", "Status before", "Status after"],
                     [[i.declaration_id, i.item_number, i.hs_code, i.change, i.table_before,
                       ", ".join(i.taxa_before), ", ".join(i.taxa_after), i.status_before,
                       i.status_after] for i in report.items]))
    click.echo(f"\nDeclarations whose decision changes ({len(report.declarations)}):")
    click.echo(table(["Declaration", "Version", "Date", "Table before", "Before", "After"],
                     [[d.declaration_id, d.version, d.declaration_date, d.table_before,
                       d.decision_before, d.decision_after] for d in report.declarations]))
    click.echo("\nPer HS chapter:")
    click.echo(table(["Chapter", *KINDS],
                     [[c, *(counts.get(k, 0) for k in KINDS)]
                      for c, counts in report.chapters().items()]))
    for did, why in report.skipped:
        click.echo(f"  not decided again: {did}: {why}")
    if csv_file is not None:
        _write(csv_file, text)
        click.echo(f"\nCSV written to {csv_file}")


@hs.command()
@click.option("--from", "from_edition", required=True, help="Edition converted from (HS2022).")
@click.option("--to", "to_edition", required=True, help="Edition converted to (HS2027).")
@click.option("--correlation", type=CSV_IN, required=True,
              help="Correlation CSV: old_code,new_code (or columns named by edition).")
@click.option("--base", default=None,
              help="Version to convert (default: the --from edition's version in force).")
@user_option
@reason_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def convert(obj: Context, from_edition: str, to_edition: str, correlation: Path,
            base: str | None, user: str, reason: str, as_json: bool) -> None:
    """Build a draft of the new edition; split and merged codes are flagged for review."""
    from connector.domain.hs_admin_convert import parse_correlation

    pairs = parse_correlation(correlation.read_text(encoding="utf-8-sig"), from_edition.upper(),
                              to_edition.upper(), correlation.name)
    created, conversion = service(obj).convert(user, pairs, source=correlation.name, base=base,
                                               reason=reason)
    codes = [{"old": c.old, "kind": c.kind, "new": list(c.new), "rows": c.rows}
             for c in conversion.codes if c.kind != "unchanged"]
    if as_json:
        emit_json({"draft": created.ref, "rows": len(created.rows),
                   "flagged": conversion.flagged, "codes": codes})
        return
    click.echo(f"draft {created.ref} ({created.edition}) built from {created.based_on}: "
               f"{len(created.rows)} rows, {conversion.flagged} flagged for review")
    for kind in ("unchanged", "renumbered", "split", "merged", "heading-changed"):
        click.echo(f"  {kind}: {conversion.count(kind)} code(s)")
    if codes:
        click.echo(table(["Old code", "Kind", "New code(s)", "Rows"],
                         [[c["old"], c["kind"], " ".join(c["new"]), c["rows"]] for c in codes]))
    if conversion.flagged:
        click.echo(f"Review the flagged rows (hs show {created.ref}) before proposing the draft.")
