"""HS table administration on SQLite and PostgreSQL: lifecycle, four eyes, audit chain.

Declarations are decided by the real ClearanceService whose Rulebook takes its tables from the
store, as ``serve`` does (cites_connector.app.application).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cites_connector.adapters.sql.audit_checks import verify_chains
from cites_connector.adapters.sql.hs_store import SqlHsTableStore
from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.hs_admin import HsAdminRefused, HsRowsInvalid, NotPermitted
from cites_connector.domain.hs_admin_csv import parse_rows
from cites_connector.domain.hs_tables import HsRow
from cites_connector.hs_codes.nomenclature import load_cites_terms, load_nomenclature
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.hs_admin import HsAdminService
from tests.integration import kit

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
ROLES = {"vera": "viewer", "ed": "editor", "ana": "approver", "bo": "approver"}
NEW_YEAR = date(2027, 1, 1)


@pytest.fixture
def store(sql_ledger):
    return SqlHsTableStore(sql_ledger.engine)


@pytest.fixture
def admin(store):
    return HsAdminService(
        store,
        roles=ROLES,
        taxonomy=load_bundled_taxonomy(),
        terms=load_cites_terms(),
        nomenclature=load_nomenclature,
        clock=lambda: NOW,
    )


def approved_draft(admin, *, without=("010620", "Pythonidae")) -> str:
    """A draft that drops one row, written by ed, proposed by ed, approved by ana."""
    draft = admin.new_draft("ed", "HS2022", reason="pythons move to their own line")
    admin.remove_rows("ed", draft.ref, *without, reason="no longer under 0106.20")
    admin.propose("ed", draft.ref, reason="ready")
    admin.approve("ana", draft.ref, reason="checked")
    return draft.ref


def clearance_on(ledger, store, today: date):
    """A clearance service whose clock reads ``today``: declarations dated ahead of the kit's
    clock would be implausible (contract 5, DECLARATION_DATE_IMPLAUSIBLE)."""
    clearance, permits = kit.services(ledger)
    clearance.clock = kit.Clock(datetime.combine(today, time(9), UTC))
    clearance.rulebook = Rulebook(
        tables=store.tables,
        taxonomy=load_bundled_taxonomy(),
        policy=DecisionPolicy(home_country="NA"),
    )
    permits.apply(kit.permit("P-1"))
    return clearance


# -- lifecycle ------------------------------------------------------------------------------------


def test_a_version_published_for_a_future_date_applies_from_that_date(sql_ledger, store, admin):
    clearance = clearance_on(sql_ledger, store, NEW_YEAR)
    before = clearance.check(
        "E-1", 1, kit.export(kit.python_item(1, 2, "P-1"), on=date(2026, 12, 31))
    )
    assert before.decision.value == "CLEARED" and before.hs_table == "HS2022/1"

    published = admin.publish("ana", approved_draft(admin), NEW_YEAR, reason="HS change")
    assert published.version.label == "HS2022/2"
    assert published.ended == (("HS2022/1", date(2026, 12, 31)),)

    day_before = clearance.check(
        "E-1", 1, kit.export(kit.python_item(1, 2, "P-1"), on=date(2026, 12, 31))
    )
    on_the_day = clearance.check("E-1", 1, kit.export(kit.python_item(1, 2, "P-1"), on=NEW_YEAR))
    assert (day_before.hs_table, day_before.decision.value) == ("HS2022/1", "CLEARED")
    assert (on_the_day.hs_table, on_the_day.decision.value) == ("HS2022/2", "HELD")
    assert on_the_day.items[0].reasons[0].code.value == "SPECIES_MISMATCH"

    cleared = clearance.clear(
        "E-2", 1, kit.export(kit.python_item(1, 2, "P-1"), on=date(2026, 12, 31))
    )
    with sql_ledger.engine.connect() as conn:
        assert (
            conn.execute(text("select hs_table from decisions where declaration_id='E-2'")).scalar()
            == "HS2022/1"
            == cleared.decision.hs_table
        )


def test_a_published_version_is_never_edited(admin):
    approved_draft(admin)
    with pytest.raises(HsAdminRefused, match="never changes"):
        admin.add_row("ed", "HS2022/1", HsRow("010620", "Salvator"), reason="try")


def test_the_database_refuses_to_change_published_rows(sql_ledger):
    with pytest.raises(DBAPIError, match="append-only"):
        with sql_ledger.engine.begin() as conn:
            conn.execute(text("update hs_version_rows set taxon = 'Felidae'"))


def test_rollback_publishes_a_copy_of_an_older_version(sql_ledger, store, admin):
    admin.publish("ana", approved_draft(admin), NEW_YEAR, reason="HS change")
    rolled = admin.rollback("bo", "HS2022/1", date(2027, 2, 1), reason="pythons wrongly removed")
    assert rolled.version.label == "HS2022/3" and rolled.ended == (("HS2022/2", date(2027, 1, 31)),)
    assert set(rolled.version.rows) == set(admin.rows("HS2022/1")[1])
    clearance = clearance_on(sql_ledger, store, date(2027, 2, 1))
    on = {
        day: clearance.check("E", 1, kit.export(kit.python_item(1, 2, "P-1"), on=day))
        for day in (date(2027, 1, 31), date(2027, 2, 1))
    }
    assert [(d.hs_table, d.decision.value) for d in on.values()] == [
        ("HS2022/2", "HELD"),
        ("HS2022/3", "CLEARED"),
    ]
    assert not admin.diff("HS2022/1", "HS2022/3")


def test_overlapping_periods_are_refused_and_nothing_is_published(admin):
    admin.publish("ana", approved_draft(admin), NEW_YEAR, reason="HS change")
    second = approved_draft(admin, without=("010620", "Boidae"))
    for day in (NEW_YEAR, date(2026, 12, 15)):
        with pytest.raises(HsAdminRefused, match="would overlap HS2022/2"):
            admin.publish("ana", second, day, reason="again")
    assert [v.label for v in admin.overview().versions] == ["HS2022/1", "HS2022/2"]
    replaced = admin.publish("ana", second, NEW_YEAR, reason="correction", supersede=["HS2022/2"])
    assert replaced.withdrawn == ("HS2022/2",)
    states = {v.label: v.state_on(NOW.date()) for v in admin.overview().versions}
    assert states == {"HS2022/1": "IN FORCE", "HS2022/2": "WITHDRAWN", "HS2022/3": "SCHEDULED"}


def test_the_running_provider_sees_a_publication_without_restart(store, admin):
    first = store.tables()
    assert [s.label for s in first] == ["HS2022/1"]
    assert store.tables() is first  # nothing published: the cached set
    admin.publish("ana", approved_draft(admin), NEW_YEAR, reason="HS change")
    assert [s.label for s in store.tables()] == ["HS2022/1", "HS2022/2"]


# -- four eyes ------------------------------------------------------------------------------------


def test_an_approver_cannot_approve_a_draft_they_proposed(admin):
    draft = admin.new_draft("ana", "HS2022", reason="mine")
    admin.add_row("ana", draft.ref, HsRow("010620", "Salvator", frozenset({"LIV"})), reason="tegus")
    admin.propose("ana", draft.ref, reason="ready")
    with pytest.raises(NotPermitted, match="ana proposed draft"):
        admin.approve("ana", draft.ref, reason="self")
    assert admin.approve("bo", draft.ref, reason="checked").approved_by == "bo"


def test_a_viewer_cannot_edit_and_an_editor_cannot_approve(admin):
    with pytest.raises(NotPermitted, match="vera is viewer"):
        admin.new_draft("vera", "HS2022", reason="try")
    draft = admin.new_draft("ed", "HS2022", reason="ok")
    with pytest.raises(NotPermitted, match="vera is viewer"):
        admin.add_row("vera", draft.ref, HsRow("010620", "Salvator"), reason="try")
    admin.propose("ed", draft.ref, reason="ready")
    with pytest.raises(NotPermitted, match="ed is editor"):
        admin.approve("ed", draft.ref, reason="try")
    with pytest.raises(HsAdminRefused, match="must be approved"):
        admin.publish("ana", draft.ref, NEW_YEAR, reason="skip review")


def test_a_rejected_draft_goes_back_to_editing(admin):
    draft = admin.new_draft("ed", "HS2022", reason="ok")
    admin.propose("ed", draft.ref, reason="ready")
    rejected = admin.reject("ana", draft.ref, reason="missing tegus")
    assert (rejected.status.value, rejected.rejection) == ("DRAFT", "missing tegus")
    admin.add_row("ed", draft.ref, HsRow("010620", "Salvator", frozenset({"LIV"})), reason="tegus")


# -- CSV import ----------------------------------------------------------------------------------


def test_an_import_with_a_bad_row_changes_nothing_and_names_the_line(admin):
    draft = admin.new_draft("ed", "HS2022", empty=True, reason="from a file")
    parsed = parse_rows(
        "hs_prefix,taxon,terms,note\n010620,Pythonidae,LIV,\n"
        "010620,Pythonus,LIV,\n0199,Boidae,LIV,\n"
    )
    with pytest.raises(HsRowsInvalid) as refused:
        admin.import_rows("ed", draft.ref, parsed.rows, parsed.lines, "new.csv", reason="load")
    assert refused.value.problems == [
        "line 3, row 010620,Pythonus: taxon 'Pythonus' is not in the taxonomy",
        "line 4, row 0199,Boidae: 0199 is not a heading of HS2022 (no such code in chapter 01)",
    ]
    assert admin.rows(draft.ref)[1] == ()


def test_export_then_import_into_a_draft_gives_the_same_rows(admin):
    from cites_connector.domain.hs_admin_csv import format_rows

    rows = admin.rows("HS2022/1")[1]
    draft = admin.new_draft("ed", "HS2022", empty=True, reason="round trip")
    parsed = parse_rows(format_rows(rows))
    admin.import_rows("ed", draft.ref, parsed.rows, parsed.lines, "export.csv", reason="load")
    assert admin.diff("HS2022/1", draft.ref) == []


# -- audit ---------------------------------------------------------------------------------------


def audit_rows(engine):
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("select seq, actor, action, subject, reason from admin_audit order by seq")
            )
        )


def test_every_administrative_action_is_audited_with_who_what_and_why(sql_ledger, admin):
    admin.publish("bo", approved_draft(admin), NEW_YEAR, reason="HS change")
    rows = audit_rows(sql_ledger.engine)
    assert [(r.actor, r.action, r.reason) for r in rows] == [
        ("migrate", "hs.version.seeded", "bundled table loaded by migration 0003"),
        ("migrate", "audit.keyed", "the audit chains are keyed with HMAC-SHA-256 from here on"),
        ("ed", "hs.draft.created", "pythons move to their own line"),
        ("ed", "hs.draft.rows_removed", "no longer under 0106.20"),
        ("ed", "hs.draft.proposed", "ready"),
        ("ana", "hs.draft.approved", "checked"),
        ("bo", "hs.version.published", "HS change"),
    ]
    result = verify_chains(sql_ledger.engine, seal=False)
    with sql_ledger.engine.connect() as conn:
        details = conn.execute(text("select details from admin_audit where seq = 4")).scalar()
    assert result.ok and result.administration.rows == 7
    assert '"change":"removed"' in details and "Pythonidae" in details


def _allow_tampering(conn) -> None:
    """What a database owner could do: switch the append-only triggers off."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("drop trigger admin_audit_no_update"))
        conn.execute(text("drop trigger admin_audit_no_delete"))
        conn.execute(text("drop trigger hs_version_rows_no_update"))
    else:
        conn.execute(text("alter table admin_audit disable trigger user"))
        conn.execute(text("alter table hs_version_rows disable trigger user"))


