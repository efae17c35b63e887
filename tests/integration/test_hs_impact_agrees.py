"""The impact preview decides as the border decides (contract 5.1 (v2), 6): recorded
declarations are decided again with the appendix by population, the trade suspensions and
the export quotas in force, so what ``hs impact`` says a draft would do is what the clearance
service then does once the draft is published.

Three declarations decided for real on a SQL ledger (SQLite and PostgreSQL): Kenyan elephant
tusks (Appendix I population, held for the import permit), pythons of a suspended export
(held), and crocodile skins that used the year's quota up (cleared). A draft names each item's
taxon differently (TAXA_CHANGED) without changing what is decided; the preview's "before" must
be the recorded decision and its "after" the decision made once the draft is in force.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from cites_connector.adapters.sql.hs_store import SqlHsTableStore
from cites_connector.app import build_services
from cites_connector.domain.declarations import (
    AttachedDocument,
    Declaration,
    DeclarationItem,
    Flow,
)
from cites_connector.domain.hs_tables import HsRow
from cites_connector.domain.permits import ConsignmentPolicy, Party, PermitLine
from cites_connector.domain.trade_controls import ExportQuota, Suspension, TradeFlow
from cites_connector.hs_codes.nomenclature import load_cites_terms, load_nomenclature
from cites_connector.hs_codes.taxonomy_data import load_bundled_listings, load_bundled_taxonomy
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.hs_admin import HsAdminService
from cites_connector.services.trade_admin import TradeControlAdmin
from tests.integration import kit
from tests.integration.test_hs_admin_impact import POLICY, ledger_fingerprint

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
ROLES = {"ed": "editor", "ana": "approver"}
CURIO = Party("Swakop Curios CC", "NA", "NA-IMP-0088")
KENYAN = Party("Mombasa Curio Traders Ltd", "KE", None)
#: (prefix, taxon recorded, taxon of the draft, terms)
RENAMED = [
    ("050710", "Loxodonta africana", "Loxodonta", {"TUS", "IVP", "TEE"}),
    ("010620", "Pythonidae", "Python", {"LIV"}),
    ("410640", "Crocodylia", "Crocodylidae", {"SKI", "LEA"}),
]


def line(taxon: str, quantity: int, **fields: str) -> PermitLine:
    return PermitLine(
        line="A",
        taxon=taxon,
        quantity=Decimal(quantity),
        appendix="II",
        source=fields.pop("source", "W"),
        **fields,
    )


def kenyan_tusks() -> Declaration:
    item = DeclarationItem(
        number=1,
        hs_code="0507100000",
        description="elephant tusks, hunting trophy",
        origin_country="KE",
        net_mass=Decimal("30.5"),
        supplementary_quantity=Decimal(2),
        supplementary_unit_code="NMB",
        documents=(AttachedDocument("C401", "KE-2026-00451"),),
    )
    return Declaration(
        declaration_type="IM",
        flow=Flow.IMPORT,
        date=kit.TODAY,
        items=(item,),
        office="WDHA",
        exporter=KENYAN,
        consignee=CURIO,
        declarant_code="BRK-0917",
        export_country="KE",
        destination_country="NA",
    )


def skins(number: int) -> DeclarationItem:
    return DeclarationItem(
        number=number,
        hs_code=kit.LEATHER_HS,
        description="tanned crocodile skins",
        origin_country="NA",
        net_mass=Decimal(12),
        documents=(AttachedDocument("C400", "P-SKI"),),
    )


def record(ledger, rulebook: Rulebook) -> dict[str, str]:
    """Decide the three declarations for real; returns each one's outcome."""
    built = build_services(ledger, rulebook, clock=kit.Clock(), new_id=lambda: str(uuid.uuid4()))
    built.permits.apply(kit.permit("P-PY"))
    built.permits.apply(
        kit.permit(
            "P-SKI",
            line("Crocodylus niloticus", 50, source="R", term="SKI", unit="KIL"),
            policy=ConsignmentPolicy.MULTIPLE,
        )
    )
    kenyan = kit.permit("KE-2026-00451", line("Loxodonta africana", 2, term="TUS"), issuer="KE")
    built.permits.apply(replace(kenyan, exporter=KENYAN, importer=CURIO, purpose="H"))
    trade = TradeControlAdmin(
        ledger, roles=ROLES, taxonomy=rulebook.taxonomy, home_country="NA", clock=lambda: NOW
    )
    trade.add_suspension(
        "ed",
        Suspension("NA", "Pythonidae", TradeFlow.EXPORT, date(2026, 11, 1), "Notif. 2026/131"),
        "Standing Committee",
    )
    trade.set_quota(
        "ed", ExportQuota("NA", "Crocodylus niloticus", 2026, Decimal(12), "KIL"), "2026 quota"
    )
    clear = built.clearance.clear
    decided = {
        "LOX-KE": clear("LOX-KE", 1, kenyan_tusks()),
        "PY-SUS": clear("PY-SUS", 1, kit.export(kit.python_item(1, 40, "P-PY"))),
        "CROC-Q": clear("CROC-Q", 1, kit.export(skins(1))),
    }
    return {k: d.decision.items[0].status.value for k, d in decided.items()} | {
        f"{k}:reasons": " ".join(r.code.value for r in d.decision.items[0].reasons)
        for k, d in decided.items()
    }


