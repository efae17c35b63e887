"""The in-memory fake's HS administration repositories agree with the SQL ledger's.

The same HsAdminService scenarios (drafts, row edits, four-eyes review, publication with an
effective date, supersede and rollback, and the refusals on the way) run on the fake
(tests/memory_hs.py) and on the real database, step by step: each step must give the same
answer (the same draft or publication, or the same refusal, word for word), leave the same
versions and drafts, and append the same administration audit records. So a unit test that
uses the fake is a test of what the connector does, as the ledger's own state-machine test
(test_ledger_properties.py) keeps the ledger's fake honest.

Both start from what ``migrate`` leaves: the bundled HS2022/1 table, copied into the fake.
The scenarios below read as stories; ``FakeAndSqlHsAdministrationAgree`` then runs random
sequences of the same steps (hypothesis), so that a difference no story thought of shows too.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    precondition,
    rule,
)
from sqlalchemy import Engine, select

from cites_connector.adapters.sql.audit_key import StaticAuditKey, with_audit_key
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.hs_schema import admin_audit
from cites_connector.adapters.sql.hs_store import SqlHsTableStore
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.domain.errors import ConnectorError
from cites_connector.domain.hs_admin_convert import parse_correlation
from cites_connector.domain.hs_admin_csv import parse_rows
from cites_connector.domain.hs_tables import HsRow
from cites_connector.hs_codes.nomenclature import load_cites_terms, load_nomenclature
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy
from cites_connector.services.hs_admin import HsAdminService
from cites_connector.services.ports import Ledger
from tests.memory_hs import AdminRecord
from tests.memory_ledger import MemoryLedger

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
ROLES = {"vera": "viewer", "ed": "editor", "ana": "approver", "bo": "approver"}
NEW_YEAR = date(2027, 1, 1)
FEBRUARY = date(2027, 2, 1)
CORRELATION = (
    Path(__file__).parents[1] / "fixtures" / "hs" / "correlation-HS2022-HS2027.MADE-FOR-TESTS.csv"
)
SALVATOR = HsRow("010620", "Salvator", frozenset({"LIV"}))


def admin_on(ledger: Ledger) -> HsAdminService:
    return HsAdminService(
        ledger,
        roles=ROLES,
        taxonomy=load_bundled_taxonomy(),
        terms=load_cites_terms(),
        nomenclature=load_nomenclature,
        clock=lambda: NOW,
    )


def sql_audit(engine: Engine, after: int) -> list[AdminRecord]:
    a = admin_audit.c
    with engine.connect() as c:
        found = c.execute(select(admin_audit).where(a.seq > after).order_by(a.seq)).mappings()
        return [
            AdminRecord(
                r["actor"],
                r["action"],
                r["subject"],
                r["reason"],
                json.loads(r["details"]),
                datetime.fromisoformat(r["at"]),
            )
            for r in found
        ]


class Pair:
    """The fake and the database, driven by the same steps."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sql = SqlHsTableStore(engine)
        self.fake = MemoryLedger()
        with self.sql.snapshot() as s:
            seeded = s.hs_tables.all()
        with self.fake.transaction() as f:
            for version in seeded:
                f.hs_tables.add(version, None)
        #: the records ``migrate`` wrote (the seeding, the keying): the fake has none
        self.audit_from = len(sql_audit(engine, 0))
        self.admins = {"fake": admin_on(self.fake), "sql": admin_on(self.sql)}

    def run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """The step on both; they must agree. Returns the answer, or the refusal."""
        answers = {n: _answer(getattr(a, method), args, kwargs) for n, a in self.admins.items()}
        assert answers["fake"] == answers["sql"], f"{method}{args}: the fake disagrees"
        assert self.state("fake") == self.state("sql"), f"{method}{args}: stores differ"
        return answers["sql"]

    def state(self, name: str) -> tuple[Any, ...]:
        ledger = self.fake if name == "fake" else self.sql
        with ledger.snapshot() as s:
            versions, drafts = s.hs_tables.all(), s.hs_drafts.all()
        audit = (
            self.fake.state.hs.admin_audit
            if name == "fake"
            else sql_audit(self.engine, self.audit_from)
        )
        return versions, drafts, audit

    def reads(self, *refs: str) -> None:
        """The reading side agrees too: the overview, each table's rows, lookups, diffs."""
        for ref in refs:
            self.run("rows", ref)
            self.run("validate", ref)
        self.run("overview")
        for day in (NOW.date(), NEW_YEAR, FEBRUARY):
            self.run("lookup", "0106.20.00", day)
        self.run("diff", refs[0], refs[-1])