def test_an_audit_row_edited_by_hand_is_detected(sql_ledger, admin):
    approved_draft(admin)
    with sql_ledger.engine.begin() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            with conn.begin_nested():
                conn.execute(text("update admin_audit set actor = 'bo' where seq = 6"))
        _allow_tampering(conn)
        conn.execute(text("update admin_audit set actor = 'bo' where seq = 6"))
    result = verify_chains(sql_ledger.engine, seal=False).administration
    assert not result.ok and result.broken_at == 6
    assert "row 6 (hs.draft.approved D1) does not match its MAC" in result.problem


def test_an_audit_row_removed_by_hand_is_detected(sql_ledger, admin):
    approved_draft(admin)
    with sql_ledger.engine.begin() as conn:
        _allow_tampering(conn)
        conn.execute(text("delete from admin_audit where seq = 4"))
    result = verify_chains(sql_ledger.engine, seal=False).administration
    assert result.broken_at == 5 and "a row was removed" in result.problem


def test_a_published_row_edited_by_hand_is_detected(sql_ledger, admin):
    with sql_ledger.engine.begin() as conn:
        _allow_tampering(conn)
        conn.execute(
            text("update hs_version_rows set taxon = 'Felidae' where taxon = 'Pythonidae'")
        )
    result = verify_chains(sql_ledger.engine, seal=False)
    assert result.administration.ok and result.tampered_versions == ("HS2022/1",)
    assert not result.ok


def test_an_exclusion_added_under_an_existing_row_is_accepted_and_an_orphan_refused(admin):
    draft = admin.new_draft("ed", "HS2022", reason="narrow 4202")
    admin.add_row(
        "ed",
        draft.ref,
        HsRow("420219", "-", note="national practice"),
        reason="these cases are never leather here",
    )
    with pytest.raises(HsRowsInvalid, match="row 9202,-: exclusion without a parent row"):
        admin.add_row("ed", draft.ref, HsRow("9202", "-"), reason="typo")