@pytest.fixture
def world(sql_ledger):
    store = SqlHsTableStore(sql_ledger.engine)
    admin = HsAdminService(
        store,
        roles=ROLES,
        taxonomy=load_bundled_taxonomy(),
        terms=load_cites_terms(),
        nomenclature=load_nomenclature,
        clock=lambda: NOW,
    )
    rulebook = Rulebook(
        tables=store.tables,
        taxonomy=load_bundled_taxonomy(),
        policy=POLICY,
        listings=load_bundled_listings(),
    )
    return sql_ledger, admin, rulebook


def test_the_preview_of_a_draft_agrees_with_the_decisions_at_the_border(world):
    ledger, admin, rulebook = world
    recorded = record(ledger, rulebook)
    assert recorded == {
        "LOX-KE": "HELD",
        "LOX-KE:reasons": "IMPORT_PERMIT_REQUIRED",
        "PY-SUS": "HELD",
        "PY-SUS:reasons": "TRADE_SUSPENDED",
        "CROC-Q": "MATCHED",
        "CROC-Q:reasons": "",
    }
    draft = admin.new_draft("ed", "HS2022", reason="name the taxa as the listings do")
    for prefix, old, new, terms in RENAMED:
        admin.remove_rows("ed", draft.ref, prefix, old, reason="renamed")
        admin.add_row("ed", draft.ref, HsRow(prefix, new, frozenset(terms)), reason="renamed")
    before = ledger_fingerprint(ledger.engine)

    heard: list[tuple[int, int | None]] = []
    report = admin.impact(
        draft.ref, None, ledger, rulebook, lambda done, total: heard.append((done, total))
    )

    assert heard == [(0, 3), (1, 3), (2, 3), (3, 3)]  # the command line's progress bar
    assert ledger_fingerprint(ledger.engine) == before  # no quota charged, nothing written
    assert report.skipped == [] and report.declarations == []
    preview = {i.declaration_id: (i.change, i.status_before, i.status_after) for i in report.items}
    assert preview == {
        "LOX-KE": ("TAXA_CHANGED", "HELD", "HELD"),
        "PY-SUS": ("TAXA_CHANGED", "HELD", "HELD"),
        "CROC-Q": ("TAXA_CHANGED", "MATCHED", "MATCHED"),
    }

    # the draft in force: the border decides what the preview said it would
    admin.propose("ed", draft.ref, reason="ready")
    admin.approve("ana", draft.ref, reason="checked")
    admin.publish("ana", draft.ref, kit.TODAY, reason="renamed taxa")
    built = build_services(ledger, rulebook, clock=kit.Clock(), new_id=lambda: str(uuid.uuid4()))
    again = {
        "LOX-KE": built.clearance.clear("LOX-KE", 2, kenyan_tusks()),
        "PY-SUS": built.clearance.clear("PY-SUS", 2, kit.export(kit.python_item(1, 40, "P-PY"))),
        "CROC-Q": built.clearance.clear("CROC-Q", 2, kit.export(skins(1))),
    }
    for did, outcome in again.items():
        [item] = outcome.decision.items
        assert item.status.value == preview[did][2], did
        assert outcome.decision.hs_table == "HS2022/2"