def _answer(method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return ("answer", method(*args, **kwargs))
    except ConnectorError as refused:
        return ("refused", type(refused).__name__, refused.message)


@pytest.fixture
def pair(sql_ledger):
    return Pair(sql_ledger.engine)


def refused(answer: Any, kind: str, words: str) -> None:
    assert answer[:2] == ("refused", kind) and words in answer[2], answer


def test_a_draft_is_edited_reviewed_by_four_eyes_and_published_alike(pair):
    draft = pair.run("new_draft", "ed", "HS2022", reason="pythons get their own line")[1]
    assert draft.ref == "D1" and draft.based_on == "HS2022/1"
    pair.run("remove_rows", "ed", "D1", "010620", "Pythonidae", reason="moved")
    pair.run("add_row", "ed", "D1", SALVATOR, reason="tegus")
    refused(pair.run("remove_rows", "ed", "D1", "999999"), "HsAdminRefused", "has no row")
    refused(pair.run("approve", "ana", "D1", reason="early"), "HsAdminRefused", "")
    pair.run("propose", "ed", "D1", reason="ready")
    refused(pair.run("add_row", "ed", "D1", SALVATOR), "HsAdminRefused", "")
    refused(pair.run("approve", "ed", "D1", reason="mine"), "NotPermitted", "ed is editor")
    pair.run("approve", "ana", "D1", reason="checked")
    refused(pair.run("publish", "ana", "D1", date(2026, 11, 1)), "HsAdminRefused", "in the past")
    published = pair.run("publish", "bo", "D1", NEW_YEAR, reason="HS change")[1]
    assert published.version.label == "HS2022/2"
    assert published.ended == (("HS2022/1", date(2026, 12, 31)),)
    refused(pair.run("add_row", "ed", "HS2022/2", SALVATOR), "HsAdminRefused", "never changes")
    pair.reads("HS2022/1", "D1", "HS2022/2")
    audit = pair.state("sql")[2]
    assert [(r.actor, r.action, r.subject) for r in audit] == [
        ("ed", "hs.draft.created", "D1"),
        ("ed", "hs.draft.rows_removed", "D1"),
        ("ed", "hs.draft.row_added", "D1"),
        ("ed", "hs.draft.proposed", "D1"),
        ("ana", "hs.draft.approved", "D1"),
        ("bo", "hs.version.published", "HS2022/2"),
    ]
    assert audit[-1].details["effective_from"] == "2027-01-01"


def test_the_one_who_proposed_or_edited_cannot_approve_on_either(pair):
    pair.run("new_draft", "ana", "HS2022", reason="mine")
    pair.run("add_row", "ana", "D1", SALVATOR, reason="tegus")
    pair.run("propose", "ana", "D1", reason="ready")
    refused(pair.run("approve", "ana", "D1", reason="self"), "NotPermitted", "ana proposed")
    refused(pair.run("new_draft", "vera", "HS2022"), "NotPermitted", "vera is viewer")
    rejected = pair.run("reject", "bo", "D1", reason="missing a note")[1]
    assert (rejected.status.value, rejected.rejected_by) == ("DRAFT", "bo")
    pair.run("add_row", "ed", "D1", HsRow("010620", "Salvator", note="tegus"), reason="note")
    pair.run("propose", "ed", "D1", reason="again")
    refused(pair.run("approve", "ana", "D1", reason="edited it"), "NotPermitted", "")
    assert pair.run("approve", "bo", "D1", reason="checked")[1].approved_by == "bo"
    refused(pair.run("propose", "ed", "D7"), "UnknownHsTable", "no draft D7")
    pair.reads("HS2022/1", "D1")


def test_overlaps_supersede_and_rollback_place_versions_alike(pair):
    for number, taxon in ((1, "Pythonidae"), (2, "Boidae")):
        pair.run("new_draft", "ed", "HS2022", reason=f"draft {number}")
        pair.run("remove_rows", "ed", f"D{number}", "010620", taxon, reason="out")
        pair.run("propose", "ed", f"D{number}", reason="ready")
        pair.run("approve", "ana", f"D{number}", reason="checked")
    pair.run("publish", "ana", "D1", NEW_YEAR, reason="HS change")
    refused(pair.run("publish", "ana", "D2", NEW_YEAR), "HsAdminRefused", "would overlap HS2022/2")
    replaced = pair.run("publish", "ana", "D2", NEW_YEAR, reason="fix", supersede=["HS2022/2"])
    assert replaced[1].withdrawn == ("HS2022/2",)
    rolled = pair.run("rollback", "bo", "HS2022/1", FEBRUARY, reason="undo")[1]
    assert rolled.version.label == "HS2022/4"
    assert rolled.ended == (("HS2022/3", date(2027, 1, 31)),)
    refused(pair.run("rollback", "ed", "HS2022/1", FEBRUARY), "NotPermitted", "ed is editor")
    pair.reads("HS2022/1", "HS2022/3", "HS2022/4")


def test_imports_and_an_edition_conversion_make_the_same_drafts(pair):
    pair.run("new_draft", "ed", "HS2022", empty=True, reason="from a file")
    bad = parse_rows("hs_prefix,taxon,terms,note\n010620,Pythonidae,LIV,\n010620,Pythonus,LIV,\n")
    refused(
        pair.run("import_rows", "ed", "D1", bad.rows, bad.lines, "bad.csv"),
        "HsRowsInvalid",
        "line 3",
    )
    good = parse_rows("hs_prefix,taxon,terms,note\n010620,Pythonidae,LIV,\n0301,Acipenseridae,,\n")
    pair.run("import_rows", "ed", "D1", good.rows, good.lines, "good.csv", reason="load")
    correlation = parse_correlation(
        CORRELATION.read_text(encoding="utf-8-sig"), "HS2022", "HS2027", CORRELATION.name
    )
    converted = pair.run("convert", "ed", correlation, source=CORRELATION.name, reason="HS 2027")
    assert converted[1][0].ref == "D2" and converted[1][0].edition == "HS2027"
    pair.reads("D1", "D2")


def test_a_second_version_with_the_same_label_is_refused_alike_and_changes_nothing(pair):
    """Only two publishers racing reach it (the service numbers versions under the timeline
    lock): the unique (edition, number) refuses the later one, as the fake does."""
    answers = []
    for ledger in (pair.fake, pair.sql):
        with ledger.snapshot() as s:
            seeded = s.hs_tables.all()[0]
        try:
            with ledger.transaction() as u:
                u.hs_tables.end(seeded.label, NEW_YEAR)
                u.hs_tables.add(seeded, None)
        except ConnectorError as refused:
            answers.append((type(refused).__name__, refused.message))
    assert answers == [("HsAdminRefused", "HS2022/1 was published meanwhile; try again")] * 2
    assert pair.state("fake") == pair.state("sql")
    assert pair.state("sql")[0][0].effective_to is None  # the end was rolled back with it


# -- random sequences -----------------------------------------------------------------------------

KEY = StaticAuditKey(bytes.fromhex("5a" * 32))
_template: Path | None = None


def fresh_sqlite(directory: Path) -> Engine:
    """A copy of one migrated, keyed database file: migrating per example is too slow."""
    global _template
    if _template is None:
        _template = Path(tempfile.mkdtemp()) / "template.sqlite3"
        engine = with_audit_key(make_engine(f"sqlite:///{_template}"), KEY)
        upgrade(engine)
        engine.dispose()
    target = directory / "ledger.sqlite3"
    shutil.copy(_template, target)
    return with_audit_key(make_engine(f"sqlite:///{target}"), KEY)


rows = st.sampled_from(
    [
        SALVATOR,
        HsRow("010620", "Salvator", note="tegus"),
        HsRow("030199", "Arapaima gigas", frozenset({"LIV"})),
        HsRow("9202", "-"),  # an exclusion without a parent row: refused
    ]
)
removals = st.sampled_from([("010620", "Pythonidae"), ("010620", None), ("999999", None)])
#: hypothesis leans towards the first: a publication that can succeed (the past is refused)
days = st.sampled_from([NEW_YEAR, FEBRUARY, NOW.date(), date(2026, 11, 1)])
supersedes = st.sampled_from([(), (), ("HS2022/2",), ("HS2022/3",)])


def mostly(*users: str) -> st.SearchStrategy[str]:
    """Users who may take the step, then one who may not, drawn 2:1: sequences get far
    enough to publish, and still meet the refusals."""
    return st.sampled_from([*users[:-1], *users[:-1], users[-1]])


class FakeAndSqlHsAdministrationAgree(RuleBasedStateMachine):
    """Any sequence of administration steps: the same answers, versions, drafts and audit
    records on the fake and on SQLite (``Pair.run`` compares after every step)."""

    drafts = Bundle("drafts")

    @initialize()
    def start(self) -> None:
        self.directory = Path(tempfile.mkdtemp())
        self.pair = Pair(fresh_sqlite(self.directory))
        self.published = 0

    @rule(target=drafts, user=mostly("ed", "ana", "vera"), empty=st.sampled_from([0, 0, 1]))
    def new_draft(self, user: str, empty: int) -> str:
        answer = self.pair.run("new_draft", user, "HS2022", empty=bool(empty), reason="new")
        return answer[1].ref if answer[0] == "answer" else "D9"  # D9: no such draft

    @rule(user=mostly("ed", "ana", "vera"), ref=drafts, row=rows)
    def add_row(self, user: str, ref: str, row: HsRow) -> None:
        self.pair.run("add_row", user, ref, row, reason="add")

    @rule(user=mostly("ed", "bo"), ref=drafts, removal=removals)
    def remove_rows(self, user: str, ref: str, removal: tuple[str, str | None]) -> None:
        self.pair.run("remove_rows", user, ref, *removal, reason="remove")

    @rule(user=mostly("ed", "ana", "vera"), ref=drafts)
    def propose(self, user: str, ref: str) -> None:
        self.pair.run("propose", user, ref, reason="ready")

    @rule(user=mostly("bo", "ana", "ed"), ref=drafts)
    def approve(self, user: str, ref: str) -> None:
        self.pair.run("approve", user, ref, reason="checked")

    @rule(user=mostly("bo", "ana"), ref=drafts)
    def reject(self, user: str, ref: str) -> None:
        self.pair.run("reject", user, ref, reason="not yet")

    @rule(user=mostly("ana", "bo", "ed"), ref=drafts, day=days, supersede=supersedes)
    def publish(self, user: str, ref: str, day: date, supersede: tuple[str, ...]) -> None:
        self.pair.run("publish", user, ref, day, reason="publish", supersede=supersede)

    @rule(ref=consumes(drafts), approver=mostly("bo", "ana"), day=days)
    def review_and_publish(self, ref: str, approver: str, day: date) -> None:
        """The whole review of a draft not reviewed yet, so that random sequences often
        reach a publication (``publish`` above tries the supersedes)."""
        self.pair.run("propose", "ed", ref, reason="ready")
        self.pair.run("approve", approver, ref, reason="checked")
        published = self.pair.run("publish", approver, ref, day, reason="go")
        self.published += published[0] == "answer"

    @precondition(lambda self: self.published)
    @rule(user=mostly("bo", "ed"), day=days)
    def rollback(self, user: str, day: date) -> None:
        self.pair.run("rollback", user, "HS2022/1", day, reason="rollback")

    def teardown(self) -> None:
        if hasattr(self, "pair"):
            self.pair.engine.dispose()
            shutil.rmtree(self.directory, ignore_errors=True)


FakeAndSqlHsAdministrationAgree.TestCase.settings = settings(
    max_examples=15, stateful_step_count=20, deadline=None
)
TestFakeAndSqlHsAdministrationAgree = FakeAndSqlHsAdministrationAgree.TestCase
