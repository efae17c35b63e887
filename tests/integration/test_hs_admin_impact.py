"""Impact preview: recorded declarations decided again with a draft, writing nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.engine import make_url

from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.hs_store import SqlHsTableStore
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.hs_tables import HsRow
from cites_connector.hs_codes.nomenclature import load_cites_terms, load_nomenclature
from cites_connector.hs_codes.taxonomy_data import load_bundled_listings, load_bundled_taxonomy
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.hs_admin import HsAdminService
from tests.integration import kit

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
POLICY = DecisionPolicy(home_country="NA")


def rulebook_on(engine) -> Rulebook:
    """What the deciding service decides with (app.rulebook): the tables in the database."""
    return Rulebook(
        tables=SqlHsTableStore(engine).tables,
        taxonomy=load_bundled_taxonomy(),
        policy=POLICY,
        listings=load_bundled_listings(),
    )


def admin_on(engine) -> HsAdminService:
    return HsAdminService(
        SqlHsTableStore(engine),
        roles={"ed": "editor"},
        taxonomy=load_bundled_taxonomy(),
        terms=load_cites_terms(),
        nomenclature=load_nomenclature,
        clock=lambda: NOW,
    )


def leather_item(number: int):
    from decimal import Decimal

    from cites_connector.domain.declarations import DeclarationItem

    return DeclarationItem(
        number=number, hs_code=kit.LEATHER_HS, description="croc leather", net_mass=Decimal(3)
    )


def record_declarations(ledger) -> None:
    clearance, permits = kit.services(ledger)
    clearance.rulebook = rulebook_on(ledger.engine)
    permits.apply(kit.permit("P-1"))
    decided = {
        "E-0": clearance.clear("E-0", 1, kit.export(kit.plastic_item(1), on=date(2026, 11, 10))),
        "E-1": clearance.clear(
            "E-1", 1, kit.export(kit.python_item(1, 2, "P-1"), kit.plastic_item(2))
        ),
        "E-2": clearance.clear("E-2", 1, kit.export(kit.plastic_item(1))),
        "E-3": clearance.clear("E-3", 1, kit.export(leather_item(1))),
    }
    assert {k: v.decision.decision.value for k, v in decided.items()} == {
        "E-0": "NOT_CONCERNED",
        "E-1": "CLEARED",
        "E-2": "NOT_CONCERNED",
        "E-3": "HELD",
    }


def ledger_fingerprint(engine) -> str:
    """SQLite: the database file's bytes; PostgreSQL: every row of every table."""
    if engine.dialect.name == "sqlite":
        return hashlib.sha256(Path(make_url(engine.url).database).read_bytes()).hexdigest()
    meta = MetaData()
    meta.reflect(engine)
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in sorted(meta.tables.values(), key=lambda t: t.name):
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr((table.name, tuple(row))).encode())
    return digest.hexdigest()


@pytest.fixture
def recorded(sql_ledger):
    record_declarations(sql_ledger)
    admin = admin_on(sql_ledger.engine)
    draft = admin.new_draft("ed", "HS2022", reason="what if")
    admin.remove_rows("ed", draft.ref, "010620", "Pythonidae", reason="what if")
    admin.add_row("ed", draft.ref, HsRow("392690", "Crocodylia"), reason="what if")
    url = sql_ledger.engine.url.render_as_string(hide_password=False)
    sql_ledger.engine.dispose()  # SQLite: the WAL is folded into the file before hashing
    return url, draft.ref


def test_impact_reports_exactly_the_changed_items_and_writes_nothing(recorded):
    url, draft = recorded
    engine = make_engine(url)
    before = ledger_fingerprint(engine)

    report = admin_on(engine).impact(
        draft, date(2026, 11, 20), SqlAlchemyLedger(engine), rulebook_on(engine)
    )
    engine.dispose()

    assert ledger_fingerprint(engine) == before
    assert report.declarations_examined == 3 and report.items_examined == 4
    assert sorted(
        (i.declaration_id, i.item_number, i.change, i.status_before, i.status_after)
        for i in report.items
    ) == [
        ("E-1", 1, "TAXA_CHANGED", "MATCHED", "HELD"),
        ("E-1", 2, "BECOMES_CITES", "NOT_CONCERNED", "HELD"),
        ("E-2", 1, "BECOMES_CITES", "NOT_CONCERNED", "HELD"),
    ]
    python = next(i for i in report.items if i.change == "TAXA_CHANGED")
    assert "Pythonidae" in python.taxa_before and "Pythonidae" not in python.taxa_after
    assert python.table_before == "HS2022/1"
    assert sorted(
        (d.declaration_id, d.decision_before, d.decision_after) for d in report.declarations
    ) == [("E-1", "CLEARED", "HELD"), ("E-2", "NOT_CONCERNED", "HELD")]
    assert {c: dict(n) for c, n in report.chapters().items()} == {
        "01": {"TAXA_CHANGED": 1},
        "39": {"BECOMES_CITES": 2},
    }


def test_impact_of_the_unchanged_table_is_nothing(recorded):
    url, _ = recorded
    engine = make_engine(url)
    report = admin_on(engine).impact(
        "HS2022/1", None, SqlAlchemyLedger(engine), rulebook_on(engine)
    )
    engine.dispose()
    assert report.declarations_examined == 4
    assert report.items == [] and report.declarations == [] and report.skipped == []
